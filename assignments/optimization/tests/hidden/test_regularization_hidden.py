"""Hidden tests for regularization.py against the live reference. Dropout's mask is
random and the contract does not say how it is drawn: it is checked by its properties and
by the student's own consistency (the same seed, the same mask), never against the
reference's draws (see the public tests for the statistical bounds)."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from autograder.authoring import (
    S,
    SeededRNG,
    as_array,
    assert_close,
    assert_unchanged,
    classic_mistakes,
    fail,
    grades,
)

MISTAKES = classic_mistakes(__file__)

WEIGHTS = S.arrays().map(lambda w: np.where(np.abs(w) < 2, 0.0, w))  # zeros: sign(0) == 0
LAM = S.floats(0, 5)


def check(sub, ref, name, w, lam, mistakes=None):
    got = getattr(sub.regularization, name)(w, lam)
    assert_unchanged(sub, name, "w", hint="")
    assert_close(got, getattr(ref.regularization, name)(w, lam), name, {"w": w, "lam": lam},
                 mistakes=mistakes)


@grades("regularization.l1_penalty")
@given(WEIGHTS, LAM)
def test_l1_penalty(sub, ref, w, lam):
    """l1_penalty matches the reference"""
    check(sub, ref, "l1_penalty", w, lam, {"mean instead of sum": lam * np.mean(np.abs(w))})


@grades("regularization.l1_penalty_grad")
@given(WEIGHTS, LAM)
def test_l1_penalty_grad(sub, ref, w, lam):
    """l1_penalty_grad matches the reference, with sign(0) == 0"""
    check(sub, ref, "l1_penalty_grad", w, lam,
          {"sign(0) taken as 1": lam * np.where(w >= 0, 1.0, -1.0)})


@grades("regularization.l2_penalty")
@given(WEIGHTS, LAM)
def test_l2_penalty(sub, ref, w, lam):
    """l2_penalty matches the reference"""
    check(sub, ref, "l2_penalty", w, lam, {"a factor 1/2 the contract does not have":
                                           0.5 * lam * np.sum(w**2)})


@grades("regularization.l2_penalty_grad")
@given(WEIGHTS, LAM)
def test_l2_penalty_grad(sub, ref, w, lam):
    """l2_penalty_grad matches the reference"""
    check(sub, ref, "l2_penalty_grad", w, lam, {MISTAKES["l2_grad_no_2"]: lam * w})


@grades("regularization.dropout")
@given(S.arrays(lo=0.5, hi=5), st.sampled_from([0.1, 0.3, 0.5, 0.9]), st.integers(0, 10_000))
def test_dropout_mask_is_consistent(sub, ref, x, p, seed):
    """dropout: each entry is 0 or x/(1-p); the same seed gives the same mask; x is unchanged"""
    out = as_array(sub.regularization.dropout(x, p, rng=SeededRNG(seed)), "dropout")
    assert_unchanged(sub, "dropout", "x", hint="")
    again = as_array(sub.regularization.dropout(x, p, rng=SeededRNG(seed)), "dropout")
    inputs = {"x": x, "p": p, "rng": SeededRNG(seed)}
    if out.shape != x.shape:
        fail(f"dropout returned shape {out.shape} for x of shape {x.shape}")
    kept = out != 0
    assert_close(out[kept], x[kept] / (1 - p), "dropout: the surviving entries", inputs,
                 mistakes={MISTAKES["dropout_no_rescale"]: x[kept],
                           MISTAKES["dropout_scale_by_p"]: x[kept] / p})
    assert_close(again, out, "dropout called twice with the same seeded rng", inputs)


@grades("regularization.dropout")
def test_dropout_without_rng(sub):
    """dropout works with rng=None (a fresh generator)"""
    x = np.ones(1000)
    out = as_array(sub.regularization.dropout(x, 0.5), "dropout(x, 0.5)")
    values = set(np.unique(out).tolist())
    if not values <= {0.0, 2.0} or len(values) != 2:
        fail(f"dropout(ones(1000), 0.5) should hold only 0.0 and 2.0, got {sorted(values)[:5]}")


@grades("regularization.dropout")
@pytest.mark.parametrize("training", [True, False])
def test_dropout_accepts_a_list(sub, training):
    """dropout takes a list of numbers as it takes an array (the same seed, the same answer)"""
    x = [1.0, -2.0, 3.0, 0.5]
    inputs = {"x": x, "p": 0.5, "training": training, "rng": SeededRNG(3)}
    out = as_array(sub.regularization.dropout(x, 0.5, training=training, rng=SeededRNG(3)),
                   "dropout of a list")
    # The contract leaves open how the mask is drawn: the list is compared with the
    # student's own answer for the same numbers as an array, never with the reference's.
    want = as_array(sub.regularization.dropout(np.array(x), 0.5, training=training,
                                               rng=SeededRNG(3)), "dropout of an array")
    assert_close(out, want, "dropout of a list, against your dropout of the same numbers as an "
                 "array", inputs)


@grades("regularization.dropout")
@given(S.arrays(), st.sampled_from([0.0, 0.2, 0.7, 1.0]))
def test_dropout_inference_is_identity(sub, ref, x, p):
    """dropout(training=False) returns x unchanged for every p"""
    assert_close(sub.regularization.dropout(x, p, training=False), x, "dropout",
                 {"x": x, "p": p, "training": False})
