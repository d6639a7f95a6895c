"""Public tests for losses.py: gradient checks against finite differences, and
invariants. Each check uses the formula from the assignment's contract, never
another of your functions, so one bug costs points in one place only."""

import numpy as np
from hypothesis import example, given, settings
from hypothesis import strategies as st

from autograder.authoring import S, as_array, as_float, assert_close, fail, grades, numeric_gradient

FEW = settings(max_examples=8)


def away_from_kinks(pair):
    y_hat, y = pair
    return bool(np.all(np.abs(y_hat - y) > 1e-3))


@grades("losses.l1_loss_grad")
@FEW
@given(S.same_shape(2).filter(away_from_kinks))
def test_l1_grad_matches_finite_differences(sub, pair):
    """l1_loss_grad matches finite differences of mean(abs(y_hat - y))"""
    y_hat, y = pair
    numeric = numeric_gradient(lambda v: np.mean(np.abs(v - y)), y_hat)
    assert_close(sub.losses.l1_loss_grad(y_hat, y), numeric, "l1_loss_grad",
                 {"y_hat": y_hat, "y": y}, rtol=1e-4, atol=1e-6)


@grades("losses.l1_loss_grad")
def test_l1_grad_is_zero_where_prediction_is_exact(sub):
    """l1_loss_grad uses sign(0) == 0"""
    y = np.array([1.0, -2.0, 0.5])
    assert_close(sub.losses.l1_loss_grad(y.copy(), y), np.zeros(3), "l1_loss_grad",
                 {"y_hat": y, "y": y})


@grades("losses.mse_loss_grad")
@FEW
@given(S.same_shape(2))
def test_mse_grad_matches_finite_differences(sub, pair):
    """mse_loss_grad matches finite differences of mean((y_hat - y)**2)"""
    y_hat, y = pair
    numeric = numeric_gradient(lambda v: np.mean((v - y) ** 2), y_hat)
    assert_close(sub.losses.mse_loss_grad(y_hat, y), numeric, "mse_loss_grad",
                 {"y_hat": y_hat, "y": y}, rtol=1e-4, atol=1e-6)


@grades("losses.binary_cross_entropy_grad")
@FEW
@given(S.same_shape(2, lo=0.05, hi=0.95))
def test_bce_grad_matches_finite_differences(sub, pair):
    """binary_cross_entropy_grad matches finite differences of the loss"""
    p, y = pair

    def bce(q):
        return np.mean(-(y * np.log(q) + (1 - y) * np.log(1 - q)))

    assert_close(sub.losses.binary_cross_entropy_grad(p, y), numeric_gradient(bce, p),
                 "binary_cross_entropy_grad", {"p": p, "y": y}, rtol=1e-4, atol=1e-6)


@grades("losses.softmax_cross_entropy_grad")
@FEW
@given(S.arrays(shape=st.tuples(st.integers(1, 4), st.integers(2, 4)), lo=-5, hi=5),
       st.randoms(use_true_random=False))
def test_softmax_ce_grad_matches_finite_differences(sub, z, random):
    """softmax_cross_entropy_grad matches finite differences of the loss"""
    y = np.eye(z.shape[1])[[random.randrange(z.shape[1]) for _ in range(z.shape[0])]]

    def loss(logits):
        shifted = logits - logits.max(axis=1, keepdims=True)
        log_p = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
        return -np.mean(np.sum(y * log_p, axis=1))

    assert_close(sub.losses.softmax_cross_entropy_grad(z, y), numeric_gradient(loss, z),
                 "softmax_cross_entropy_grad", {"z": z, "y": y}, rtol=1e-4, atol=1e-6)


@grades("losses.softmax")
@given(S.arrays(min_dims=1, max_dims=2, lo=-1000, hi=1000))
@example(np.array([[1000.0, 0.0, -1000.0], [3.0, 3.0, 3.0]]))
@example(np.array([-1000.0]))
def test_softmax_rows_are_distributions(sub, z):
    """softmax returns positive rows that sum to 1, even for logits of +-1000"""
    p = as_array(sub.losses.softmax(z), "softmax")
    if p.shape != z.shape:
        fail(f"softmax(z) with z of shape {z.shape} returned shape {p.shape}")
    if not np.all(np.isfinite(p)):
        fail(f"softmax({z!r}) contains NaN or inf: subtract the row maximum first")
    assert_close(p.sum(axis=-1), np.ones(z.shape[:-1]), "softmax(z).sum(axis=-1)", {"z": z})
    if np.any(p < 0):
        fail(f"softmax({z!r}) has negative entries")


@grades("losses.sigmoid")
@given(S.arrays(lo=-50, hi=50))
def test_sigmoid_is_symmetric(sub, z):
    """sigmoid(-z) == 1 - sigmoid(z), values in [0, 1]"""
    s_pos = as_array(sub.losses.sigmoid(z), "sigmoid")
    s_neg = as_array(sub.losses.sigmoid(-z), "sigmoid")
    assert_close(s_pos + s_neg, np.ones_like(z), "sigmoid(z) + sigmoid(-z)", {"z": z})
    if np.any(s_pos < 0) or np.any(s_pos > 1):
        fail(f"sigmoid({z!r}) left [0, 1]: {s_pos}")


@grades("losses.sigmoid")
def test_sigmoid_is_stable_at_extremes(sub):
    """sigmoid(+-1000) gives 1 and 0 without an overflow warning"""
    z = np.array([-1000.0, -745.0, 0.0, 745.0, 1000.0])
    result = sub.losses.sigmoid(z)
    warned = [w for w in sub.last_call.get("warnings", []) if "overflow" in w]
    assert_close(result, [0.0, 0.0, 0.5, 1.0, 1.0], "sigmoid", {"z": z}, atol=1e-12)
    if warned:
        fail(f"sigmoid({z}) warned: {warned[0]}. exp(-z) overflows for very negative z: "
             "compute the negative and positive halves separately, or use np.logaddexp.")


@grades("losses.softmax_cross_entropy")
def test_softmax_ce_is_finite_at_extreme_logits(sub):
    """softmax_cross_entropy is finite and exact for logits of +-1000"""
    z = np.array([[1000.0, -1000.0], [-1000.0, 1000.0]])
    y = np.array([[0.0, 1.0], [0.0, 1.0]])
    got = as_float(sub.losses.softmax_cross_entropy(z, y), "softmax_cross_entropy")
    assert_close(got, 1000.0, "softmax_cross_entropy", {"z": z, "y": y},
                 mistakes={"cross_entropy(softmax(z)) with clipping instead of log-sum-exp":
                           0.5 * -np.log(1e-12)})
