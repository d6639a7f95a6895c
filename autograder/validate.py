"""``autograder check``: everything a graded name needs is in place, checked without
building or grading anything (``autograder release`` runs the same check first).

The tests are collected by pytest (``--collect-only``) through the toolkit's plugin, in
a session pinned as for a grading, so each ``@grades`` marker is read as a grading reads
it. Adding a graded name touches five places; each missing one is a finding of one line.

Errors (the assignment cannot be released as it is): a test that grades a name missing
from ``points``; a name of ``points`` that no test grades, that the solution does not
define, or that has no stub (the student template is out of date); a generated file
(stubs, ``vectors.json``, ``mistakes.json``) that differs from what ``autograder stubs``
makes; tests that cannot be collected or carry no ``@grades``; a test folder without a
visibility (its tests never run); in the data ``autograder audit`` grades, a mutant of
``mutants.yaml`` that does not load or whose edits do not apply to the reference, an id
used twice across ``mistakes.yaml`` and ``mutants.yaml``, a file of ``variants/`` that is
not one of the assignment's ``files``, a freedom of ``audit: freedoms`` that cannot be made
(an unknown kind, none of its ways in its target, an edit that does not apply). Warnings:
a name that some test group does not grade (no public test and no frozen vector: students
cannot check it before they submit; no hidden test: only tests students hold grade it).
That the points add up to ``total_points`` is checked when assignment.yaml loads.
"""

from __future__ import annotations

import ast
import contextlib
from collections.abc import Collection
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import yaml

from autograder import config, freedoms, mistakes, stubs, variants
from autograder.config import Assignment
from autograder.plugin import graded_name
from autograder.runner import graded_folders, run_pytest
from autograder.words import count


@dataclass(frozen=True)
class Finding:
    """One line of the check: an ``error`` (something required is missing or wrong) or a
    ``warning`` (a gap worth knowing of)."""

    level: str
    text: str

    def __str__(self) -> str:
        return f"{self.level}: {self.text}"


@dataclass
class Report:
    """What the check found, and a one-line summary of what it checked."""

    summary: str
    findings: list[Finding] = field(default_factory=list)

    @property
    def errors(self) -> list[Finding]:
        """The findings that stop a release."""
        return [f for f in self.findings if f.level == "error"]

    def tally(self) -> str:
        """"2 errors and 1 warning"."""
        counts = [(sum(f.level == level for f in self.findings), level)
                  for level in ("error", "warning")]
        return " and ".join(count(n, level) for n, level in counts if n) \
            or "no findings"


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


def problems(assignment: Assignment, inventory: Inventory) -> list[Finding]:
    """Every way the collected tests and assignment.yaml disagree (none: they agree)."""
    found = [Finding("error", text) for text in inventory.problems]
    for target in sorted(set(inventory.tests.values()) - set(assignment.points)):
        first = next(n for n, t in inventory.tests.items() if t == target)
        found.append(Finding("error", f"{target}: tests grade it (e.g. tests/{first}), but it "
                                      "is not in assignment.yaml points"))
    if not inventory.problems:  # (a test that failed to collect may grade some)
        graded = set(inventory.tests.values())
        found += [Finding("error", f"{target}: in assignment.yaml points, but no test grades it")
                  for target in assignment.points if target not in graded]
    return found


def coverage(assignment: Assignment, inventory: Inventory) -> list[Finding]:
    """A warning for each name that a test group does not grade (a name no test grades
    at all is an error of :func:`problems`)."""
    found, frozen = [], set()
    vectors = assignment.root / "vectors.yaml"
    with contextlib.suppress(OSError, yaml.YAMLError, TypeError):  # (generated_files says why)
        frozen = set(yaml.safe_load(vectors.read_text(encoding="utf-8")) or ())
    groups = {target: {node.split("/", 1)[0] for node, t in inventory.tests.items() if t == target}
              for target in assignment.points}
    for target, graded_by in groups.items():
        if not graded_by:  # no test grades it at all: an error, said once
            continue
        for group in sorted(set(assignment.visibility) - graded_by):
            if group == "public":
                vector = "" if target in frozen else " and no frozen vector (vectors.yaml)"
                found.append(Finding("warning", f"{target}: no public test{vector}: students "
                                                "cannot check it before they submit"))
            else:
                found.append(Finding("warning", f"{target}: no {group} test: only the other "
                                                "groups' tests grade it"))
    return found


def definitions(assignment: Assignment) -> list[Finding]:
    """An error for each name of ``points`` that the solution does not define or that has
    no stub; then :func:`generated_files` for the files with no such error."""
    found, reported = [], set()
    for module, names in assignment.contract.items():
        solution = assignment.solutions_dir / f"{module}.py"
        stub = assignment.template_dir / f"{module}.py"
        if not solution.is_file():
            return [Finding("error", f"{_home(solution)} is missing")]
        defined, stubbed = top_level_names(solution), top_level_names(stub)
        for name in names:
            if name not in defined:
                found.append(Finding("error", f"{module}.{name}: {_home(solution)} defines no "
                                              f"{name}"))
            elif name not in stubbed:
                reported.add(stub)
                found.append(Finding("error", f"{module}.{name}: no stub in {_home(stub)} "
                                              f"({_rerun(assignment)})"))
    return found + generated_files(assignment, reported)


def generated_files(assignment: Assignment, reported: Collection[Path] = ()) -> list[Finding]:
    """An error for each generated file (stubs, frozen vectors, mistakes) that differs from
    what ``autograder stubs`` makes, but those already ``reported``; or for why it fails."""
    try:
        generated = stubs.template_files(assignment)
    except Exception as exc:  # a reference that cannot run, a broken vectors.yaml: say why
        why = str(exc) if isinstance(exc, config.ConfigError) else f"{type(exc).__name__}: {exc}"
        return [Finding("error", f"`autograder stubs {assignment.name}` fails: {why}")]
    return [Finding("error", f"{_home(path)} is {_rerun(assignment)}")
            for path, text in generated.items() if path not in reported
            and (not path.is_file() or path.read_text(encoding="utf-8") != text)]


def audit_data(assignment: Assignment) -> list[Finding]:
    """An error for each problem of the mutants (``mutants.yaml``) and the correct
    variants (``variants/``, and those of the freedoms of assignment.yaml) that
    ``autograder audit`` grades."""
    found, mutants, catalogue = [], [], []
    try:
        mutants = mistakes.load(assignment, mistakes.MUTANTS)
    except config.ConfigError as exc:
        found.append(Finding("error", str(exc)))
    with contextlib.suppress(config.ConfigError):  # (generated_files says why)
        catalogue = mistakes.load(assignment)
    first: dict[str, str] = {}
    for mistake in catalogue + mutants:
        if mistake.id in first:
            found.append(Finding("error", f"{mistake.source}: {mistake.id}: the id is already used "
                                          f"in {first[mistake.id]} (ids are unique across "
                                          f"{mistakes.CATALOGUE} and {mistakes.MUTANTS})"))
        first.setdefault(mistake.id, mistake.source)
    for mutant in mutants:
        try:
            mistakes.edited_files(assignment, mutant)
        except config.ConfigError as exc:
            found.append(Finding("error", str(exc)))
        except OSError:  # a missing reference file: definitions says so
            pass
    try:
        freedoms.generate(assignment)
    except config.ConfigError as exc:
        found.append(Finding("error", str(exc)))
    except OSError:  # (the same)
        pass
    files = ", ".join(assignment.files)
    for folder in variants.folders(assignment):
        found += [Finding("error", f"{variants.FOLDER}/{folder.name}/{path.name}: not one of "
                                   f"the assignment's files ({files})")
                  for path in sorted(folder.iterdir())
                  if path.is_file() and path.name not in assignment.files]
    return found


def top_level_names(path: Path) -> set[str]:
    """The names a Python file defines at its top level: functions, classes, assigned and
    imported names (none if it is missing or cannot be parsed)."""
    try:
        tree = ast.parse(path.read_text(encoding="utf-8"))
    except (OSError, SyntaxError, ValueError):
        return set()
    names = set()
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names |= {t.id for t in targets if isinstance(t, ast.Name)}
        elif isinstance(node, ast.ImportFrom):
            names |= {alias.asname or alias.name for alias in node.names}
    return names


def check(assignment: Assignment) -> Report:
    """Every finding of the check, each contract name's together in the order of
    ``points``, and a one-line summary of what was checked. A written assignment is graded
    by its rubric; its template must still be what its solution generates."""
    total = count(assignment.total_points, "point")
    if assignment.kind == "written":
        auto = sum(i.points for q in assignment.questions for i in q.rubric if i.kind == "auto")
        return Report(f"{assignment.name}: written, {count(len(assignment.questions), 'question')}, "
                      f"{total} ({auto:g} scored by the autograder, the rest by hand)",
                      generated_files(assignment))
    folders = graded_folders(assignment)
    tests = assignment.tests_dir
    found = [Finding("error", f"tests/{p.name}/ has no visibility in assignment.yaml, so its "
                              "tests never run")
             for p in sorted(tests.iterdir() if tests.is_dir() else [])
             if p.is_dir() and not p.name.startswith((".", "__"))
             and p.name not in assignment.visibility]
    if not folders:
        found.append(Finding("error", "tests/: no folder of tests for the groups in "
                                      "assignment.yaml visibility"))
        return Report(f"{assignment.name}: no tests", found + definitions(assignment))
    inventory = collect(assignment)
    found += problems(assignment, inventory) + definitions(assignment) \
        + coverage(assignment, inventory) + audit_data(assignment)
    order = {target: i for i, target in enumerate(assignment.points)}
    found.sort(key=lambda f: order.get(f.text.split(":", 1)[0], len(order)))  # stable
    counts = ", ".join(f"{sum(n.startswith(f'{f.name}/') for n in inventory.tests)} {f.name}"
                       for f in folders)
    return Report(f"{assignment.name}: {count(len(inventory.tests), 'test')} ({counts}) grade "
                  f"the {count(len(assignment.points), 'name')} in points, {total}", found)


def _rerun(assignment: Assignment) -> str:
    return f"out of date: run `autograder stubs {assignment.name}`"


def _home(path: Path) -> str:
    """``path`` relative to the toolkit's home, as the author knows it."""
    try:
        return path.relative_to(config.HOME).as_posix()
    except ValueError:
        return str(path)
