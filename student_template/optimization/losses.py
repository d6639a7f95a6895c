"""Loss functions and their gradients (lecture: losses recap).

Every loss reduces with the MEAN over all elements (cross entropy: the mean over
the N rows of a batch). Every gradient has the shape of the argument it
differentiates with respect to. Inputs may be lists: convert them with
``np.asarray(x, dtype=float)`` first, and never modify them in place.
"""

import numpy as np


def l1_loss(y_hat, y):
    """Mean absolute error: ``mean(abs(y_hat - y))``.

    Example: ``l1_loss([1.0, 2.0], [0.0, 4.0]) == 1.5``.
    """
    # Hint: convert both inputs to float arrays, then take the mean of the absolute difference.
    raise NotImplementedError("TODO: implement l1_loss")


def l1_loss_grad(y_hat, y):
    """Gradient of ``l1_loss`` w.r.t. ``y_hat``: ``sign(y_hat - y) / n`` with ``n = y_hat.size``.

    Use ``sign(0) == 0``. The result has the shape of ``y_hat``.
    """
    # Hint: np.sign already maps 0 to 0; remember to divide by the number of elements.
    raise NotImplementedError("TODO: implement l1_loss_grad")


def mse_loss(y_hat, y):
    """Mean squared error: ``mean((y_hat - y) ** 2)``."""
    # Hint: the mean over ALL elements, not the sum.
    raise NotImplementedError("TODO: implement mse_loss")


def mse_loss_grad(y_hat, y):
    """Gradient of ``mse_loss`` w.r.t. ``y_hat``: ``2 * (y_hat - y) / n``, ``n = y_hat.size``."""
    # Hint: differentiate the mean: the factor 2 comes from the square, 1/n from the mean.
    raise NotImplementedError("TODO: implement mse_loss_grad")


def sigmoid(z):
    """Logistic function ``1 / (1 + exp(-z))``, elementwise.

    Must not warn about overflow or return NaN for any finite z, including
    z = -1000 and z = 1000 (there the answers are 0.0 and 1.0).
    """
    # Hint: exp(-z) overflows for very negative z. Either treat z >= 0 and z < 0
    # Hint: separately, or use np.logaddexp(0, -z), which is log(1 + exp(-z)) computed safely.
    raise NotImplementedError("TODO: implement sigmoid")


def binary_cross_entropy(p, y, eps=1e-12):
    """Mean binary cross entropy ``mean(-(y*log(q) + (1-y)*log(1-q)))``, ``q = clip(p, eps, 1-eps)``.

    Clipping keeps log() finite when a probability is exactly 0 or 1.
    """
    # Hint: clip first (np.clip), then apply the formula and take the mean.
    raise NotImplementedError("TODO: implement binary_cross_entropy")


def binary_cross_entropy_grad(p, y, eps=1e-12):
    """Gradient of ``binary_cross_entropy`` w.r.t. ``p``: ``(q - y) / (q * (1 - q)) / n``.

    ``q = clip(p, eps, 1-eps)`` as in the loss, ``n = p.size``.
    """
    # Hint: use the same clipped q as the loss; do not forget the 1/n of the mean.
    raise NotImplementedError("TODO: implement binary_cross_entropy_grad")


def softmax(z):
    """Softmax along the LAST axis; every row sums to 1.

    Stable for any finite z, rows of +-1000 included: subtracting the row's
    maximum first does not change the result.
    """
    # Hint: subtract z.max(axis=-1, keepdims=True) before exponentiating.
    raise NotImplementedError("TODO: implement softmax")


def cross_entropy(p, y, eps=1e-12):
    """Mean over rows of ``-sum_c y * log(clip(p, eps, 1))``.

    p: (N, C) probabilities; y: (N, C) one-hot or soft labels.
    """
    # Hint: sum over the classes (last axis) first, then average over the N rows.
    raise NotImplementedError("TODO: implement cross_entropy")


def softmax_cross_entropy(z, y):
    """``cross_entropy(softmax(z), y)`` computed stably from logits z (N, C).

    Use log-sum-exp: ``log softmax(z) = z - logsumexp(z)``. The result must be
    finite (and exact) for rows of +-1000.
    """
    # Hint: logsumexp(z) = m + log(sum(exp(z - m))) with m the row maximum.
    raise NotImplementedError("TODO: implement softmax_cross_entropy")


def softmax_cross_entropy_grad(z, y):
    """Gradient of ``softmax_cross_entropy`` w.r.t. the logits z: ``(softmax(z) - y) / N``."""
    # Hint: N is the number of rows (z.shape[0]), not the number of elements.
    raise NotImplementedError("TODO: implement softmax_cross_entropy_grad")
