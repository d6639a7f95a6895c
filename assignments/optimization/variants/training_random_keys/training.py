"""Mini-batching, data splits, early stopping, and a logistic-regression training loop."""

import math

import numpy as np
from losses import binary_cross_entropy, sigmoid
from regularization import l2_penalty_grad


def steps_per_epoch(n_samples, batch_size):
    """``ceil(n_samples / batch_size)``; ``batch_size < 1`` raises ``ValueError``."""
    # BEGIN SOLUTION
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, got {batch_size}")
    return math.ceil(n_samples / batch_size)
    # END SOLUTION


def iterate_minibatches(X, y, batch_size, shuffle=True, seed=None):
    """Yield ``(X_batch, y_batch)`` pairs covering every row exactly once (one epoch).

    All batches have ``batch_size`` rows except possibly the last. Rows of X and
    y stay paired. ``shuffle=False`` keeps the original order; the same seed
    gives the same batches. ``batch_size < 1`` raises ``ValueError``.
    """
    # BEGIN SOLUTION
    # HINT: shuffle one index array and use it for both X and y, so rows stay paired.
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, got {batch_size}")
    X = np.asarray(X)
    y = np.asarray(y)
    order = np.arange(len(X))
    if shuffle:
        np.random.default_rng(seed).shuffle(order)  # the same order, drawn in place
    for start in range(0, len(X), batch_size):
        rows = order[start : start + batch_size]
        yield X[rows], y[rows]
    # END SOLUTION


def train_val_test_split(X, y, ratios=(0.8, 0.1, 0.1), seed=None):
    """Randomly split rows into ``(X_train, y_train, X_val, y_val, X_test, y_test)``.

    The parts are disjoint and together hold every row once; each part's size is
    within 2 of ``n * ratio``. The same seed gives the same split. Ratios that
    are negative or do not sum to 1 (within 1e-6) raise ``ValueError``.
    """
    # BEGIN SOLUTION
    # HINT: permute the row indices once, then cut the permutation into three pieces.
    ratios = tuple(float(r) for r in ratios)
    if len(ratios) != 3 or min(ratios) < 0 or abs(sum(ratios) - 1.0) > 1e-6:
        raise ValueError(f"ratios must be three non-negative numbers summing to 1, got {ratios}")
    X = np.asarray(X)
    y = np.asarray(y)
    n = len(X)
    order = np.argsort(np.random.default_rng(seed).random(n))  # random keys, sorted
    n_train = int(math.floor(n * ratios[0]))
    n_val = int(math.floor(n * ratios[1]))
    train, val, test = np.split(order, [n_train, n_train + n_val])
    return X[train], y[train], X[val], y[val], X[test], y[test]
    # END SOLUTION


class EarlyStopping:
    """Stop when the validation loss has not improved for ``patience`` epochs.

    An epoch improves when ``val_loss < best_loss - min_delta``. ``best_loss``
    starts at ``inf``; ``best_epoch`` (0-based index of the improving call)
    starts at -1.
    """

    def __init__(self, patience=5, min_delta=0.0):
        # BEGIN SOLUTION
        self.patience = patience
        self.min_delta = min_delta
        self.best_loss = math.inf
        self.best_epoch = -1
        self.epochs_seen = 0
        self.epochs_without_improvement = 0
        # END SOLUTION

    def step(self, val_loss):
        """Record one epoch's validation loss; return True when training should stop."""
        # BEGIN SOLUTION
        # HINT: count the calls yourself: best_epoch is the index of the improving call.
        if val_loss < self.best_loss - self.min_delta:
            self.best_loss = float(val_loss)
            self.best_epoch = self.epochs_seen
            self.epochs_without_improvement = 0
        else:
            self.epochs_without_improvement += 1
        self.epochs_seen += 1
        return self.epochs_without_improvement >= self.patience
        # END SOLUTION


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
    # BEGIN SOLUTION
    # HINT: for p = sigmoid(z) and mean BCE over a batch of n rows, dLoss/dz = (p - y) / n.
    X_train = np.asarray(X_train, dtype=float)
    y_train = np.asarray(y_train, dtype=float)
    X_val = np.asarray(X_val, dtype=float)
    y_val = np.asarray(y_val, dtype=float)
    n_features = X_train.shape[1]
    params = np.zeros(n_features + 1)
    train_losses, val_losses = [], []

    def full_loss(X, y):
        return binary_cross_entropy(sigmoid(X @ params[:-1] + params[-1]), y)

    for epoch in range(epochs):
        batches = iterate_minibatches(X_train, y_train, batch_size, seed=seed + epoch)
        for X_batch, y_batch in batches:
            w, b = params[:-1], params[-1]
            dz = (sigmoid(X_batch @ w + b) - y_batch) / len(y_batch)
            grad = np.append(X_batch.T @ dz + l2_penalty_grad(w, l2), dz.sum())
            params = optimizer.step(params, grad)
        train_losses.append(full_loss(X_train, y_train))
        val_losses.append(full_loss(X_val, y_val))
        if early_stopping is not None and early_stopping.step(val_losses[-1]):
            break

    if early_stopping is not None:
        best_epoch = early_stopping.best_epoch
    else:
        best_epoch = int(np.argmin(val_losses)) if val_losses else -1
    return {
        "w": params[:-1].copy(),
        "b": float(params[-1]),
        "train_losses": train_losses,
        "val_losses": val_losses,
        "best_epoch": best_epoch,
    }
    # END SOLUTION
