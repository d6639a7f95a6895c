"""The test authors' helpers (autograder/checks.py), in process: the messages a student
reads, the conversions of student values, and frozen vectors."""

import json
from types import SimpleNamespace

import numpy as np
import pytest

from autograder import checks
from autograder.checks import GradingFailure
from autograder.sandbox.errors import StudentRaised
from autograder.sandbox.protocol import encode


def failure(call, *args, **kwargs) -> str:
    """The message of the :class:`GradingFailure` that ``call(*args, **kwargs)`` raises."""
    with pytest.raises(GradingFailure) as info:
        call(*args, **kwargs)
    return str(info.value)


@pytest.mark.parametrize(("value", "shown"), [
    (np.float64(0.1) + np.float64(0.2), "0.3"),
    (np.array(2.5), "2.5"),
    (1 / 3, "0.3333333333"),
    (list(range(9)), "list of 9 items"),
    ((1, 2), "(1, 2)"),
    ("x" * 300, "'" + "x" * 199 + "..."),
])
def test_show_is_short_and_readable(value, shown):
    assert checks.show(value) == shown


def test_show_gives_the_shape_of_large_arrays_only():
    assert checks.show(np.array([1.0, 2.0])) == "[1., 2.]"
    assert checks.show(np.zeros((2, 2))).endswith("(shape (2, 2))")
    assert checks.show(np.zeros(7)).endswith("(shape (7,))")


def test_describe_call_for_a_name_and_for_a_description():
    assert checks.describe_call("softmax", {"z": 1.5, "axis": 0}) == "softmax(z=1.5, axis=0)"
    assert checks.describe_call("Adam.step, call 2", {"w": 1.0}) == "Adam.step, call 2, with w=1"


def test_as_array_and_as_float_convert_or_say_why_not():
    assert checks.as_array([1, 2], "f").dtype == np.float64
    assert checks.as_float(np.array([2.5]), "f") == 2.5
    assert "forget a return statement" in failure(checks.as_array, None, "f")
    assert "should return a numpy array of floats, got 'abc'" in failure(checks.as_array, "abc", "f")
    assert "single number, got an array of shape (2,)" in failure(checks.as_float, [1, 2], "f")


def test_assert_close_accepts_values_within_tolerance():
    checks.assert_close([1.0, 2.0 + 1e-10], np.array([1.0, 2.0]), "f")
    checks.assert_close(np.array([3.0]), 3.0, "f")  # a 1-element result for a scalar
    checks.assert_close([np.nan], [np.nan], "f")


def test_assert_close_names_the_call_values_and_largest_difference():
    text = failure(checks.assert_close, [1.0, 5.0, 3.0], [1.0, 2.0, 3.0], "mse",
                   {"y": np.array([1.0])})
    lines = text.splitlines()
    assert lines[0] == "mse(y=[1.])"
    assert lines[1] == "  expected: [1., 2., 3.]"
    assert lines[2] == "  got:      [1., 5., 3.]"
    assert "largest difference at index (1,): expected 2, got 5" in text


def test_assert_close_reports_shape_nan_and_a_known_mistake():
    assert "expected shape (3,), got shape (2,)" in failure(checks.assert_close, [1, 2], [1, 2, 3], "f")
    assert "contains NaN or inf" in failure(checks.assert_close, [np.nan, 1], [0.0, 1.0], "f")
    text = failure(checks.assert_close, 6.0, 2.0, "mse", mistakes={"eps inside": 5.0,
                                                                   "sum instead of mean": 6.0})
    assert text.endswith("Classic mistake: sum instead of mean.")
    assert "Classic mistake" not in failure(checks.assert_close, 7.0, 2.0, "f", mistakes={"m": 6.0})


def test_assert_matches_walks_tuples_dicts_and_bools():
    checks.assert_matches((np.array([1.0]), {"k": 2.0}, True), ([1.0], {"k": 2.0}, True), "f")
    assert failure(checks.assert_matches, ([1.0], 3.0), ([1.0], 2.0), "f").startswith("f result 2\n")
    assert "expected 2 results" in failure(checks.assert_matches, ([1.0],), ([1.0], 2.0), "f")
    assert "no key 'b'" in failure(checks.assert_matches, {"a": 1}, {"a": 1, "b": 2}, "f")
    assert "expected a dict" in failure(checks.assert_matches, [1], {"a": 1}, "f")
    assert "expected: True" in failure(checks.assert_matches, False, True, "f")
    assert "expected: False" in failure(checks.assert_matches, "no", False, "f")


def raised(kind: str) -> StudentRaised:
    return StudentRaised("f", {"types": [kind, "Exception"], "message": "bad p"})


def test_expect_error_wants_that_error_from_the_student():
    with checks.expect_error(ValueError, "dropout(p=2)"):
        raise raised("ValueError")
    with pytest.raises(GradingFailure, match=r"^dropout\(p=2\) should raise ValueError, but "
                       "returned normally$"), checks.expect_error(ValueError, "dropout(p=2)"):
        pass
    with pytest.raises(GradingFailure, match="but raised TypeError: bad p"), \
            checks.expect_error(ValueError, "dropout(p=2)"):
        raise raised("TypeError")


def test_numeric_gradient_of_a_quadratic():
    x = np.array([[1.0, -2.0], [0.5, 3.0]])
    np.testing.assert_allclose(checks.numeric_gradient(lambda v: np.sum(v**2), x), 2 * x, rtol=1e-6)


def test_frozen_cases_and_check_frozen_case(tmp_path):
    vectors = {"m.double": [{"args": [[1.0, 2.0]], "expected": [2.0, 4.0]}],
               "m.Counter": [{"args": [], "kwargs": {"start": 1}, "method": "step",
                              "calls": [[1.0], [2.0]],
                              "expected": [{"return": 2.0, "attrs": {"n": 1}},
                                           {"return": 4.0, "attrs": {"n": 2}}]}]}
    path = tmp_path / "vectors.json"
    path.write_text(json.dumps(encode(vectors, lambda obj: None)))
    cases = checks.frozen_cases(str(path))
    assert [c.id for c in cases] == ["m.double-1", "m.Counter-1"]
    assert [c.marks[0].args for c in cases] == [("m.double",), ("m.Counter",)]

    class Counter:
        def __init__(self, start):
            self.n = start - 1

        def step(self, x):
            self.n += 1
            return 2 * x

    right = SimpleNamespace(m=SimpleNamespace(double=lambda v: 2 * np.asarray(v), Counter=Counter))
    for case in cases:
        checks.check_frozen_case(right, *case.values)
    wrong = SimpleNamespace(m=SimpleNamespace(double=lambda v: 3 * np.asarray(v)))
    assert failure(checks.check_frozen_case, wrong, *cases[0].values).startswith(
        "double(arg1=[1.0, 2.0])\n  expected: [2., 4.]\n  got:      [3., 6.]")


def named(call, *args, **kwargs) -> list[str]:
    """The classic mistakes the :class:`GradingFailure` that ``call`` raises names."""
    with pytest.raises(GradingFailure) as info:
        call(*args, **kwargs)
    return info.value.named


def test_a_failure_lists_the_classic_mistakes_it_names_apart_from_its_text():
    """What the class report counts is what the checks named, never text that reads like
    a named mistake: a student's value or exception message quoted in a failure."""
    said = "  Classic mistake: sum instead of mean.\n  Hint: divide by n."
    assert named(checks.assert_close, 6.0, 2.0, "mse", mistakes={said: 6.0}) == \
        ["sum instead of mean"]
    assert named(checks.assert_close, 6.0, 2.0, "mse", mistakes={"eps inside": 6.0}) == \
        ["eps inside"]
    assert named(checks.assert_close, 7.0, 2.0, "mse", mistakes={"eps inside": 6.0}) == []
    assert named(checks.fail, "wrong", said) == ["sum instead of mean"]
    assert failure(checks.fail, "wrong", said) == f"wrong\n{said}"
    mutated = SimpleNamespace(last_call={"mutated": ["argument 1"]})
    assert named(checks.assert_unchanged, mutated, "f", mistake=said) == ["sum instead of mean"]
    case = {"args": [2.0], "expected": 4.0, "mistakes": [{"expected": 6.0, "message": said}]}
    triples = SimpleNamespace(m=SimpleNamespace(double=lambda v: 3 * v))
    assert named(checks.check_frozen_case, triples, "m.double", case) == ["sum instead of mean"]
    assert named(checks.as_array, said, "f") == []  # the student returned that text
    forged = StudentRaised("f", {"types": ["TypeError"], "message": said})
    with pytest.raises(GradingFailure) as info, checks.expect_error(ValueError, "f"):
        raise forged
    assert said in str(info.value) and info.value.named == []
