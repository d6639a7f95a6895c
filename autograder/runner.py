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

from autograder import config, curves, late_policy, results, scoring, written
from autograder.locate import Located, locate
from autograder.plugin import GradingSession, TestOutcome, outcome_of


class GradingError(Exception):
    """The toolkit could not grade (a broken test suite or bad metadata), as opposed to a
    submission that merely fails tests."""


def grade(assignment: config.Assignment, submission: Path, metadata: dict | None = None,
          pool: str | None = None) -> dict[str, Any]:
    """Grade ``submission`` (a folder) and return the results.json document."""
    return grade_in_session(assignment, submission, metadata, pool)[0]


def grade_in_session(assignment: config.Assignment, submission: Path,
                     metadata: dict | None = None, pool: str | None = None,
                     digest: bool = False) -> tuple[dict[str, Any], GradingSession | None]:
    """:func:`grade`, and the session that ran the tests (None for a written assignment);
    with ``digest``, the session also hashed each name's answers (the audit's trace)."""
    started = time.monotonic()
    lateness = None
    if metadata is not None:
        lateness = late_policy.assess(assignment.due, assignment.late_policy, metadata)
    session = None
    if assignment.kind == "written":
        rows, summary = written.grade(assignment, submission)
    else:
        found = locate(submission, assignment.files, assignment.contract)
        session = run_session(GradingSession(assignment, found, reference=True, pool=pool,
                                             digest=digest))
        rows = session_rows(assignment, found, session)
        summary = summary_text(rows, sorted(found.missing))
    document = results.build(rows, lateness, summary, {"assignment": assignment.name},
                             assignment.manual_points)
    return document | {"execution_time": round(time.monotonic() - started)}, session


def session_rows(assignment: config.Assignment, found: Located,
                 session: GradingSession) -> list[results.Row]:
    """The rows of a session that ran every test group: one per name and group, after a
    row on the submitted files, if there is anything to say: failed when a file is
    missing (what is missing first, then what was received)."""
    rows = name_rows(assignment, list(session.outcomes.values()))
    notes = list(found.missing.values()) + found.notes
    if notes:
        rows.insert(0, results.Row("Submitted files", 0.0, 0.0, ["files"],
                                   output="\n".join(notes),
                                   status="failed" if found.missing else "passed"))
    return rows


def run_session(session: GradingSession) -> GradingSession:
    """Run the tests of ``session``'s assignment in it; :class:`GradingError` when they
    could not run (the sandbox or the test suite failed, not the submission)."""
    if session.sandbox.jail.warning:
        print(session.sandbox.jail.warning, file=sys.stderr)
    code, log = run_pytest(session.assignment, session)
    if session.sandbox.failure is not None:  # the grader's fault: no test counts
        raise GradingError(str(session.sandbox.failure))
    if code not in (pytest.ExitCode.OK, pytest.ExitCode.TESTS_FAILED) or not session.outcomes:
        raise GradingError(f"the tests of {session.assignment.name} did not run "
                           f"(pytest exit {int(code)}): {log}")
    return session


def graded_folders(assignment: config.Assignment, groups: list[str] | None = None) -> list[Path]:
    """The folders of tests a grading runs: one per group with a visibility (or of ``groups``)."""
    return [assignment.tests_dir / g for g in sorted(groups or assignment.visibility)
            if (assignment.tests_dir / g).is_dir()]


def run_pytest(assignment: config.Assignment, plugin: object, *options: str,
               groups: list[str] | None = None) -> tuple[pytest.ExitCode, str]:
    """Run pytest on the assignment's tests (of ``groups``, else all) with ``plugin``: the
    exit code and the last lines of its output. The session loads only our plugin and the
    tests: no plugin autoload, no configuration file, and no conftest.py above the tests
    folder."""
    folders = graded_folders(assignment, groups)
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


class _Weights:
    """Collects the tests' weight per group and contract name, running none."""

    def __init__(self, assignment: config.Assignment) -> None:
        self.assignment = assignment
        self.weights: dict[str, dict[str, float]] = {}

    def pytest_collection_modifyitems(self, items: list[pytest.Item]) -> None:
        for item in items:
            outcome = outcome_of(item, self.assignment)
            group = self.weights.setdefault(outcome.group, {})
            group[outcome.target] = group.get(outcome.target, 0.0) + outcome.weight


def group_weights(assignment: config.Assignment, groups: list[str]) -> dict[str, dict[str, float]]:
    """Each group's total test weight per contract name, from a collection of its tests:
    what a student's copy, which has only the public tests, needs to share a name's points
    between public and hidden tests as Gradescope does."""
    collector = _Weights(assignment)
    if not any((assignment.tests_dir / g).is_dir() for g in groups):
        return {}
    code, log = run_pytest(assignment, collector, "--collect-only", groups=groups)
    if code not in (pytest.ExitCode.OK, pytest.ExitCode.NO_TESTS_COLLECTED):
        raise GradingError(f"the tests of {assignment.name} could not be collected "
                           f"(pytest exit {int(code)}): {log}")
    return collector.weights


def name_rows(assignment: config.Assignment, outcomes: list[TestOutcome]) -> list[results.Row]:
    """One row per contract name and test group (public, hidden), numbered in the
    assignment's order; its points are the name's share for that group, exactly. The
    curves its tests recorded and the classic mistakes its failed tests named (their
    sentences, for the class report) are in its ``extra_data``."""
    rows = []
    numbers = {target: i for i, target in enumerate(assignment.points, start=1)}
    seen: dict[str, int] = {}
    for part in scoring.group_points(assignment.points, assignment.visibility, outcomes):
        seen[part.target] = seen.get(part.target, 0) + 1
        curves = {label: kept for test in part.tests for label, kept in test.curves.items()}
        named = list(dict.fromkeys(said for test in part.tests if not test.passed
                                   for said in test.named))
        rows.append(results.Row(
            name=f"{part.target} ({part.group} tests)", score=float(part.earned),
            max_score=float(part.share), tags=[part.target],
            visibility=assignment.visibility.get(part.group, "visible"),
            output=test_report(part.tests), number=f"{numbers[part.target]}.{seen[part.target]}",
            extra_data={key: value for key, value in (("curves", curves), ("mistakes", named))
                        if value}))
    return rows


def test_report(tests: list[TestOutcome]) -> str:
    """A row's output: each failed test with its message, then what passed; under each
    test, what the student's code printed during it; then the recorded curves."""
    lines = []
    for test in tests:
        if not test.passed:
            lines.append(f"✗ {test.title}")
            lines += [textwrap.indent(test.message.strip(), "    ")] if test.message.strip() else []
            lines += printed(test)
    passed = [t for t in tests if t.passed]
    if passed:
        lines.append(f"✓ {len(passed)} of {len(tests)} tests passed: "
                     + "; ".join(t.title for t in passed))
        for test in passed:
            lines += [f"✓ {test.title}:", *printed(test)] if test.output.strip() else []
    for test in tests:
        for label, kept in test.curves.items():
            lines += curves.describe(label, kept)
    return "\n".join(lines)


def printed(test: TestOutcome) -> list[str]:
    """What the student's code printed during ``test``, under a heading, indented."""
    if not test.output.strip():
        return []
    return ["    Your code printed:", textwrap.indent(test.output.rstrip("\n"), "      ")]


def summary_text(rows: list[results.Row], missing: list[str] = ()) -> str:
    """The top-level message: first the modules whose file is ``missing``, then the
    public points. It speaks only of rows that are always visible, so that hidden tests
    stay hidden until the instructor publishes the grades."""
    visible = [r for r in rows if r.max_score > 0 and r.visibility == "visible"]
    earned = math.fsum(r.score for r in visible)
    text = ""
    if missing:
        text = (f"Not found in your submission: {', '.join(f'{m}.py' for m in missing)} "
                "(see the \"Submitted files\" row); their functions score 0. ")
    text += f"Public tests: {earned:g} of {math.fsum(r.max_score for r in visible):g} points."
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
