"""Everything a test author imports, from one place::

    from autograder.authoring import S, assert_close, assert_unchanged, each, fail, grades

    @grades("stats.mean", weight=2)
    @given(S.arrays())
    def test_mean(sub, ref, x):
        got = sub.stats.mean(x)
        assert_unchanged(sub, "mean")
        assert_close(got, ref.stats.mean(x), "mean", {"x": x})

- What a test grades, one line above it: :func:`grades` (a contract name and a weight);
  :func:`each` (one run per name of a module, each run grading that name).
- Checks whose failures a student can act on: :func:`assert_close`, :func:`assert_matches`,
  :func:`assert_unchanged` (no argument modified in place), :func:`expect_error`,
  :func:`fail`; the student's values as numbers: :func:`as_array`, :func:`as_float`;
  :func:`numeric_gradient` for gradient checks.
- Naming a known misconception: :func:`classic_mistakes` (the assignment's
  ``mistakes.yaml``, by id), or the ``mistakes=`` of :func:`assert_close`.
- Inputs: ``S`` (hypothesis strategies of finite float arrays); :class:`SeededRNG` (a
  ``numpy.random.default_rng(seed)`` made on the student's side: ``rng=SeededRNG(7)``).
- Frozen public vectors (``vectors.yaml``): :func:`frozen_cases`, :func:`check_frozen_case`.
- Messages that name arguments: :func:`describe_call`, :func:`by_name`, :func:`parameter_names`.

The fixtures need no import: ``sub`` (the student's code, in the sandbox), ``ref`` (the
reference; hidden tests only) and ``vectors`` (the frozen public vectors).
"""

from autograder import strategies as S
from autograder.checks import (
    GradingFailure,
    as_array,
    as_float,
    assert_close,
    assert_matches,
    assert_unchanged,
    by_name,
    check_frozen_case,
    classic_mistakes,
    describe_call,
    expect_error,
    fail,
    frozen_cases,
    numeric_gradient,
    parameter_names,
)
from autograder.plugin import each, grades
from autograder.sandbox.protocol import SeededRNG

__all__ = [
    "S", "GradingFailure", "SeededRNG", "as_array", "as_float", "assert_close", "assert_matches",
    "assert_unchanged", "by_name", "check_frozen_case", "classic_mistakes", "describe_call",
    "each", "expect_error", "fail", "frozen_cases", "grades", "numeric_gradient",
    "parameter_names",
]
