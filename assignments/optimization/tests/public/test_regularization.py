"""Public tests for regularization.py: penalty gradients and the statistics of dropout.

Dropout is random, so its tests use fixed seeds and bounds at least 5.7 standard
deviations wide: a correct implementation with any other use of the generator
fails one with probability below 1e-7."""

import numpy as np
import pytest
from hypothesis import given, settings

from autograder.authoring import (
    S,
    SeededRNG,
    as_array,
    assert_close,
    classic_mistakes,
    expect_error,
    fail,
    grades,
    numeric_gradient,
)

MISTAKES = classic_mistakes(__file__)


@grades("regularization.l2_penalty_grad")
@settings(max_examples=8)
@given(S.arrays(), S.floats(0, 2))
def test_l2_grad_matches_finite_differences(sub, w, lam):
    """l2_penalty_grad matches finite differences of lam * sum(w**2)"""
    numeric = numeric_gradient(lambda v: lam * np.sum(v**2), w)
    assert_close(sub.regularization.l2_penalty_grad(w, lam), numeric, "l2_penalty_grad",
                 {"w": w, "lam": lam}, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("p", [0.2, 0.5, 0.8])
@grades("regularization.dropout", weight=2)
def test_dropout_drops_a_fraction_p_and_rescales(sub, p):
    """dropout zeroes about a fraction p of the entries and scales survivors by 1/(1-p)"""
    x = np.full((200, 100), 2.0)
    out = as_array(sub.regularization.dropout(x, p, rng=SeededRNG(7)), "dropout")
    if out.shape != x.shape:
        fail(f"dropout(x of shape {x.shape}, p={p}) returned shape {out.shape}")
    dropped = float(np.mean(out == 0))
    # binomial standard deviation <= 0.0035 for 20000 entries: 0.02 is over 5.7 of them
    if abs(dropped - p) > 0.02:
        named = MISTAKES["dropout_keep_prob"] if abs(dropped - (1 - p)) <= 0.02 else ""
        fail(f"dropout(x, p={p}) dropped {dropped:.3f} of the entries, expected about {p}", named)
    survivors = out[out != 0]
    want = 2.0 / (1 - p)
    wrong = survivors[~np.isclose(survivors, want, rtol=1e-6, atol=1e-9)]
    if wrong.size:  # a handful of numbers, not thousands
        scalings = {2.0: "dropout_no_rescale", 2.0 / p: "dropout_scale_by_p"}
        named = next((MISTAKES[m] for value, m in scalings.items()
                      if np.allclose(survivors, value)), "")
        fail(f"dropout(x of shape {x.shape}, every entry 2.0, p={p}): each surviving entry "
             f"should be 2.0 / (1 - p) = {want:.6g}; {wrong.size} of the {survivors.size} "
             f"survivors are not, for example {wrong[:3].tolist()}", named)


@grades("regularization.dropout")
def test_dropout_edge_cases(sub):
    """dropout: training=False and p=0 return x, p=1 returns zeros, p outside [0,1] raises"""
    x = np.array([[1.0, -2.0], [3.0, 0.5]])
    out = as_array(sub.regularization.dropout(x, 0.5, training=False), "dropout")
    if out.shape == x.shape and not np.allclose(out, x) and np.all((out == 0) | np.isclose(out, 2 * x)):
        fail(f"dropout(x, p=0.5, training=False) returned {out.tolist()}, not x",
             MISTAKES["dropout_when_not_training"])
    assert_close(out, x, "dropout", {"x": x, "p": 0.5, "training": False})
    assert_close(sub.regularization.dropout(x, 0.0), x, "dropout", {"x": x, "p": 0.0})
    assert_close(sub.regularization.dropout(x, 1.0), np.zeros_like(x), "dropout",
                 {"x": x, "p": 1.0})
    for p in (-0.1, 1.5):
        with expect_error(ValueError, f"dropout(x, p={p})"):
            sub.regularization.dropout(x, p)
