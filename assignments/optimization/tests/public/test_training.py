"""Public tests for training.py: mini-batches, splits and the training loop."""

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from autograder.authoring import as_array, classic_mistakes, expect_error, fail, grades

MISTAKES = classic_mistakes(__file__)


def batches_of(sub, n, batch_size, **kwargs):
    X = np.arange(n, dtype=float).reshape(n, 1)
    y = np.arange(n, dtype=float) * 10
    result = sub.training.iterate_minibatches(X, y, batch_size, **kwargs)
    return [(as_array(xb, "X_batch"), as_array(yb, "y_batch")) for xb, yb in result]


@grades("training.iterate_minibatches", weight=2)
@given(st.integers(1, 40), st.integers(1, 12), st.integers(0, 1000))
def test_minibatches_cover_every_row_once(sub, n, batch_size, seed):
    """iterate_minibatches: every row once, rows paired, full batches except the last"""
    batches = batches_of(sub, n, batch_size, shuffle=True, seed=seed)
    rows = np.concatenate([xb.ravel() for xb, _ in batches]) if batches else np.array([])
    if sorted(rows.tolist()) != list(range(n)):
        fail(f"with n={n}, batch_size={batch_size}: the batches hold rows {rows.tolist()}, "
             "not every row exactly once")
    for xb, yb in batches:
        if not np.array_equal(yb, xb.ravel() * 10):
            fail(f"with n={n}, batch_size={batch_size}, seed={seed}: X_batch rows "
                 f"{xb.ravel().tolist()} came with y_batch {yb.tolist()}",
                 MISTAKES["minibatch_unpaired"])
    sizes = [len(xb) for xb, _ in batches]
    if any(s != batch_size for s in sizes[:-1]) or not 0 < sizes[-1] <= batch_size:
        fail(f"n={n}, batch_size={batch_size}: batch sizes {sizes}")


@grades("training.iterate_minibatches")
def test_minibatches_seeded_shuffle(sub):
    """iterate_minibatches: the same seed gives the same batches (seed 0 too), shuffle=True shuffles"""
    for seed in (0, 3):
        first = batches_of(sub, 50, 50, shuffle=True, seed=seed)[0][0].ravel()
        again = batches_of(sub, 50, 50, shuffle=True, seed=seed)[0][0].ravel()
        if not np.array_equal(first, again):
            fail(f"two calls with seed={seed} gave different orders"
                 + (" (is seed=0 treated as no seed? test `seed is None`)" if seed == 0 else ""))
    if np.array_equal(first, np.arange(50)):
        fail("shuffle=True (the default) left the rows in their original order")


@grades("training.train_val_test_split", weight=2)
@given(st.integers(10, 200), st.integers(0, 1000))
def test_split_is_a_partition(sub, n, seed):
    """train_val_test_split: disjoint parts with every row once, sizes near n * ratio"""
    X = np.arange(n, dtype=float).reshape(n, 1)
    y = np.arange(n, dtype=float)
    parts = sub.training.train_val_test_split(X, y, seed=seed)
    if not isinstance(parts, (tuple, list)) or len(parts) != 6:
        fail("train_val_test_split should return 6 arrays")
    parts = [as_array(p, "train_val_test_split") for p in parts]
    rows = np.concatenate([parts[0].ravel(), parts[2].ravel(), parts[4].ravel()])
    if sorted(rows.tolist()) != list(range(n)):
        fail(f"n={n}: the three parts are not disjoint or miss rows")
    for k, ratio in zip((0, 2, 4), (0.8, 0.1, 0.1)):
        if not np.array_equal(parts[k].ravel(), parts[k + 1]):
            fail("rows of X and y are no longer paired")
        if abs(len(parts[k]) - n * ratio) >= 2:
            fail(f"n={n}: a part meant to hold {ratio:.0%} has {len(parts[k])} rows")


@grades("training.train_val_test_split")
def test_split_rejects_bad_ratios(sub):
    """train_val_test_split raises ValueError for ratios that are negative or do not sum to 1"""
    X, y = np.zeros((10, 1)), np.zeros(10)
    for ratios in [(0.5, 0.5, 0.5), (1.2, -0.1, -0.1)]:
        with expect_error(ValueError, f"train_val_test_split(ratios={ratios})"):
            sub.training.train_val_test_split(X, y, ratios=ratios)


class CountingGD:
    """Plain gradient descent written in the test, counting its steps."""

    def __init__(self, lr):
        self.lr = lr
        self.steps = 0

    def step(self, w, grad):
        self.steps += 1
        return np.asarray(w) - self.lr * np.asarray(grad)


@grades("training.train_logistic_regression")
def test_training_learns_separable_data(sub, curve):
    """train_logistic_regression learns a linearly separable problem"""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(120, 2))
    y = (X[:, 0] - X[:, 1] > 0).astype(float)
    opt = CountingGD(lr=0.5)
    result = sub.training.train_logistic_regression(X[:100], y[:100], X[100:], y[100:], opt,
                                                    epochs=20, batch_size=20)
    if not isinstance(result, dict):
        fail(f"train_logistic_regression should return a dict, got {result!r}")
    val = [float(v) for v in result.get("val_losses", [])]
    curve("validation loss", val)
    if len(val) != 20:
        fail(f"20 epochs without early stopping should record 20 validation losses, got {len(val)}")
    if opt.steps != 20 * 5:
        fail(f"100 rows in batches of 20 for 20 epochs is 100 optimizer steps; got {opt.steps}")
    if not val[-1] < 0.3:
        fail(f"the validation loss went {val[0]:.3f} -> {val[-1]:.3f}; expected below 0.3")


@grades("training.steps_per_epoch")
def test_steps_per_epoch_rejects_bad_batch_size(sub):
    """steps_per_epoch raises ValueError when batch_size < 1 (0 and negative sizes)"""
    for size in (0, -1, -32):
        with expect_error(ValueError, f"steps_per_epoch(10, {size})"):
            sub.training.steps_per_epoch(10, size)
