"""Public tests for layers.py: the residual block's gradients against finite differences
of the contract's forward formula."""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from autograder.authoring import S, assert_close, fail, grades, numeric_gradient


def forward(x, W, b):
    return x + np.maximum(x @ W + b, 0.0)


@grades("layers.residual_backward", weight=2)
@settings(max_examples=10)
@given(st.integers(1, 3), st.integers(1, 3), st.data())
def test_residual_backward_matches_finite_differences(sub, n, d, data):
    """residual_backward matches finite differences of sum(dout * forward)"""
    x = data.draw(S.arrays((n, d), -2, 2))
    W = data.draw(S.arrays((d, d), -2, 2))
    b = data.draw(S.arrays((d,), -2, 2))
    dout = data.draw(S.arrays((n, d), -2, 2))
    if np.min(np.abs(x @ W + b)) < 1e-3:  # too close to the ReLU kink for finite differences
        return
    grads = sub.layers.residual_backward(dout, x, W, b)
    if not isinstance(grads, (tuple, list)) or len(grads) != 3:
        fail(f"residual_backward should return (dx, dW, db), got {grads!r}")
    inputs = {"dout": dout, "x": x, "W": W, "b": b}
    for got, wrt, name in zip(grads, (x, W, b), ("dx", "dW", "db")):
        def f(v, name=name):
            args = {"x": x, "W": W, "b": b} | {name[1:]: v}
            return np.sum(dout * forward(args["x"], args["W"], args["b"]))
        assert_close(got, numeric_gradient(f, wrt), f"residual_backward: {name}", inputs,
                     rtol=1e-4, atol=1e-6)
