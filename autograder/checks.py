"""Assertions for grading tests, with messages a student can act on.

Every failure says what was called with what, what was expected, what came
back, and, when the wrong answer equals a known mistake, names the mistake.
The student's values arrive as plain data; these helpers turn them into
float64 arrays or fail the test with a clear message.
"""

from __future__ import annotations

import contextlib
import inspect
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from autograder import mistakes
from autograder.mistakes import CLASSIC
from autograder.plugin import grades
from autograder.sandbox.errors import StudentRaised
from autograder.sandbox.protocol import decode

np.set_printoptions(precision=6, threshold=24, edgeitems=3, linewidth=88)




class GradingFailure(AssertionError):
    """A grading test failed; the message is shown to the student as is, with the message
    of the classic mistake it names, if any, below it. ``named`` holds that mistake's
    sentence: the class report counts what the grader named, never text that reads so."""

    def __init__(self, message: str, mistake: str = "") -> None:
        super().__init__(f"{message}\n{mistake}" if mistake else message)
        self.named = [mistakes.sentence(mistake)] if mistake else []


def fail(message: str, mistake: str = "") -> None:
    """Fail the current test with ``message``; ``mistake``: the message of a classic mistake
    the failure matches (``classic_mistakes(__file__)[id]``), shown below it."""
    __tracebackhide__ = True
    raise GradingFailure(message, mistake)


def show(value: Any) -> str:
    """A short, readable rendering of an input or output value."""
    if isinstance(value, np.ndarray) and value.ndim == 0:
        return f"{float(value):.10g}"
    if isinstance(value, np.ndarray):
        return np.array2string(value, separator=", ") + (
            f"  (shape {value.shape})" if value.ndim > 1 or value.size > 6 else "")
    if isinstance(value, float):
        return f"{value:.10g}"
    if isinstance(value, (list, tuple)) and len(value) > 8:
        return f"{type(value).__name__} of {len(value)} items"
    text = repr(value)
    return text if len(text) <= 200 else text[:200] + "..."


def describe_call(what: str, inputs: dict[str, Any]) -> str:
    """``name(a=..., b=...)`` for a function name, ``what, with a=...`` for a description."""
    args = ", ".join(f"{k}={show(v)}" for k, v in inputs.items())
    return f"{what}({args})" if what.isidentifier() else f"{what}, with {args}"


def _call(what: str, inputs: dict[str, Any] | None) -> str:
    """The head of a failure message: the call with its inputs, when known. Rendered only
    when a check fails: rendering the arrays costs more than the check."""
    return describe_call(what, inputs) if inputs is not None else what


def as_array(value: Any, what: str) -> np.ndarray:
    """The student's value as a float64 array, or a failed test saying why not."""
    __tracebackhide__ = True
    if value is None:
        fail(f"{what} returned None; did you forget a return statement?")
    try:
        array = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        fail(f"{what} should return a numpy array of floats, got {show(value)}")
    return array


def as_float(value: Any, what: str) -> float:
    """The student's scalar result as a float (a 1-element array is accepted)."""
    __tracebackhide__ = True
    array = as_array(value, what)
    if array.size != 1:
        fail(f"{what} should return a single number, got an array of shape {array.shape}")
    return float(array.reshape(()))


def assert_close(
    actual: Any,
    expected: Any,
    what: str,
    inputs: dict[str, Any] | None = None,
    rtol: float = 1e-6,
    atol: float = 1e-9,
    mistakes: dict[str, Any] | None = None,
) -> None:
    """Fail unless ``actual`` equals ``expected`` (same shape, values within tolerance).

    ``mistakes`` maps a known misconception ("sum instead of mean") to the value
    that mistake produces; a match is named in the message.
    """
    __tracebackhide__ = True
    got = as_array(actual, what)
    want = np.asarray(expected, dtype=np.float64)
    if got.shape != want.shape and got.size == want.size == 1:
        got = got.reshape(want.shape)
    if got.shape != want.shape:
        fail(f"{_call(what, inputs)}\n  expected shape {want.shape}, got shape {got.shape}\n"
             f"  expected: {show(want)}\n  got:      {show(got)}")
    if np.allclose(got, want, rtol=rtol, atol=atol, equal_nan=True):
        return
    lines = [_call(what, inputs), f"  expected: {show(want)}", f"  got:      {show(got)}"]
    if not np.isfinite(got).all() and np.isfinite(want).all():
        lines.append("  your result contains NaN or inf where the expected one is finite")
    elif want.size > 1:
        diff = np.abs(got - want)
        index = np.unravel_index(int(np.nanargmax(np.where(np.isnan(diff), np.inf, diff))),
                                 diff.shape)
        lines.append(f"  largest difference at index {tuple(int(i) for i in index)}: "
                     f"expected {want[index]:.10g}, got {got[index]:.10g}")
    named = ""
    for name, wrong in (mistakes or {}).items():
        wrong = np.asarray(wrong, dtype=np.float64)
        if wrong.shape == got.shape and np.allclose(got, wrong, rtol=rtol, atol=atol):
            named = name if name.lstrip().startswith(CLASSIC) else f"  {CLASSIC} {name}."
            break
    fail("\n".join(lines), named)


def assert_unchanged(sub: Any, what: str, arguments: str = "its input",
                     hint: str = "work on a copy or build a new array", mistake: str = "") -> None:
    """Usage: ``assert_unchanged(sub, "mse_loss")`` right after a call of the student's code:
    fail when that call modified an array argument in place (the grader sees it in shared
    memory; the student's process is not asked). ``mistake``: a classic mistake's message."""
    __tracebackhide__ = True
    mutated = sub.last_call.get("mutated", [])
    if mutated:
        fail(f"{what} modified {arguments} in place ({', '.join(mutated)})"
             + (f"; {hint}" if hint else ""), mistake)


@contextlib.contextmanager
def expect_error(error: type[BaseException], what: str) -> Iterator[None]:
    """Fail unless the student's code raises ``error`` (or a subclass) inside the block."""
    __tracebackhide__ = True
    try:
        yield
    except StudentRaised as exc:
        if error.__name__ in exc.types:
            return
        fail(f"{what} should raise {error.__name__}, but raised {exc.types[0]}: {exc.detail}")
    else:
        fail(f"{what} should raise {error.__name__}, but returned normally")


def numeric_gradient(f: Callable[[np.ndarray], float], x: np.ndarray,
                     h: float = 1e-6) -> np.ndarray:
    """Central finite differences of a scalar function ``f`` at ``x``."""
    x = np.asarray(x, dtype=np.float64)
    grad = np.zeros_like(x)
    for index in np.ndindex(x.shape):
        shift = np.zeros_like(x)
        shift[index] = h
        grad[index] = (f(x + shift) - f(x - shift)) / (2 * h)
    return grad


def assert_matches(actual: Any, expected: Any, what: str, inputs: dict[str, Any] | None = None,
                   rtol: float = 1e-6, atol: float = 1e-9) -> None:
    """Like :func:`assert_close`, but also for tuples, lists, dicts and bools of results."""
    __tracebackhide__ = True
    if isinstance(expected, bool):
        if not isinstance(actual, (bool, int)) or bool(actual) != expected:
            fail(f"{_call(what, inputs)}\n  expected: {expected}\n  got:      {show(actual)}")
    elif isinstance(expected, dict):
        if not isinstance(actual, dict):
            fail(f"{_call(what, inputs)}\n  expected a dict with keys {sorted(expected)}, got {show(actual)}")
        for key, value in expected.items():
            if key not in actual:
                fail(f"{_call(what, inputs)}\n  the result has no key {key!r} (keys: {sorted(actual)})")
            assert_matches(actual[key], value, f"{what}[{key!r}]", None, rtol, atol)
    elif isinstance(expected, (tuple, list)) and not mistakes.numeric_list(expected):
        if not isinstance(actual, (tuple, list)) or len(actual) != len(expected):
            fail(f"{_call(what, inputs)}\n  expected {len(expected)} results, got {show(actual)}")
        for i, (got, want) in enumerate(zip(actual, expected)):
            assert_matches(got, want, f"{what} result {i + 1}", inputs, rtol, atol)
    else:
        assert_close(actual, expected, what, inputs, rtol, atol)


def classic_mistakes(test_file: str) -> dict[str, str]:
    """The messages of the assignment's classic mistakes by id (``mistakes.json`` of the
    public tests, generated from ``mistakes.yaml``), for a test module at ``test_file``."""
    folder = Path(test_file).resolve().parent
    for path in (folder / "mistakes.json", folder.parent / "public" / "mistakes.json"):
        if path.is_file():
            return json.loads(path.read_text(encoding="utf-8"))
    raise FileNotFoundError(f"no mistakes.json next to {test_file}; run `autograder stubs`")


def frozen_cases(path: str) -> list[Any]:
    """``pytest.param`` cases, one per frozen vector in ``path``, each marked with its target."""
    data = decode(json.loads(Path(path).read_text(encoding="utf-8")), lambda handle: None)
    return [pytest.param(target, case, marks=grades(target), id=f"{target}-{i + 1}")
            for target, cases in data.items() for i, case in enumerate(cases)]


def check_frozen_case(sub: Any, target: str, case: dict) -> None:
    """Call the student's ``target`` as the frozen case says and compare every answer;
    a wrong answer that equals a classic mistake's (``case["mistakes"]``) is named."""
    __tracebackhide__ = True
    module, name = target.split(".", 1)
    func = getattr(getattr(sub, module), name)
    args, kwargs = case.get("args", []), case.get("kwargs", {})
    inputs = by_name(args, case.get("params", [])) | kwargs
    answers: list[Any] = []
    obj = None
    try:
        if "calls" not in case:
            answers.append(func(*args, **kwargs))
            assert_matches(answers[0], case["expected"], name, inputs)
            return
        obj = func(*args, **kwargs)
        for i, (call_args, want) in enumerate(zip(case["calls"], case["expected"])):
            what = f"{describe_call(name, inputs)}.{case['method']}, call {i + 1}"
            call_inputs = by_name(call_args, case.get("method_params", []))
            answers.append({"return": getattr(obj, case["method"])(*call_args), "attrs": {}})
            assert_matches(answers[-1]["return"], want["return"], what, call_inputs)
            for attr, value in want.get("attrs", {}).items():
                answers[-1]["attrs"][attr] = getattr(obj, attr)
                assert_matches(answers[-1]["attrs"][attr], value, f"{what}: attribute {attr}")
    except GradingFailure as failure:
        if obj is not None:
            answers = all_answers(obj, case, answers)
        named = classic_mistake(case, answers)
        if named is None:
            raise
        raise GradingFailure(str(failure), named) from None


def all_answers(obj: Any, case: dict, answers: list[Any]) -> list[Any]:
    """Every answer of a class's case, the calls after a failed one included: a mistake is
    named only when the whole sequence matches (two mistakes may agree on the first calls).
    An empty list when a call fails."""
    try:
        last = answers[-1]
        last["attrs"] = {a: getattr(obj, a) for a in case.get("attrs", [])}
        for call_args in case["calls"][len(answers):]:
            answers.append({"return": getattr(obj, case["method"])(*call_args),
                            "attrs": {a: getattr(obj, a) for a in case.get("attrs", [])}})
    except Exception:  # the student's code failing here only means no mistake is named
        return []
    return answers


def parameter_names(func: Callable[..., Any]) -> list[str]:
    """The names of ``func``'s parameters (a class's: its constructor's, without self)."""
    return list(inspect.signature(func).parameters)


def by_name(args: list[Any], params: list[str]) -> dict[str, Any]:
    """Positional ``args`` keyed by their parameter names (``arg3`` past the known ones)."""
    return {params[i] if i < len(params) else f"arg{i + 1}": a for i, a in enumerate(args)}


def classic_mistake(case: dict, answers: list[Any]) -> str | None:
    """The message of the classic mistake whose answers to ``case`` equal the student's
    (for a class, every call's), or None."""
    for entry in case.get("mistakes", []):
        theirs = entry["expected"]
        if "calls" in case:
            matched = len(answers) == len(theirs) and all(
                mistakes.same(mine["return"], their["return"])
                and all(mistakes.same(v, their["attrs"][k]) for k, v in mine["attrs"].items())
                for mine, their in zip(answers, theirs))
        else:
            matched = mistakes.same(answers[0], theirs)
        if answers and matched:
            return entry["message"]
    return None
