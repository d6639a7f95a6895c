"""L1/L2 penalties and (inverted) dropout."""

import numpy as np


def l1_penalty(w, lam):
    """``lam * sum(abs(w))``."""
    raise NotImplementedError("TODO: implement l1_penalty")


def l1_penalty_grad(w, lam):
    """Subgradient of ``l1_penalty``: ``lam * sign(w)`` (with ``sign(0) == 0``)."""
    raise NotImplementedError("TODO: implement l1_penalty_grad")


def l2_penalty(w, lam):
    """``lam * sum(w ** 2)`` (no 1/2 factor)."""
    raise NotImplementedError("TODO: implement l2_penalty")


def l2_penalty_grad(w, lam):
    """Gradient of ``l2_penalty``: ``2 * lam * w``."""
    raise NotImplementedError("TODO: implement l2_penalty_grad")


def dropout(x, p, training=True, rng=None):
    """Inverted dropout. ``p`` is the probability of DROPPING an element.

    Each element independently becomes 0 with probability p; survivors are
    scaled by ``1/(1-p)`` so the expected value is unchanged. ``training=False``
    or ``p == 0`` returns x unchanged; ``p == 1`` returns zeros; p outside
    [0, 1] raises ``ValueError``. ``rng`` is a ``numpy.random.Generator``;
    None means a fresh ``numpy.random.default_rng()``.
    """
    # Hint: check p first, then the cases that draw no random numbers. Then draw one
    # Hint: uniform number per element (rng.random) and keep the entries where it is >= p.
    raise NotImplementedError("TODO: implement dropout")
