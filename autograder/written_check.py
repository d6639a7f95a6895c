"""The pytest plugin of a student's copy of a written assignment: after the checks of
``tests/public``, one block per question with its automatic checks, then the items a
grader scores by hand. Only :mod:`autograder.written` is needed (no numpy, no
hypothesis, no sandbox): the student installs what the check uses and nothing else."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from autograder import written
from autograder.config import load_path


def report_lines(root: Path) -> list[str]:
    """The report for the written assignment in ``root`` (its assignment.yaml and the
    student's response file)."""
    assignment = load_path(root / "assignment.yaml", root.name)
    rows, summary = written.grade(assignment, root)
    lines = [f"note: {line}" for row in rows if row.tags == ["files"]
             for line in row.output.splitlines()]
    for number, question in enumerate(assignment.questions, start=1):
        checks = [r for r in rows if r.tags == [f"{assignment.name}.{question.id}"]]
        score, top = sum(r.score for r in checks), sum(r.max_score for r in checks)
        lines.append(f"Q{number}  {score:g} of {top:g} automatic points")
        lines += [f"      {'ok  ' if r.score >= r.max_score else 'FAIL'}  {r.output}" for r in checks]
    return lines + summary.splitlines()


@pytest.hookimpl(tryfirst=True)  # before the terminal reporter reads the verbosity
def pytest_configure(config: pytest.Config) -> None:
    """Quiet (as ``-q``) unless asked for ``-v``: the report says it all."""
    if config.option.verbose == 0:
        config.option.verbose = -1


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    """Print the report after the checks."""
    root = Path(str(config.rootpath))
    if (root / "assignment.yaml").is_file():
        terminalreporter.section("your answers")
        for line in report_lines(root):
            terminalreporter.write_line(line)
