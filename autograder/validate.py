"""``autograder check``: an assignment's tests and its points agree, checked without
building or grading anything (``autograder release`` runs the same check first).

The tests are collected by pytest (``--collect-only``) through the toolkit's plugin, in
a session pinned as for a grading, so each ``@grades`` marker is read as a grading reads
it. Every test must grade a name in ``points``, every name in ``points`` must be graded
by a test, and every folder of tests must have a visibility (a folder without one never
runs). That the points add up to ``total_points`` is checked when assignment.yaml loads.
"""

from __future__ import annotations

import pytest

from autograder.config import Assignment, ConfigError
from autograder.plugin import graded_name
from autograder.runner import graded_folders, run_pytest


class Inventory:
    """A pytest plugin that records what each collected test grades, and what could not
    be collected, without running anything."""

    def __init__(self) -> None:
        self.tests: dict[str, str] = {}  # node id -> the contract name it grades
        self.problems: list[str] = []

    def pytest_collectreport(self, report: pytest.CollectReport) -> None:
        if report.failed:
            lines = [line.lstrip("E ").strip() for line in report.longreprtext.splitlines()]
            reason = next((line for line in reversed(lines) if line), "unknown error")
            self.problems.append(f"tests/{report.nodeid}: cannot be collected: {reason}")

    def pytest_collection_modifyitems(self, items: list[pytest.Item]) -> None:
        for item in items:
            try:
                self.tests[item.nodeid] = graded_name(item)[0]
            except pytest.UsageError as exc:
                self.problems.append(f"tests/{exc}")


def collect(assignment: Assignment) -> Inventory:
    """Collect the tests a grading runs and read their markers."""
    inventory = Inventory()
    code, tail = run_pytest(assignment, inventory, "--collect-only")
    if code not in (pytest.ExitCode.OK, pytest.ExitCode.NO_TESTS_COLLECTED) \
            and not inventory.problems:
        inventory.problems.append(f"tests/: pytest could not collect the tests (exit {int(code)})"
                                  f": {tail}")
    return inventory


def problems(assignment: Assignment, inventory: Inventory) -> list[str]:
    """Every way the collected tests and assignment.yaml disagree (none: they agree)."""
    found = list(inventory.problems)
    graded = set(inventory.tests.values())
    unknown = sorted(graded - set(assignment.points))
    if unknown:
        first = next(n for n, t in inventory.tests.items() if t == unknown[0])
        which = "which is" if len(unknown) == 1 else "which are"
        found.append(f"tests grade {_names(unknown)}, {which} not in assignment.yaml points "
                     f"(e.g. tests/{first})")
    ungraded = [name for name in assignment.points if name not in graded]
    if ungraded and not inventory.problems:  # (a test that failed to collect grades some)
        found.append(f"assignment.yaml: points: no test grades {_names(ungraded)}")
    return found


def check(assignment: Assignment) -> str:
    """A one-line summary when the tests and assignment.yaml agree; otherwise
    :class:`ConfigError` naming every disagreement, on one line."""
    total = f"{assignment.total_points:g} points"
    if assignment.kind == "written":  # graded by its rubric; its tests are the student's
        auto = sum(i.points for q in assignment.questions for i in q.rubric if i.kind == "auto")
        return (f"ok: {assignment.name}: written, {len(assignment.questions)} questions, {total} "
                f"({auto:g} scored by the autograder, the rest by hand)")
    folders = graded_folders(assignment)
    tests = assignment.tests_dir
    found = [f"tests/{p.name}/ has no visibility in assignment.yaml, so its tests never run"
             for p in sorted(tests.iterdir() if tests.is_dir() else [])
             if p.is_dir() and not p.name.startswith((".", "__"))
             and p.name not in assignment.visibility]
    if not folders:
        raise ConfigError("; ".join([*found, "tests/: no folder of tests for the groups in "
                                     "assignment.yaml visibility"]))
    inventory = collect(assignment)
    found += problems(assignment, inventory)
    if found:
        raise ConfigError("; ".join(found))
    counts = ", ".join(f"{sum(n.startswith(f'{f.name}/') for n in inventory.tests)} {f.name}"
                       for f in folders)
    return (f"ok: {assignment.name}: {len(inventory.tests)} tests ({counts}) grade the "
            f"{len(assignment.points)} names in points, {total}")


def _names(names: list[str]) -> str:
    return ", ".join(repr(n) for n in names)
