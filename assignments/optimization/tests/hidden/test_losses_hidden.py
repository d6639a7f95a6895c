"""Hidden tests for losses.py: properties against the live reference, edges
included (zeros, 1-element and 2-D arrays, +-1000 logits, p at 0 and 1, lists)."""

import numpy as np
from hypothesis import example, given
from hypothesis import strategies as st

from autograder.authoring import (
    S,
    assert_close,
    assert_unchanged,
    by_name,
    classic_mistakes,
    each,
    grades,
    parameter_names,
)

MISTAKES = classic_mistakes(__file__)

BATCHES = st.tuples(st.integers(1, 5), st.integers(2, 5))


def with_zeros(pair):
    """Make some predictions exact, so sign(0) matters."""
    y_hat, y = pair
    y_hat = y_hat.copy()
    y_hat.flat[::2] = y.flat[::2]
    return y_hat, y


@grades("losses.l1_loss")
@given(S.same_shape(2))
def test_l1_loss(sub, ref, pair):
    """l1_loss matches the reference"""
    y_hat, y = pair
    got = sub.losses.l1_loss(y_hat, y)
    assert_unchanged(sub, "l1_loss")
    assert_close(got, ref.losses.l1_loss(y_hat, y), "l1_loss", {"y_hat": y_hat, "y": y},
                 mistakes={MISTAKES["l1_sum"]: np.sum(np.abs(y_hat - y))})


@grades("losses.l1_loss_grad", weight=2)
@given(S.same_shape(2).map(with_zeros))
def test_l1_loss_grad(sub, ref, pair):
    """l1_loss_grad matches the reference, with sign(0) == 0"""
    y_hat, y = pair
    got = sub.losses.l1_loss_grad(y_hat, y)
    assert_unchanged(sub, "l1_loss_grad")
    assert_close(got, ref.losses.l1_loss_grad(y_hat, y), "l1_loss_grad",
                 {"y_hat": y_hat, "y": y},
                 mistakes={MISTAKES["l1_grad_no_n"]: np.sign(y_hat - y),
                           "sign(0) taken as 1": np.where(y_hat >= y, 1.0, -1.0) / y.size})


@grades("losses.mse_loss")
@given(S.same_shape(2))
def test_mse_loss(sub, ref, pair):
    """mse_loss matches the reference"""
    y_hat, y = pair
    got = sub.losses.mse_loss(y_hat, y)
    assert_unchanged(sub, "mse_loss")
    assert_close(got, ref.losses.mse_loss(y_hat, y), "mse_loss", {"y_hat": y_hat, "y": y},
                 mistakes={MISTAKES["mse_sum"]: np.sum((y_hat - y) ** 2)})


@grades("losses.mse_loss_grad", weight=2)
@given(S.same_shape(2))
def test_mse_loss_grad(sub, ref, pair):
    """mse_loss_grad matches the reference"""
    y_hat, y = pair
    got = sub.losses.mse_loss_grad(y_hat, y)
    assert_unchanged(sub, "mse_loss_grad")
    assert_close(got, ref.losses.mse_loss_grad(y_hat, y), "mse_loss_grad",
                 {"y_hat": y_hat, "y": y},
                 mistakes={MISTAKES["mse_grad_no_2"]: (y_hat - y) / y.size,
                           MISTAKES["mse_grad_no_n"]: 2 * (y_hat - y)})


@grades("losses.sigmoid", weight=2)
@given(S.arrays(lo=-1000, hi=1000))
@example(np.array([-1000.0, -800.0, 0.0, 800.0, 1000.0]))
@example(np.zeros((2, 3)))
def test_sigmoid(sub, ref, z):
    """sigmoid matches the reference on [-1000, 1000]"""
    got = sub.losses.sigmoid(z)
    assert_unchanged(sub, "sigmoid")
    assert_close(got, ref.losses.sigmoid(z), "sigmoid", {"z": z}, atol=1e-12)


def saturated(pair):
    """Probabilities near 0 and 1 made exactly 0 and 1, where clipping matters."""
    p, y = pair
    return np.where(p < 0.1, 0.0, np.where(p > 0.9, 1.0, p)), y


PROBABILITIES = S.same_shape(2, lo=0, hi=1).map(saturated)
CERTAIN = (np.array([0.0, 1.0, 0.0, 1.0]), np.array([0.0, 1.0, 1.0, 0.0]))


@grades("losses.binary_cross_entropy", weight=2)
@given(PROBABILITIES)
@example(CERTAIN)
def test_binary_cross_entropy(sub, ref, pair):
    """binary_cross_entropy matches the reference, p at exactly 0 and 1 included"""
    p, y = pair
    got = sub.losses.binary_cross_entropy(p, y)
    assert_unchanged(sub, "binary_cross_entropy")
    q = np.clip(p, 1e-12, 1 - 1e-12)
    assert_close(got, ref.losses.binary_cross_entropy(p, y), "binary_cross_entropy",
                 {"p": p, "y": y},
                 mistakes={"sum instead of mean": np.sum(-(y * np.log(q) + (1 - y) * np.log(1 - q)))})


@grades("losses.binary_cross_entropy")
def test_binary_cross_entropy_eps(sub, ref):
    """binary_cross_entropy clips with the eps it is given"""
    p, y = np.array([0.0, 1.0, 0.5]), np.array([1.0, 0.0, 1.0])
    assert_close(sub.losses.binary_cross_entropy(p, y, eps=1e-3),
                 ref.losses.binary_cross_entropy(p, y, eps=1e-3), "binary_cross_entropy",
                 {"p": p, "y": y, "eps": 1e-3})


@grades("losses.binary_cross_entropy_grad", weight=2)
@given(PROBABILITIES)
@example(CERTAIN)
def test_binary_cross_entropy_grad(sub, ref, pair):
    """binary_cross_entropy_grad matches the reference, p at exactly 0 and 1 included"""
    p, y = pair
    got = sub.losses.binary_cross_entropy_grad(p, y)
    assert_unchanged(sub, "binary_cross_entropy_grad")
    q = np.clip(p, 1e-12, 1 - 1e-12)
    assert_close(got, ref.losses.binary_cross_entropy_grad(p, y), "binary_cross_entropy_grad",
                 {"p": p, "y": y}, mistakes={MISTAKES["bce_grad_no_n"]: (q - y) / (q * (1 - q))})


@grades("losses.softmax", weight=2)
@given(S.arrays(min_dims=1, max_dims=2, lo=-1000, hi=1000))
@example(np.array([[1000.0, -1000.0, 0.0], [0.0, 0.0, 0.0]]))
@example(np.array([5.0]))
def test_softmax(sub, ref, z):
    """softmax matches the reference along the last axis, logits of +-1000 included"""
    got = sub.losses.softmax(z)
    assert_unchanged(sub, "softmax")
    e = np.exp(z - z.max(axis=0, keepdims=True))
    assert_close(got, ref.losses.softmax(z), "softmax", {"z": z}, atol=1e-12,
                 mistakes={MISTAKES["softmax_axis0"]: e / e.sum(axis=0)})


@grades("losses.cross_entropy", weight=2)
@given(BATCHES.flatmap(lambda s: st.tuples(S.arrays(s, 0, 1), S.arrays(s, 0, 1))))
def test_cross_entropy(sub, ref, pair):
    """cross_entropy matches the reference (mean over rows), zero probabilities included"""
    p, y = pair
    p = np.where(p < 0.1, 0.0, p)
    got = sub.losses.cross_entropy(p, y)
    assert_unchanged(sub, "cross_entropy")
    per_element = -y * np.log(np.clip(p, 1e-12, 1))
    assert_close(got, ref.losses.cross_entropy(p, y), "cross_entropy", {"p": p, "y": y},
                 mistakes={MISTAKES["ce_mean_all"]:
                           per_element.mean(),
                           "sum over rows instead of the mean": per_element.sum()})


@grades("losses.softmax_cross_entropy", weight=2)
@given(BATCHES.flatmap(lambda s: st.tuples(S.arrays(s, -10, 10), S.arrays(s, 0, 1))))
def test_softmax_cross_entropy(sub, ref, pair):
    """softmax_cross_entropy matches the reference on moderate logits"""
    z, y = pair
    got = sub.losses.softmax_cross_entropy(z, y)
    assert_unchanged(sub, "softmax_cross_entropy")
    assert_close(got, ref.losses.softmax_cross_entropy(z, y), "softmax_cross_entropy",
                 {"z": z, "y": y})


@grades("losses.softmax_cross_entropy")
@given(BATCHES.flatmap(lambda s: st.tuples(S.arrays(s, -1000, 1000), S.arrays(s, 0, 1))))
@example((np.array([[1000.0, -1000.0], [-1000.0, 1000.0]]), np.array([[0.0, 1.0], [0.5, 0.5]])))
def test_softmax_cross_entropy_extreme(sub, ref, pair):
    """softmax_cross_entropy is exact for logits up to +-1000 (log-sum-exp)"""
    z, y = pair
    assert_close(sub.losses.softmax_cross_entropy(z, y), ref.losses.softmax_cross_entropy(z, y),
                 "softmax_cross_entropy", {"z": z, "y": y})


@grades("losses.softmax_cross_entropy_grad", weight=2)
@given(BATCHES.flatmap(lambda s: st.tuples(S.arrays(s, -1000, 1000), S.arrays(s, 0, 1))))
@example((np.array([[1000.0, -1000.0, 0.0]]), np.array([[0.0, 1.0, 0.0]])))
def test_softmax_cross_entropy_grad(sub, ref, pair):
    """softmax_cross_entropy_grad matches the reference"""
    z, y = pair
    got = sub.losses.softmax_cross_entropy_grad(z, y)
    assert_unchanged(sub, "softmax_cross_entropy_grad")
    want = ref.losses.softmax_cross_entropy_grad(z, y)
    assert_close(got, want, "softmax_cross_entropy_grad", {"z": z, "y": y}, atol=1e-12,
                 mistakes={MISTAKES["sce_grad_size"]: want / z.shape[1],
                           "forgot to divide by N": want * z.shape[0]})


LIST_CASES = [
    ("l1_loss", ([0.5, 2.0], [1.0, 1.0])),
    ("l1_loss_grad", ([0.5, 2.0], [1.0, 1.0])),
    ("mse_loss_grad", ([0.5, 2.0], [1.0, 1.0])),
    ("sigmoid", ([0.5, -2.0],)),
    ("binary_cross_entropy", ([0.25, 0.5], [0.0, 1.0])),
    ("binary_cross_entropy_grad", ([0.25, 0.5], [0.0, 1.0])),
    ("softmax", ([[0.5, -2.0, 1.0]],)),
    ("cross_entropy", ([[0.25, 0.75]], [[0.0, 1.0]])),
    ("softmax_cross_entropy", ([[0.5, -2.0]], [[0.0, 1.0]])),
    ("softmax_cross_entropy_grad", ([[0.5, -2.0]], [[0.0, 1.0]])),
]


@each("losses", LIST_CASES, "name, args")
def test_accepts_lists(sub, ref, name, args):
    """accepts Python lists as well as arrays"""
    got = getattr(sub.losses, name)(*args)
    want = getattr(ref.losses, name)(*args)
    params = parameter_names(getattr(ref.losses, name))
    assert_close(got, want, name, by_name(list(args), params))
