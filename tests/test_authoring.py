"""The test author's API: one import (``autograder.authoring``), one name per pattern the
assignments' tests used to copy (``each``, ``assert_unchanged``)."""

import ast
from types import SimpleNamespace

import pytest

from autograder import authoring, checks, config
from autograder.sandbox import protocol

from conftest import ROOT


def parameters(decorator):
    """The argument names and the ``pytest.param`` values of a parametrize decorator."""
    mark = decorator.mark
    assert mark.name == "parametrize"
    return mark.args[0], mark.args[1]


def graded(param):
    """(contract name, weight) of a param's ``@grades`` mark."""
    (mark,) = [m.mark for m in param.marks if m.mark.name == "grades"]
    return mark.args[0], mark.kwargs["weight"]


def test_each_grades_one_name_per_run():
    names, params = parameters(authoring.each("optimizers", ["Adam", "Momentum"], weight=3))
    assert names == "name"
    assert [p.values for p in params] == [("Adam",), ("Momentum",)]
    assert [p.id for p in params] == ["Adam", "Momentum"]
    assert [graded(p) for p in params] == [("optimizers.Adam", 3), ("optimizers.Momentum", 3)]


def test_each_passes_the_rest_of_a_tuple_case():
    cases = [("mean", [1.0, 2.0], 1.5), ("median", [3.0], 3.0)]
    names, params = parameters(authoring.each("stats", cases, "name, x, want"))
    assert names == "name, x, want"
    assert [p.values for p in params] == cases
    assert [graded(p) for p in params] == [("stats.mean", 1.0), ("stats.median", 1.0)]


def student(mutated):
    """A ``sub`` whose last call modified the arguments ``mutated``."""
    return SimpleNamespace(last_call={"mutated": mutated, "warnings": []})


def test_assert_unchanged_names_the_arguments_and_the_advice():
    authoring.assert_unchanged(student([]), "mean")
    with pytest.raises(checks.GradingFailure) as failed:
        authoring.assert_unchanged(student(["argument 1", "out"]), "mean")
    assert str(failed.value) == ("mean modified its input in place (argument 1, out); "
                                 "work on a copy or build a new array")
    with pytest.raises(checks.GradingFailure) as failed:
        authoring.assert_unchanged(student(["argument 1"]), "Adam.step", "w", hint="",
                                   mistake="  Classic mistake: updates in place.")
    assert str(failed.value) == ("Adam.step modified w in place (argument 1)\n"
                                 "  Classic mistake: updates in place.")


def test_the_one_import_holds_the_whole_api():
    for name in authoring.__all__:
        assert getattr(authoring, name) is not None, name
    assert authoring.SeededRNG is protocol.SeededRNG  # what the wire encodes
    assert {"grades", "each", "assert_close", "assert_unchanged", "S", "SeededRNG", "fail",
            "expect_error", "as_array", "classic_mistakes"} <= set(authoring.__all__)


@pytest.mark.parametrize("name", config.assignment_names())
def test_assignment_tests_import_only_the_authoring_api(name):
    """No grading test reaches into the toolkit's modules (checks, plugin, the sandbox's wire
    format). A written assignment's check imports only what its student copy installs."""
    allowed = {"programming": {"autograder.authoring"},
               "written": {"autograder.written", "autograder.config"}}[config.load(name).kind]
    for path in sorted((ROOT / "assignments" / name / "tests").rglob("test_*.py")):
        imported = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                imported |= {alias.name for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module == "autograder":
                imported |= {f"autograder.{alias.name}" for alias in node.names}
            elif isinstance(node, ast.ImportFrom):
                imported.add(node.module)
        toolkit = {m for m in imported if m.split(".")[0] == "autograder"}
        assert toolkit <= allowed, f"{path.relative_to(ROOT)} imports {sorted(toolkit - allowed)}"
