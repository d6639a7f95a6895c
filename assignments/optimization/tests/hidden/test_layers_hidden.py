"""Hidden tests for layers.py against the live reference (ReLU kink included)."""

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from autograder.authoring import S, assert_close, assert_unchanged, classic_mistakes, fail, grades

MISTAKES = classic_mistakes(__file__)


def block(n, d, lo=-3.0, hi=3.0):
    return st.tuples(S.arrays((n, d), lo, hi), S.arrays((d, d), lo, hi), S.arrays((d,), lo, hi))


SIZES = st.tuples(st.integers(1, 4), st.integers(1, 4))


@grades("layers.residual_forward", weight=2)
@given(SIZES.flatmap(lambda s: block(*s)))
def test_residual_forward(sub, ref, xwb):
    """residual_forward matches the reference"""
    x, W, b = xwb
    got = sub.layers.residual_forward(x, W, b)
    assert_unchanged(sub, "residual_forward", "its inputs")
    assert_close(got, ref.layers.residual_forward(x, W, b), "residual_forward",
                 {"x": x, "W": W, "b": b},
                 mistakes={MISTAKES["residual_no_skip"]: np.maximum(x @ W + b, 0)})


@grades("layers.residual_forward")
def test_residual_forward_accepts_lists(sub, ref):
    """residual_forward accepts lists"""
    x, W, b = [[1.0, -1.0]], [[0.5, 0.0], [1.0, 2.0]], [0.0, 1.0]
    assert_close(sub.layers.residual_forward(x, W, b), ref.layers.residual_forward(x, W, b),
                 "residual_forward", {"x": x, "W": W, "b": b})


@grades("layers.residual_backward", weight=4)
@given(SIZES.flatmap(lambda s: st.tuples(S.arrays(s), block(*s))))
def test_residual_backward(sub, ref, case):
    """residual_backward matches the reference"""
    dout, (x, W, b) = case
    x = np.round(x)  # integer inputs make x @ W + b == 0 (the ReLU kink) happen
    W, b = np.round(W), np.round(b)
    got = sub.layers.residual_backward(dout, x, W, b)
    if not isinstance(got, (tuple, list)) or len(got) != 3:
        fail(f"residual_backward should return (dx, dW, db), got {got!r}")
    want = ref.layers.residual_backward(dout, x, W, b)
    z = x @ W + b
    dz = dout * (z > 0)
    inputs = {"dout": dout, "x": x, "W": W, "b": b}
    mistakes = {
        "dx": {MISTAKES["residual_backward_no_identity"]: dz @ W.T,
               MISTAKES["residual_backward_relu_at_0"]: dout + (dout * (z >= 0)) @ W.T},
        "dW": {"W.T in the wrong place (dz.T @ x)": dz.T @ x,
               MISTAKES["residual_backward_relu_at_0"]: x.T @ (dout * (z >= 0))},
        "db": {"db not summed over the batch": dz.mean(axis=0) if len(dz) > 1 else None,
               MISTAKES["residual_backward_relu_at_0"]: (dout * (z >= 0)).sum(axis=0)},
    }
    for name, mine, theirs in zip(("dx", "dW", "db"), got, want):
        known = {k: v for k, v in mistakes[name].items() if v is not None}
        assert_close(mine, theirs, f"residual_backward: {name}", inputs, mistakes=known)
