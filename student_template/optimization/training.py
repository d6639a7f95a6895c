"""Mini-batching, data splits, early stopping, and a logistic-regression training loop."""

import math

import numpy as np
from losses import binary_cross_entropy, sigmoid
from regularization import l2_penalty_grad


def steps_per_epoch(n_samples, batch_size):
    """``ceil(n_samples / batch_size)``; ``batch_size < 1`` raises ``ValueError``."""
    raise NotImplementedError("TODO: implement steps_per_epoch")


def iterate_minibatches(X, y, batch_size, shuffle=True, seed=None):
    """Yield ``(X_batch, y_batch)`` pairs covering every row exactly once (one epoch).

    All batches have ``batch_size`` rows except possibly the last. Rows of X and
    y stay paired. ``shuffle=False`` keeps the original order; the same seed
    gives the same batches. ``batch_size < 1`` raises ``ValueError``.
    """
    # Hint: shuffle one index array and use it for both X and y, so rows stay paired.
    raise NotImplementedError("TODO: implement iterate_minibatches")


def train_val_test_split(X, y, ratios=(0.8, 0.1, 0.1), seed=None):
    """Randomly split rows into ``(X_train, y_train, X_val, y_val, X_test, y_test)``.

    The parts are disjoint and together hold every row once; each part's size is
    within 2 of ``n * ratio``. The same seed gives the same split. Ratios that
    are negative or do not sum to 1 (within 1e-6) raise ``ValueError``.
    """
    # Hint: permute the row indices once, then cut the permutation into three pieces.
    raise NotImplementedError("TODO: implement train_val_test_split")


class EarlyStopping:
    """Stop when the validation loss has not improved for ``patience`` epochs.

    An epoch improves when ``val_loss < best_loss - min_delta``. ``best_loss``
    starts at ``inf``; ``best_epoch`` (0-based index of the improving call)
    starts at -1.
    """

    def __init__(self, patience=5, min_delta=0.0):
        raise NotImplementedError("TODO: implement EarlyStopping.__init__")

    def step(self, val_loss):
        """Record one epoch's validation loss; return True when training should stop."""
        # Hint: count the calls yourself: best_epoch is the index of the improving call.
        raise NotImplementedError("TODO: implement EarlyStopping.step")


def train_logistic_regression(
    X_train,
    y_train,
    X_val,
    y_val,
    optimizer,
    epochs=100,
    batch_size=32,
    l2=0.0,
    early_stopping=None,
    seed=0,
):
    """Mini-batch training of ``p = sigmoid(X @ w + b)`` with BCE + ``l2_penalty(w, l2)``.

    w and b start at zero; ``optimizer.step`` updates the concatenated vector
    ``[w, b]`` once per mini-batch (b is not penalized). After each epoch the
    full-set training and validation BCE (unpenalized) are recorded; training
    stops early when ``early_stopping.step(val_loss)`` returns True.

    Returns ``{"w", "b", "train_losses", "val_losses", "best_epoch"}``.
    """
    # Hint: for p = sigmoid(z) and mean BCE over a batch of n rows, dLoss/dz = (p - y) / n.
    raise NotImplementedError("TODO: implement train_logistic_regression")
