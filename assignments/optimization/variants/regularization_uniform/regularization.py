"""L1/L2 penalties and (inverted) dropout."""

import numpy as np


def l1_penalty(w, lam):
    """``lam * sum(abs(w))``."""
    # BEGIN SOLUTION
    return float(lam * np.sum(np.abs(np.asarray(w, dtype=float))))
    # END SOLUTION


def l1_penalty_grad(w, lam):
    """Subgradient of ``l1_penalty``: ``lam * sign(w)`` (with ``sign(0) == 0``)."""
    # BEGIN SOLUTION
    return lam * np.sign(np.asarray(w, dtype=float))
    # END SOLUTION


def l2_penalty(w, lam):
    """``lam * sum(w ** 2)`` (no 1/2 factor)."""
    # BEGIN SOLUTION
    return float(lam * np.sum(np.asarray(w, dtype=float) ** 2))
    # END SOLUTION


def l2_penalty_grad(w, lam):
    """Gradient of ``l2_penalty``: ``2 * lam * w``."""
    # BEGIN SOLUTION
    return 2.0 * lam * np.asarray(w, dtype=float)
    # END SOLUTION


def dropout(x, p, training=True, rng=None):
    """Inverted dropout. ``p`` is the probability of DROPPING an element.

    Each element independently becomes 0 with probability p; survivors are
    scaled by ``1/(1-p)`` so the expected value is unchanged. ``training=False``
    or ``p == 0`` returns x unchanged; ``p == 1`` returns zeros; p outside
    [0, 1] raises ``ValueError``. ``rng`` is a ``numpy.random.Generator``;
    None means a fresh ``numpy.random.default_rng()``.
    """
    # BEGIN SOLUTION
    # HINT: check p first, then the cases that draw no random numbers. Then draw one
    # HINT: uniform number per element (rng.random) and keep the entries where it is >= p.
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout probability p must be in [0, 1], got {p}")
    x = np.asarray(x, dtype=float)
    if not training or p == 0:
        return x.copy()
    if p == 1:
        return np.zeros_like(x)
    rng = np.random.default_rng() if rng is None else rng
    mask = rng.uniform(0.0, 1.0, size=x.shape) > p
    return x * mask.astype(float) / (1.0 - p)
    # END SOLUTION
