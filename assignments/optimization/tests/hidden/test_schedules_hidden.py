"""Hidden tests for schedules.py against the live reference."""

import math

from hypothesis import given
from hypothesis import strategies as st

from autograder.authoring import S, assert_close, classic_mistakes, grades

MISTAKES = classic_mistakes(__file__)

LR0 = S.floats(1e-4, 1.0)
T = st.integers(0, 300)


@grades("schedules.step_decay")
@given(LR0, T, S.floats(0.1, 0.9), st.integers(1, 30))
def test_step_decay(sub, ref, lr0, t, drop, every):
    """step_decay matches the reference"""
    assert_close(sub.schedules.step_decay(lr0, t, drop=drop, every=every),
                 ref.schedules.step_decay(lr0, t, drop=drop, every=every), "step_decay",
                 {"lr0": lr0, "t": t, "drop": drop, "every": every},
                 mistakes={MISTAKES["step_decay_float"]: lr0 * drop ** (t / every)})


@grades("schedules.step_decay")
@given(LR0, T)
def test_step_decay_defaults(sub, ref, lr0, t):
    """step_decay's defaults are drop=0.5, every=10"""
    assert_close(sub.schedules.step_decay(lr0, t), ref.schedules.step_decay(lr0, t),
                 "step_decay", {"lr0": lr0, "t": t})


@grades("schedules.exponential_decay")
@given(LR0, T, st.one_of(st.none(), S.floats(0.5, 0.999)))
def test_exponential_decay(sub, ref, lr0, t, gamma):
    """exponential_decay matches the reference (default gamma=0.96)"""
    kwargs = {} if gamma is None else {"gamma": gamma}
    assert_close(sub.schedules.exponential_decay(lr0, t, **kwargs),
                 ref.schedules.exponential_decay(lr0, t, **kwargs), "exponential_decay",
                 {"lr0": lr0, "t": t, **kwargs})


@grades("schedules.inverse_time_decay")
@given(LR0, T, st.one_of(st.none(), S.floats(0.01, 2)))
def test_inverse_time_decay(sub, ref, lr0, t, k):
    """inverse_time_decay matches the reference (default k=0.1)"""
    kwargs = {} if k is None else {"k": k}
    assert_close(sub.schedules.inverse_time_decay(lr0, t, **kwargs),
                 ref.schedules.inverse_time_decay(lr0, t, **kwargs), "inverse_time_decay",
                 {"lr0": lr0, "t": t, **kwargs})


@grades("schedules.cosine_decay", weight=2)
@given(LR0, T, st.integers(1, 200), st.one_of(st.none(), S.floats(0, 1e-4)))
def test_cosine_decay(sub, ref, lr0, t, total, lr_min):
    """cosine_decay matches the reference, past `total` included"""
    kwargs = {} if lr_min is None else {"lr_min": lr_min}
    low = kwargs.get("lr_min", 0.0)
    unclamped = low + 0.5 * (lr0 - low) * (1 + math.cos(math.pi * t / total))
    assert_close(sub.schedules.cosine_decay(lr0, t, total, **kwargs),
                 ref.schedules.cosine_decay(lr0, t, total, **kwargs), "cosine_decay",
                 {"lr0": lr0, "t": t, "total": total, **kwargs},
                 mistakes={"t not clamped to total (the rate rises again)": unclamped})
