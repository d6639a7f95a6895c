"""Gradient descent and the adaptive optimizers of the lecture.

Every optimizer keeps its own state for ONE parameter array, starts that state
at zero, reads ``self.lr`` at every step (a schedule may change it between
steps) and has ``step(w, grad) -> new_w``, which changes neither argument.
"""

import numpy as np


def gd_step(w, grad, lr):
    """One plain gradient-descent step: ``w - lr * grad``."""
    # Hint: return a NEW array; do not use -= on w.
    raise NotImplementedError("TODO: implement gd_step")


class GradientDescent:
    """Plain gradient descent: ``w - lr * g``."""

    def __init__(self, lr=0.01):
        raise NotImplementedError("TODO: implement GradientDescent.__init__")

    def step(self, w, grad):
        """Return the updated parameters."""
        # Hint: read self.lr here, at every step.
        raise NotImplementedError("TODO: implement GradientDescent.step")


class Momentum:
    """Gradient descent with momentum: ``v = momentum*v + g``; ``w - lr*v``."""

    def __init__(self, lr=0.01, momentum=0.9):
        # Hint: v starts at zero; create it at the first step, when the shape of w is known.
        raise NotImplementedError("TODO: implement Momentum.__init__")

    def step(self, w, grad):
        """Return the updated parameters."""
        raise NotImplementedError("TODO: implement Momentum.step")


class AdaGrad:
    """AdaGrad: ``G = G + g**2``; ``w - lr*g/(sqrt(G) + eps)``."""

    def __init__(self, lr=0.01, eps=1e-8):
        raise NotImplementedError("TODO: implement AdaGrad.__init__")

    def step(self, w, grad):
        """Return the updated parameters."""
        # Hint: eps goes OUTSIDE the square root.
        raise NotImplementedError("TODO: implement AdaGrad.step")


class RMSProp:
    """RMSProp: ``s = decay*s + (1-decay)*g**2``; ``w - lr*g/(sqrt(s) + eps)``."""

    def __init__(self, lr=0.01, decay=0.9, eps=1e-8):
        raise NotImplementedError("TODO: implement RMSProp.__init__")

    def step(self, w, grad):
        """Return the updated parameters."""
        # Hint: s is a moving average of g**2, not a running sum (that would be AdaGrad).
        raise NotImplementedError("TODO: implement RMSProp.step")


class Adam:
    """Adam with bias correction.

    ``m = beta1*m + (1-beta1)*g``; ``v = beta2*v + (1-beta2)*g**2``;
    ``m_hat = m/(1-beta1**t)``; ``v_hat = v/(1-beta2**t)``;
    ``w - lr*m_hat/(sqrt(v_hat) + eps)``, with ``t`` counting steps from 1.
    """

    def __init__(self, lr=0.001, beta1=0.9, beta2=0.999, eps=1e-8):
        raise NotImplementedError("TODO: implement Adam.__init__")

    def step(self, w, grad):
        """Return the updated parameters."""
        # Hint: increment t BEFORE computing the bias corrections, so the first step uses t = 1.
        raise NotImplementedError("TODO: implement Adam.step")


def minimize(grad_fn, w0, optimizer, tol=1e-6, max_steps=10_000):
    """Repeat until convergence; return ``(w, n_steps)``.

    Starting from ``w = w0``: before each step, stop if ``norm(grad_fn(w)) <= tol``
    (Euclidean norm of the flattened gradient); otherwise
    ``w = optimizer.step(w, grad_fn(w))``. At most ``max_steps`` steps. Does not
    modify ``w0``.
    """
    # Hint: check the stopping rule BEFORE each step, so a w0 that is already
    # Hint: optimal returns (w0, 0).
    raise NotImplementedError("TODO: implement minimize")
