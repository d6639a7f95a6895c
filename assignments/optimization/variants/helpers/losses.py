"""Loss functions and their gradients (lecture: losses recap).

Every loss reduces with the MEAN over all elements (cross entropy: the mean over
the N rows of a batch). Every gradient has the shape of the argument it
differentiates with respect to. Inputs may be lists: convert them with
``np.asarray(x, dtype=float)`` first, and never modify them in place.
"""

import numpy as np

EPS = 1e-12


def _as_float(a):
    return np.asarray(a, dtype=np.float64)


def l1_loss(y_hat, y):
    """Mean absolute error: ``mean(abs(y_hat - y))``.

    Example: ``l1_loss([1.0, 2.0], [0.0, 4.0]) == 1.5``.
    """
    # BEGIN SOLUTION
    # HINT: convert both inputs to float arrays, then take the mean of the absolute difference.
    diff = np.asarray(y_hat, dtype=float) - np.asarray(y, dtype=float)
    return float(np.mean(np.abs(diff)))
    # END SOLUTION


def l1_loss_grad(y_hat, y):
    """Gradient of ``l1_loss`` w.r.t. ``y_hat``: ``sign(y_hat - y) / n`` with ``n = y_hat.size``.

    Use ``sign(0) == 0``. The result has the shape of ``y_hat``.
    """
    # BEGIN SOLUTION
    # HINT: np.sign already maps 0 to 0; remember to divide by the number of elements.
    y_hat = np.asarray(y_hat, dtype=float)
    return np.sign(y_hat - np.asarray(y, dtype=float)) / y_hat.size
    # END SOLUTION


def mse_loss(y_hat, y):
    """Mean squared error: ``mean((y_hat - y) ** 2)``."""
    # BEGIN SOLUTION
    # HINT: the mean over ALL elements, not the sum.
    diff = _as_float(y_hat) - _as_float(y)
    return float(np.mean(diff**2))
    # END SOLUTION


def mse_loss_grad(y_hat, y):
    """Gradient of ``mse_loss`` w.r.t. ``y_hat``: ``2 * (y_hat - y) / n``, ``n = y_hat.size``."""
    # BEGIN SOLUTION
    # HINT: differentiate the mean: the factor 2 comes from the square, 1/n from the mean.
    y_hat = np.asarray(y_hat, dtype=float)
    return 2.0 * (y_hat - np.asarray(y, dtype=float)) / y_hat.size
    # END SOLUTION


def sigmoid(z):
    """Logistic function ``1 / (1 + exp(-z))``, elementwise.

    Must not warn about overflow or return NaN for any finite z, including
    z = -1000 and z = 1000 (there the answers are 0.0 and 1.0).
    """
    # BEGIN SOLUTION
    # HINT: exp(-z) overflows for very negative z. Either treat z >= 0 and z < 0
    # HINT: separately, or use np.logaddexp(0, -z), which is log(1 + exp(-z)) computed safely.
    z = np.asarray(z, dtype=float)
    # sigmoid(z) = exp(-log(1 + exp(-z))); logaddexp never overflows, and exp of a
    # very negative number underflows quietly to 0.
    return np.exp(-np.logaddexp(0.0, -z))
    # END SOLUTION


def binary_cross_entropy(p, y, eps=1e-12):
    """Mean binary cross entropy ``mean(-(y*log(q) + (1-y)*log(1-q)))``, ``q = clip(p, eps, 1-eps)``.

    Clipping keeps log() finite when a probability is exactly 0 or 1.
    """
    # BEGIN SOLUTION
    # HINT: clip first (np.clip), then apply the formula and take the mean.
    q = np.clip(np.asarray(p, dtype=float), eps, 1.0 - eps)
    y = np.asarray(y, dtype=float)
    return float(np.mean(-(y * np.log(q) + (1.0 - y) * np.log(1.0 - q))))
    # END SOLUTION


def binary_cross_entropy_grad(p, y, eps=1e-12):
    """Gradient of ``binary_cross_entropy`` w.r.t. ``p``: ``(q - y) / (q * (1 - q)) / n``.

    ``q = clip(p, eps, 1-eps)`` as in the loss, ``n = p.size``.
    """
    # BEGIN SOLUTION
    # HINT: use the same clipped q as the loss; do not forget the 1/n of the mean.
    p = np.asarray(p, dtype=float)
    q = np.clip(p, eps, 1.0 - eps)
    return (q - np.asarray(y, dtype=float)) / (q * (1.0 - q)) / p.size
    # END SOLUTION


def softmax(z):
    """Softmax along the LAST axis; every row sums to 1.

    Stable for any finite z, rows of +-1000 included: subtracting the row's
    maximum first does not change the result.
    """
    # BEGIN SOLUTION
    # HINT: subtract z.max(axis=-1, keepdims=True) before exponentiating.
    z = np.asarray(z, dtype=float)
    e = np.exp(z - np.max(z, axis=-1, keepdims=True))
    return e / np.sum(e, axis=-1, keepdims=True)
    # END SOLUTION


def cross_entropy(p, y, eps=1e-12):
    """Mean over rows of ``-sum_c y * log(clip(p, eps, 1))``.

    p: (N, C) probabilities; y: (N, C) one-hot or soft labels.
    """
    # BEGIN SOLUTION
    # HINT: sum over the classes (last axis) first, then average over the N rows.
    q = np.clip(np.asarray(p, dtype=float), eps, 1.0)
    per_row = -np.sum(np.asarray(y, dtype=float) * np.log(q), axis=-1)
    return float(np.mean(per_row))
    # END SOLUTION


def softmax_cross_entropy(z, y):
    """``cross_entropy(softmax(z), y)`` computed stably from logits z (N, C).

    Use log-sum-exp: ``log softmax(z) = z - logsumexp(z)``. The result must be
    finite (and exact) for rows of +-1000.
    """
    # BEGIN SOLUTION
    # HINT: logsumexp(z) = m + log(sum(exp(z - m))) with m the row maximum.
    z = np.asarray(z, dtype=float)
    m = np.max(z, axis=-1, keepdims=True)
    log_probs = z - (m + np.log(np.sum(np.exp(z - m), axis=-1, keepdims=True)))
    per_row = -np.sum(np.asarray(y, dtype=float) * log_probs, axis=-1)
    return float(np.mean(per_row))
    # END SOLUTION


def softmax_cross_entropy_grad(z, y):
    """Gradient of ``softmax_cross_entropy`` w.r.t. the logits z: ``(softmax(z) - y) / N``."""
    # BEGIN SOLUTION
    # HINT: N is the number of rows (z.shape[0]), not the number of elements.
    z = np.asarray(z, dtype=float)
    n_rows = z.shape[0] if z.ndim > 1 else 1
    return (softmax(z) - np.asarray(y, dtype=float)) / n_rows
    # END SOLUTION
