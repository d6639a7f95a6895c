"""Gradient descent and the adaptive optimizers of the lecture.

Every optimizer keeps its own state for ONE parameter array, starts that state
at zero, reads ``self.lr`` at every step (a schedule may change it between
steps) and has ``step(w, grad) -> new_w``, which changes neither argument.
"""

import numpy as np


def gd_step(w, grad, lr):
    """One plain gradient-descent step: ``w - lr * grad``."""
    # BEGIN SOLUTION
    # HINT: return a NEW array; do not use -= on w.
    return np.asarray(w, dtype=float) - lr * np.asarray(grad, dtype=float)
    # END SOLUTION


class GradientDescent:
    """Plain gradient descent: ``w - lr * g``."""

    def __init__(self, lr=0.01):
        # BEGIN SOLUTION
        self.lr = lr
        # END SOLUTION

    def step(self, w, grad):
        """Return the updated parameters."""
        # BEGIN SOLUTION
        # HINT: read self.lr here, at every step.
        return gd_step(w, grad, self.lr)
        # END SOLUTION


class Momentum:
    """Gradient descent with momentum: ``v = momentum*v + g``; ``w - lr*v``."""

    def __init__(self, lr=0.01, momentum=0.9):
        # BEGIN SOLUTION
        # HINT: v starts at zero; create it at the first step, when the shape of w is known.
        self.lr = lr
        self.momentum = momentum
        self.v = None
        # END SOLUTION

    def step(self, w, grad):
        """Return the updated parameters."""
        # BEGIN SOLUTION
        g = np.asarray(grad, dtype=float)
        if self.v is None:
            self.v = np.zeros_like(g)
        self.v *= self.momentum
        self.v += g
        return np.array(w, dtype=float) - self.lr * self.v
        # END SOLUTION


class AdaGrad:
    """AdaGrad: ``G = G + g**2``; ``w - lr*g/(sqrt(G) + eps)``."""

    def __init__(self, lr=0.01, eps=1e-8):
        # BEGIN SOLUTION
        self.lr = lr
        self.eps = eps
        self.G = None
        # END SOLUTION

    def step(self, w, grad):
        """Return the updated parameters."""
        # BEGIN SOLUTION
        # HINT: eps goes OUTSIDE the square root.
        g = np.asarray(grad, dtype=float)
        if self.G is None:
            self.G = np.zeros_like(g)
        self.G = self.G + g**2
        return np.asarray(w, dtype=float) - self.lr * g / (np.sqrt(self.G) + self.eps)
        # END SOLUTION


class RMSProp:
    """RMSProp: ``s = decay*s + (1-decay)*g**2``; ``w - lr*g/(sqrt(s) + eps)``."""

    def __init__(self, lr=0.01, decay=0.9, eps=1e-8):
        # BEGIN SOLUTION
        self.lr = lr
        self.decay = decay
        self.eps = eps
        self.s = None
        # END SOLUTION

    def step(self, w, grad):
        """Return the updated parameters."""
        # BEGIN SOLUTION
        # HINT: s is a moving average of g**2, not a running sum (that would be AdaGrad).
        g = np.asarray(grad, dtype=float)
        if self.s is None:
            self.s = np.zeros_like(g)
        self.s = self.decay * self.s + (1.0 - self.decay) * g**2
        return np.asarray(w, dtype=float) - self.lr * g / (np.sqrt(self.s) + self.eps)
        # END SOLUTION


class Adam:
    """Adam with bias correction.

    ``m = beta1*m + (1-beta1)*g``; ``v = beta2*v + (1-beta2)*g**2``;
    ``m_hat = m/(1-beta1**t)``; ``v_hat = v/(1-beta2**t)``;
    ``w - lr*m_hat/(sqrt(v_hat) + eps)``, with ``t`` counting steps from 1.
    """

    def __init__(self, lr=0.001, beta1=0.9, beta2=0.999, eps=1e-8):
        # BEGIN SOLUTION
        self.lr = lr
        self.beta1 = beta1
        self.beta2 = beta2
        self.eps = eps
        self.m = None
        self.v = None
        self.t = 0
        # END SOLUTION

    def step(self, w, grad):
        """Return the updated parameters."""
        # BEGIN SOLUTION
        # HINT: increment t BEFORE computing the bias corrections, so the first step uses t = 1.
        g = np.asarray(grad, dtype=float)
        if self.m is None:
            self.m = np.zeros_like(g)
            self.v = np.zeros_like(g)
        self.t += 1
        self.m = self.beta1 * self.m + (1.0 - self.beta1) * g
        self.v = self.beta2 * self.v + (1.0 - self.beta2) * np.square(g)
        m_hat = self.m / (1.0 - pow(self.beta1, self.t))
        v_hat = self.v / (1.0 - pow(self.beta2, self.t))
        return np.asarray(w, dtype=float) - self.lr * m_hat / (np.sqrt(v_hat) + self.eps)
        # END SOLUTION


def minimize(grad_fn, w0, optimizer, tol=1e-6, max_steps=10_000):
    """Repeat until convergence; return ``(w, n_steps)``.

    Starting from ``w = w0``: before each step, stop if ``norm(grad_fn(w)) <= tol``
    (Euclidean norm of the flattened gradient); otherwise
    ``w = optimizer.step(w, grad_fn(w))``. At most ``max_steps`` steps. Does not
    modify ``w0``.
    """
    # BEGIN SOLUTION
    # HINT: check the stopping rule BEFORE each step, so a w0 that is already
    # HINT: optimal returns (w0, 0).
    w = np.copy(w0).astype(float)
    for n_steps in range(max_steps + 1):
        if np.sqrt(np.sum(np.asarray(grad_fn(w)) ** 2)) <= tol or n_steps == max_steps:
            return w, n_steps
        w = optimizer.step(w, grad_fn(w))
    return w, max_steps
    # END SOLUTION
