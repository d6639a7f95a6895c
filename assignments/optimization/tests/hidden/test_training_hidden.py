"""Hidden tests for training.py. The training loop is graded with the reference
optimizers, losses and early stopping (served to the student's code through the
sandbox), so a bug elsewhere costs points only where it is."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from autograder.authoring import (
    S,
    as_array,
    assert_close,
    assert_matches,
    classic_mistakes,
    expect_error,
    fail,
    grades,
)

MISTAKES = classic_mistakes(__file__)


@grades("training.steps_per_epoch", weight=2)
@given(st.integers(0, 5000), st.integers(1, 600))
def test_steps_per_epoch(sub, ref, n, batch_size):
    """steps_per_epoch matches the reference"""
    got = sub.training.steps_per_epoch(n, batch_size)
    assert_close(got, ref.training.steps_per_epoch(n, batch_size), "steps_per_epoch",
                 {"n_samples": n, "batch_size": batch_size},
                 mistakes={MISTAKES["steps_floor"]: n // batch_size})


@grades("training.iterate_minibatches", weight=2)
@given(st.integers(1, 30), st.integers(1, 12))
def test_minibatches_in_order(sub, ref, n, batch_size):
    """iterate_minibatches(shuffle=False) gives the reference's batches"""
    X = np.arange(2 * n, dtype=float).reshape(n, 2)
    y = np.arange(n, dtype=float)
    got = sub.training.iterate_minibatches(X, y, batch_size, shuffle=False)
    want = list(ref.training.iterate_minibatches(X, y, batch_size, shuffle=False))
    assert_matches(list(got) if isinstance(got, (list, tuple)) else got, want,
                   "iterate_minibatches", {"X": X, "y": y, "batch_size": batch_size,
                                           "shuffle": False})


@grades("training.iterate_minibatches")
def test_minibatches_reject_bad_batch_size(sub):
    """iterate_minibatches raises ValueError when batch_size < 1 (0 and negative sizes)"""
    for size in (0, -1, -4):
        with expect_error(ValueError, f"iterate_minibatches(X, y, batch_size={size})"):
            sub.training.iterate_minibatches(np.zeros((4, 1)), np.zeros(4), size)


@grades("training.iterate_minibatches", weight=2)
def test_shuffle_is_uniform(sub):
    """shuffling puts each row first about equally often over 1000 seeds

    Row 0 is first with probability 1/8 for a uniform shuffle: Binomial(1000, 1/8)
    has standard deviation 10.5, and the bound of +-65 is over 6 of them
    (false-failure probability below 1e-9)."""
    X = np.arange(8, dtype=float).reshape(8, 1)
    counts = np.zeros(8)
    for seed in range(1000):
        first = as_array(list(sub.training.iterate_minibatches(X, X[:, 0], 8, seed=seed))[0][1],
                         "y_batch")
        counts[int(first[0])] += 1
    if np.any(np.abs(counts - 125) > 65):
        fail(f"over seeds 0..999 the first row of the epoch was row 0..7 this often: "
             f"{counts.astype(int).tolist()}; a uniform shuffle gives about 125 each")
    orders = {tuple(as_array(list(sub.training.iterate_minibatches(X, X[:, 0], 8, seed=s))[0][1],
                             "y_batch")) for s in range(5)}
    if len(orders) < 2:
        fail("seeds 0 to 4 all gave the same order: pass the seed to the generator")


RATIOS = st.tuples(S.floats(0, 1), S.floats(0, 1), S.floats(0, 1)).filter(
    lambda r: sum(r) > 0.1).map(lambda r: tuple(x / sum(r) for x in r))


@grades("training.train_val_test_split", weight=2)
@given(st.integers(1, 300), RATIOS, st.integers(0, 10_000))
def test_split_sizes_and_seed(sub, n, ratios, seed):
    """train_val_test_split: sizes within 2 of n*ratio, a partition, the same seed the same split"""
    X = np.arange(n, dtype=float).reshape(n, 1)
    y = np.arange(n, dtype=float)
    parts = [as_array(p, "train_val_test_split") for p in
             sub.training.train_val_test_split(X, y, ratios=ratios, seed=seed)]
    again = [as_array(p, "train_val_test_split") for p in
             sub.training.train_val_test_split(X, y, ratios=ratios, seed=seed)]
    inputs = f"train_val_test_split(n={n}, ratios={tuple(round(r, 4) for r in ratios)}, seed={seed})"
    rows = np.concatenate([parts[0].ravel(), parts[2].ravel(), parts[4].ravel()])
    if sorted(rows.tolist()) != list(range(n)):
        fail(f"{inputs}: the parts are not a partition of the rows")
    for k, ratio in zip((0, 2, 4), ratios):
        if abs(len(parts[k]) - n * ratio) >= 2:
            fail(f"{inputs}: a part has {len(parts[k])} rows, expected about {n * ratio:.2f}")
        if not np.array_equal(parts[k].ravel(), parts[k + 1]):
            fail(f"{inputs}: rows of X and y are no longer paired")
    if any(not np.array_equal(a, b) for a, b in zip(parts, again)):
        fail(f"{inputs}: two calls with the same seed gave different splits")


@grades("training.train_val_test_split")
def test_split_accepts_a_zero_ratio_and_lists(sub):
    """a ratio of 0 is allowed (an empty part), and X and y may be lists"""
    X, y = [[float(i)] for i in range(10)], [float(i) for i in range(10)]
    parts = [as_array(p, "train_val_test_split") for p in
             sub.training.train_val_test_split(X, y, ratios=(0.8, 0.2, 0.0), seed=1)]
    if [len(p) for p in parts] != [8, 8, 2, 2, 0, 0]:
        fail("train_val_test_split(X, y of 10 rows, ratios=(0.8, 0.2, 0.0)) should give parts "
             f"of 8, 2 and 0 rows, got {[len(p) for p in parts[::2]]}")


@grades("training.iterate_minibatches")
def test_minibatches_of_lists(sub, ref):
    """iterate_minibatches takes X and y as lists"""
    X, y = [[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]], [0.0, 1.0, 0.0]
    got = sub.training.iterate_minibatches(X, y, 2, shuffle=False)
    want = list(ref.training.iterate_minibatches(np.array(X), np.array(y), 2, shuffle=False))
    assert_matches(list(got) if isinstance(got, (list, tuple)) else got, want,
                   "iterate_minibatches", {"X": X, "y": y, "batch_size": 2, "shuffle": False})


@grades("training.train_val_test_split")
def test_split_depends_on_seed(sub):
    """train_val_test_split: different seeds give different splits"""
    X = np.arange(100, dtype=float).reshape(100, 1)
    trains = {tuple(as_array(sub.training.train_val_test_split(X, X[:, 0], seed=s)[0],
                             "X_train").ravel()) for s in range(3)}
    if len(trains) < 3:
        fail("seeds 0, 1 and 2 did not give three different training sets")


@grades("training.train_val_test_split")
def test_split_rejects_negative_ratios(sub):
    """train_val_test_split raises ValueError for a negative ratio, even summing to 1"""
    with expect_error(ValueError, "train_val_test_split(ratios=(1.2, -0.1, -0.1))"):
        sub.training.train_val_test_split(np.zeros((10, 1)), np.zeros(10), ratios=(1.2, -0.1, -0.1))


LOSSES = st.lists(st.sampled_from([1.0, 0.9, 0.8, 0.75, 0.7, 0.5, 0.45, 0.3]), min_size=1,
                  max_size=15)


@grades("training.EarlyStopping", weight=3)
@given(LOSSES, st.integers(1, 4), st.sampled_from([0.0, 0.05, 0.1]))
def test_early_stopping(sub, ref, losses, patience, min_delta):
    """EarlyStopping matches the reference up to its first True, with ties and min_delta"""
    mine = sub.training.EarlyStopping(patience=patience, min_delta=min_delta)
    theirs = ref.training.EarlyStopping(patience=patience, min_delta=min_delta)
    where = f"EarlyStopping(patience={patience}, min_delta={min_delta})"
    assert_matches(mine.best_loss, float("inf"), f"{where}.best_loss before any step")
    assert_matches(mine.best_epoch, -1, f"{where}.best_epoch before any step")
    history = []
    for loss in losses:
        history.append(loss)
        stop = theirs.step(loss)
        what = f"{where}.step after the losses {history}"
        assert_matches(mine.step(loss), stop, what)
        assert_matches(mine.best_loss, theirs.best_loss, f"{what}: best_loss")
        assert_matches(mine.best_epoch, theirs.best_epoch, f"{what}: best_epoch")
        if stop:
            break


@grades("training.EarlyStopping")
def test_early_stopping_defaults(sub, ref):
    """EarlyStopping() defaults to patience=5, min_delta=0"""
    mine, theirs = sub.training.EarlyStopping(), ref.training.EarlyStopping()
    for i, loss in enumerate([1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0]):
        assert_matches(mine.step(loss), theirs.step(loss),
                       f"EarlyStopping().step call {i + 1} with a constant loss 1.0")


class Recorder:
    """Wraps a reference optimizer and records every step the student's loop takes."""

    def __init__(self, optimizer):
        self.optimizer = optimizer
        self.calls = []

    @property
    def lr(self):
        return self.optimizer.lr

    def step(self, w, grad):
        w = np.array(w, dtype=float)
        grad = np.array(grad, dtype=float)
        new = self.optimizer.step(w, grad)
        self.calls.append((w, grad, new))
        return new


class StopRecorder:
    """Wraps a reference EarlyStopping and records the losses it is given."""

    def __init__(self, stopper):
        self.stopper = stopper
        self.seen = []

    @property
    def best_epoch(self):
        return self.stopper.best_epoch

    @property
    def best_loss(self):
        return self.stopper.best_loss

    def step(self, val_loss):
        self.seen.append(float(val_loss))
        return self.stopper.step(val_loss)


def dataset(seed=0, n=120, d=3, flip_val=False):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    y = (X @ np.linspace(1, -1, d) + 0.5 * rng.normal(size=n) > 0).astype(float)
    n_train = int(0.75 * n)
    y_val = 1 - y[n_train:] if flip_val else y[n_train:]
    return X[:n_train], y[:n_train], X[n_train:], y_val


def bce(X, y, params):
    p = 1 / (1 + np.exp(-(X @ params[:-1] + params[-1])))
    q = np.clip(p, 1e-12, 1 - 1e-12)
    return np.mean(-(y * np.log(q) + (1 - y) * np.log(1 - q)))


def train(sub, X, y, Xv, yv, optimizer, **kwargs):
    result = sub.training.train_logistic_regression(X, y, Xv, yv, optimizer, **kwargs)
    if not isinstance(result, dict):
        fail(f"train_logistic_regression should return a dict, got {result!r}")
    missing = {"w", "b", "train_losses", "val_losses", "best_epoch"} - set(result)
    if missing:
        fail(f"the result dict lacks the keys {sorted(missing)}")
    return result


@pytest.mark.parametrize(("seed", "l2", "epochs"), [(0, 0.0, 2), (1, 0.1, 3), (2, 0.5, 2)])
@grades("training.train_logistic_regression", weight=1)
def test_full_batch_gradients_are_exact(sub, ref, seed, l2, epochs):
    """with one batch per epoch, every gradient handed to the optimizer is exact"""
    X, y, Xv, yv = dataset(seed)
    opt = Recorder(ref.optimizers.GradientDescent(lr=0.5))
    result = train(sub, X, y, Xv, yv, opt, epochs=epochs, batch_size=len(X), l2=l2)
    setting = f"epochs={epochs}, batch_size={len(X)} (the whole set), l2={l2}"
    if len(opt.calls) != epochs:
        fail(f"with {setting} the optimizer should step {epochs} times; it stepped "
             f"{len(opt.calls)} times")
    if not np.array_equal(opt.calls[0][0], np.zeros(X.shape[1] + 1)):
        fail(f"the first parameters passed to optimizer.step should be zeros [w, b] of length "
             f"{X.shape[1] + 1}, got {opt.calls[0][0]}")
    for i, (params, grad, _) in enumerate(opt.calls):
        w, b = params[:-1], params[-1]
        dz = (1 / (1 + np.exp(-(X @ w + b))) - y) / len(y)
        want = np.append(X.T @ dz + 2 * l2 * w, dz.sum())
        assert_close(grad, want, f"the gradient passed to optimizer.step at step {i + 1} "
                     f"({setting})", {"params [w, b]": params},
                     mistakes={"b is penalized too": want + 2 * l2 * np.append(0 * w, b),
                               "penalty gradient without the factor 2 (lam * w)":
                               want - np.append(l2 * w, 0.0),
                               "gradient of the sum over the batch, not the mean":
                               want * len(y) - np.append(2 * l2 * w * (len(y) - 1), 0.0)})
    assert_close(result["w"], opt.calls[-1][2][:-1], "result['w'] (the final parameters)")
    assert_close(result["b"], opt.calls[-1][2][-1], "result['b'] (the final bias)")
    want_train = [bce(X, y, c[2]) for c in opt.calls]
    want_val = [bce(Xv, yv, c[2]) for c in opt.calls]
    assert_close(result["train_losses"], want_train, "result['train_losses'] (unpenalized BCE "
                 "of the whole training set after each epoch)")
    assert_close(result["val_losses"], want_val, "result['val_losses']")


@grades("training.train_logistic_regression", weight=2)
@settings(max_examples=4)
@given(st.sampled_from([7, 16, 32, 90]), st.integers(1, 4))
def test_minibatch_steps_and_losses(sub, ref, batch_size, epochs):
    """one optimizer step per mini-batch; the losses are recorded after each epoch"""
    X, y, Xv, yv = dataset(1)
    opt = Recorder(ref.optimizers.Adam(lr=0.05))
    result = train(sub, X, y, Xv, yv, opt, epochs=epochs, batch_size=batch_size)
    per_epoch = -(-len(X) // batch_size)
    if len(opt.calls) != epochs * per_epoch:
        fail(f"{len(X)} rows in batches of {batch_size} for {epochs} epochs is "
             f"{epochs * per_epoch} optimizer steps; the loop took {len(opt.calls)}")
    for k, (_, grad, _) in enumerate(opt.calls):
        if grad.shape != (X.shape[1] + 1,):
            fail(f"step {k + 1}: the gradient should be the vector [dw, db] of length "
                 f"{X.shape[1] + 1}, got shape {grad.shape}")
    ends = [opt.calls[(e + 1) * per_epoch - 1][2] for e in range(epochs)]
    assert_close(result["train_losses"], [bce(X, y, p) for p in ends],
                 "result['train_losses'] (BCE of the whole training set after each epoch)")
    assert_close(result["val_losses"], [bce(Xv, yv, p) for p in ends], "result['val_losses']")


@grades("training.train_logistic_regression", weight=2)
@pytest.mark.parametrize("patience", [1, 3])
def test_early_stopping_is_honoured(sub, ref, patience):
    """the loop calls early_stopping.step(val_loss) after each epoch and stops when told"""
    X, y, Xv, yv = dataset(2, flip_val=True)  # the validation loss rises as training proceeds
    stopper = StopRecorder(ref.training.EarlyStopping(patience=patience))
    result = train(sub, X, y, Xv, yv, Recorder(ref.optimizers.GradientDescent(lr=0.5)),
                   epochs=50, batch_size=30, early_stopping=stopper)
    val = [float(v) for v in result["val_losses"]]
    if not stopper.seen:
        fail("early_stopping.step was never called")
    assert_close(stopper.seen, val, "the losses passed to early_stopping.step (one per epoch, "
                 "the validation loss)")
    replay = ref.training.EarlyStopping(patience=patience)
    expected_epochs = next((i + 1 for i, v in enumerate(val) if replay.step(v)), 50)
    if len(val) != expected_epochs:
        fail(f"with patience={patience} and your validation losses {val}, early_stopping.step "
             f"returned True after epoch {expected_epochs}, but training ran {len(val)} epochs")
    if len(result["train_losses"]) != len(val):
        fail("train_losses and val_losses should have one entry per completed epoch")
    assert_matches(result["best_epoch"], stopper.best_epoch, "result['best_epoch']")


@grades("training.train_logistic_regression")
def test_reaches_the_reference_loss(sub, ref, curve):
    """reaches the reference's validation loss (within 0.02) on seeded data"""
    X, y, Xv, yv = dataset(3, n=400, d=4)
    mine = train(sub, X, y, Xv, yv, ref.optimizers.Adam(lr=0.05), epochs=15, batch_size=32)
    theirs = ref.training.train_logistic_regression(X, y, Xv, yv, ref.optimizers.Adam(lr=0.05),
                                                    epochs=15, batch_size=32)
    curve("training loss", mine["train_losses"], reference=theirs["train_losses"])
    curve("validation loss", mine["val_losses"], reference=theirs["val_losses"])
    best, target = min(float(v) for v in mine["val_losses"]), min(theirs["val_losses"])
    if best > target + 0.02:
        curve = ", ".join(f"{float(v):.3f}" for v in mine["val_losses"])
        fail(f"the best validation loss was {best:.4f}; the reference reaches {target:.4f}. "
             f"Your validation loss curve: {curve}")


@grades("training.train_logistic_regression")
@pytest.mark.parametrize("seed", [0, 5])
def test_the_same_seed_gives_the_same_result(sub, ref, seed):
    """training twice with the same seed gives the same parameters and losses"""
    X, y, Xv, yv = dataset(3)
    first, again = (train(sub, X, y, Xv, yv, ref.optimizers.GradientDescent(lr=0.5), epochs=3,
                          batch_size=16, seed=seed) for _ in range(2))
    for key in ("w", "b", "train_losses", "val_losses"):
        assert_close(again[key], first[key], f"result[{key!r}] of a second run with seed={seed} "
                     "(the mini-batches are shuffled with the seed: the same seed, the same "
                     "batches)")
