"""A residual (skip-connection) block: ``out = x + relu(x @ W + b)``."""

import numpy as np


def relu(z):
    return np.maximum(z, 0)


def residual_forward(x, W, b):
    """x: (N, D), W: (D, D), b: (D,). Returns ``x + relu(x @ W + b)``."""
    # BEGIN SOLUTION
    x = np.asarray(x, dtype=float)
    return x + np.maximum(x @ np.asarray(W, dtype=float) + np.asarray(b, dtype=float), 0.0)
    # END SOLUTION


def residual_backward(dout, x, W, b):
    """Gradients ``(dx, dW, db)`` of ``sum(dout * residual_forward(x, W, b))``.

    At ``x @ W + b == 0`` the ReLU derivative is 0.
    """
    # BEGIN SOLUTION
    # HINT: the skip path passes dout straight through to dx; the ReLU path
    # HINT: only where x @ W + b > 0.
    dout = np.asarray(dout, dtype=float)
    x = np.asarray(x, dtype=float)
    W = np.asarray(W, dtype=float)
    dz = dout * (x @ W + np.asarray(b, dtype=float) > 0)
    dx = dout + dz @ W.T
    dW = x.T @ dz
    db = dz.sum(axis=0)
    return dx, dW, db
    # END SOLUTION
