"""Grade one submission: locate its files, run the assignment's tests, score, apply
the late penalty, and produce the results.json document."""

from __future__ import annotations

import contextlib
import io
import json
import os
import sys
from pathlib import Path
from typing import Any

import pytest

from autograder import config, late_policy, results, written
from autograder.locate import locate
from autograder.plugin import GradingSession


class GradingError(Exception):
    """The toolkit could not grade (a broken test suite or bad metadata), as opposed to a
    submission that merely fails tests."""


def grade(assignment: config.Assignment, submission: Path, metadata: dict | None = None,
          pool: str | None = None) -> dict[str, Any]:
    """Grade ``submission`` (a folder) and return the results.json document."""
    lateness = None
    if metadata is not None:
        lateness = late_policy.assess(assignment.due, assignment.late_policy, metadata)
    if assignment.kind == "written":
        rows, summary = written.grade(assignment, submission)
    else:
        rows, summary = run_tests(assignment, submission, pool)
    return results.build(rows, lateness, summary, {"assignment": assignment.name})


def run_tests(assignment: config.Assignment, submission: Path,
              pool: str | None = None) -> tuple[list[results.Row], str]:
    """Run every test group of the assignment against the submission."""
    found = locate(submission, assignment.files)
    session = GradingSession(assignment, found.files, found.missing, reference=True, pool=pool)
    if session.sandbox.jail.warning:
        print(session.sandbox.jail.warning, file=sys.stderr)
    code, tail = run_pytest(assignment, session)
    if session.sandbox.failure is not None:  # the grader's fault: no test counts
        raise GradingError(str(session.sandbox.failure))
    if code not in (pytest.ExitCode.OK, pytest.ExitCode.TESTS_FAILED) or not session.outcomes:
        raise GradingError(f"the tests of {assignment.name} did not run (pytest exit {int(code)})"
                           f": {tail}")
    order = {target: i for i, target in enumerate(assignment.points)}
    rows = [results.Row(
        name=f"{o.target}: {o.title}",
        score=o.max_score if o.passed else 0.0,
        max_score=o.max_score,
        tags=[o.target],
        visibility=assignment.visibility.get(o.group, "visible"),
        output=o.message + (f"\n\nYour code printed:\n{o.output}" if o.output else ""),
    ) for o in sorted(session.outcomes.values(), key=lambda o: order[o.target])]
    notes = found.notes + list(found.missing.values())
    if notes:
        rows.insert(0, results.Row("Submitted files", 0.0, 0.0, ["files"],
                                   output="\n".join(notes), status="passed"))
    return rows, summary_text(rows)


def graded_folders(assignment: config.Assignment) -> list[Path]:
    """The folders of tests a grading runs: one per group with a visibility."""
    return [assignment.tests_dir / g for g in sorted(assignment.visibility)
            if (assignment.tests_dir / g).is_dir()]


def run_pytest(assignment: config.Assignment, plugin: object,
               *options: str) -> tuple[pytest.ExitCode, str]:
    """Run pytest on the assignment's tests with ``plugin``: the exit code and the last lines
    of its output. The session loads only our plugin and the tests: no plugin autoload, no
    configuration file, and no conftest.py above the tests folder."""
    folders = graded_folders(assignment)
    if not folders:  # (pytest would collect the current folder instead)
        return pytest.ExitCode.NO_TESTS_COLLECTED, "no folder of tests for the groups in visibility"
    args = [*map(str, folders), "-q", "-p", "autograder.plugin",
            "-p", "no:cacheprovider", "--import-mode=importlib",
            "--rootdir", str(assignment.tests_dir), "--confcutdir", str(assignment.tests_dir),
            "-c", os.devnull, "--tb=no", "-W", "ignore::pytest.PytestAssertRewriteWarning",
            *options]
    log = io.StringIO()
    with contextlib.redirect_stdout(log), contextlib.redirect_stderr(log), \
            pytest.MonkeyPatch.context() as patch:
        patch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")
        code = pytest.main(args, plugins=[plugin])
    tail = " | ".join(line for line in log.getvalue().splitlines()[-3:] if line.strip())
    return pytest.ExitCode(code), tail


def summary_text(rows: list[results.Row]) -> str:
    """The top-level message: how many tests passed, and where points were lost."""
    graded = [r for r in rows if r.max_score > 0]
    passed = sum(r.score >= r.max_score for r in graded)
    lost: dict[str, float] = {}
    for r in graded:
        if r.score < r.max_score:
            lost[r.tags[0]] = lost.get(r.tags[0], 0.0) + r.max_score - r.score
    text = f"{passed} of {len(graded)} tests passed."
    if lost:
        text += " Points lost in: " + ", ".join(f"{t} (-{p:.2f})" for t, p in lost.items()) + "."
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
