"""Grade one submission: locate its files, run the assignment's tests, score, apply
the late penalty, and produce the results.json document."""

from __future__ import annotations

import contextlib
import io
import json
import math
import os
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import pytest

from autograder import config, late_policy, results, scoring, written
from autograder.locate import locate
from autograder.plugin import GradingSession, TestOutcome


class GradingError(Exception):
    """The toolkit could not grade (a broken test suite or bad metadata), as opposed to a
    submission that merely fails tests."""


def grade(assignment: config.Assignment, submission: Path, metadata: dict | None = None,
          pool: str | None = None) -> dict[str, Any]:
    """Grade ``submission`` (a folder) and return the results.json document."""
    started = time.monotonic()
    lateness = None
    if metadata is not None:
        lateness = late_policy.assess(assignment.due, assignment.late_policy, metadata)
    if assignment.kind == "written":
        rows, summary = written.grade(assignment, submission)
    else:
        rows, summary = run_tests(assignment, submission, pool)
    document = results.build(rows, lateness, summary, {"assignment": assignment.name},
                             assignment.manual_points)
    return document | {"execution_time": round(time.monotonic() - started)}


def run_tests(assignment: config.Assignment, submission: Path,
              pool: str | None = None) -> tuple[list[results.Row], str]:
    """Run every test group of the assignment against the submission. The pytest
    session loads only our plugin and the assignment's tests: no plugin autoload, no
    configuration file, and no conftest.py above the tests folder."""
    found = locate(submission, assignment.files)
    session = GradingSession(assignment, found.files, found.missing, reference=True, pool=pool)
    if session.sandbox.jail.warning:
        print(session.sandbox.jail.warning, file=sys.stderr)
    paths = [str(assignment.tests_dir / g) for g in sorted(assignment.visibility)
             if (assignment.tests_dir / g).is_dir()]
    args = [*paths, "-q", "-p", "autograder.plugin", "-p", "no:cacheprovider",
            "--import-mode=importlib", "--rootdir", str(assignment.tests_dir),
            "--confcutdir", str(assignment.tests_dir), "-c", os.devnull, "--tb=no",
            "-W", "ignore::pytest.PytestAssertRewriteWarning"]
    log = io.StringIO()
    with contextlib.redirect_stdout(log), pytest.MonkeyPatch.context() as patch:
        patch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")
        code = pytest.main(args, plugins=[session])
    if code not in (pytest.ExitCode.OK, pytest.ExitCode.TESTS_FAILED) or not session.outcomes:
        tail = " | ".join(line for line in log.getvalue().splitlines()[-3:] if line.strip())
        raise GradingError(f"the tests of {assignment.name} did not run (pytest exit {int(code)})"
                           f": {tail}")
    rows = name_rows(assignment, list(session.outcomes.values()))
    notes = found.notes + list(found.missing.values())
    if notes:
        rows.insert(0, results.Row("Submitted files", 0.0, 0.0, ["files"],
                                   output="\n".join(notes), status="passed"))
    return rows, summary_text(rows)


def name_rows(assignment: config.Assignment, outcomes: list[TestOutcome]) -> list[results.Row]:
    """One row per contract name and test group (public, hidden), numbered in the
    assignment's order; its points are the name's share for that group, exactly."""
    rows = []
    for number, target in enumerate(assignment.points, start=1):
        groups: dict[str, list[TestOutcome]] = {}
        for outcome in outcomes:
            if outcome.target == target:
                groups.setdefault(outcome.group, []).append(outcome)
        names = sorted(groups, key=lambda g: (assignment.visibility.get(g) != "visible", g))
        shares = scoring.split(assignment.points[target],
                               [sum(o.weight for o in groups[g]) for g in names])
        for sub, (group, share) in enumerate(zip(names, shares), start=1):
            tests = groups[group]
            score = scoring.earned(share, [o.weight for o in tests if o.passed],
                                   [o.weight for o in tests])
            rows.append(results.Row(
                name=f"{target} ({group} tests)", score=float(score), max_score=float(share),
                tags=[target], visibility=assignment.visibility.get(group, "visible"),
                output=test_report(tests), number=f"{number}.{sub}"))
    return rows


def test_report(tests: list[TestOutcome]) -> str:
    """A row's output: each failed test with its message, then what passed."""
    failed = [t for t in tests if not t.passed]
    lines = []
    for test in failed:
        message = test.message + (f"\n\nYour code printed:\n{test.output}" if test.output else "")
        lines += [f"✗ {test.title}", textwrap.indent(message.strip(), "    ") if message else ""]
    passed = [t.title for t in tests if t.passed]
    if passed:
        lines.append(f"✓ {len(passed)} of {len(tests)} tests passed: " + "; ".join(passed))
    return "\n".join(line for line in lines if line)


def summary_text(rows: list[results.Row]) -> str:
    """The top-level message. It speaks only of rows that are always visible, so that
    hidden tests stay hidden until the instructor publishes the grades."""
    visible = [r for r in rows if r.max_score > 0 and r.visibility == "visible"]
    earned = math.fsum(r.score for r in visible)
    text = (f"Public tests: {earned:g} of {math.fsum(r.max_score for r in visible):g} points.")
    lost = [r for r in visible if r.score < r.max_score]
    if lost:
        text += " Points lost in: " + ", ".join(
            f"{r.tags[0]} (-{r.max_score - r.score:g})" for r in lost) + "."
    if any(r.visibility != "visible" for r in rows):
        text += " Hidden tests count too; their results appear when grades are published."
    return text


def read_metadata(path: Path | None) -> dict | None:
    """Read submission_metadata.json, or fail with a one-line reason."""
    if path is None:
        return None
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise late_policy.MetadataError(f"{path}: cannot read metadata: {exc}") from None
    if not isinstance(data, dict):
        raise late_policy.MetadataError(f"{path}: metadata must be a JSON object")
    return data
