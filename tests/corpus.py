"""A corpus of realistic submissions, made by editing the reference solution.

``MUTANTS``: one bug each, with the contract name that must lose points (and
no other): the assignment's classic mistakes (``mistakes.yaml``, which the grader
names) and other bugs here. ``VARIANTS``: correct code written differently, which
must score 100. Each edit replaces text that occurs exactly once in the reference file.
"""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

from autograder import config, mistakes
from autograder.demo import derive_submission

SOLUTIONS = Path(__file__).resolve().parent.parent / "solutions" / "optimization"


class Edit(NamedTuple):
    file: str
    old: str
    new: str


class Mutant(NamedTuple):
    name: str
    target: str
    edits: tuple[Edit, ...]


def bug(name: str, target: str, file: str, old: str, new: str) -> Mutant:
    return Mutant(name, target, (Edit(file, old, new),))


L, OPT, S, R, T, Y = ("losses.py", "optimizers.py", "schedules.py", "regularization.py",
                    "training.py", "layers.py")

CLASSIC = {m.id: m for m in mistakes.load(config.load("optimization"))}

MUTANTS = [Mutant(m.id, m.target, tuple(Edit(m.target.split(".")[0] + ".py", old, new)
                                        for old, new in m.edits)) for m in CLASSIC.values()] + [
    # losses.py
    bug("l1_grad_sign0", "losses.l1_loss_grad", L,
        "return np.sign(y_hat - np.asarray(y, dtype=float)) / y_hat.size",
        "return np.where(y_hat >= np.asarray(y, dtype=float), 1.0, -1.0) / y_hat.size"),
    bug("sigmoid_naive", "losses.sigmoid", L, "return np.exp(-np.logaddexp(0.0, -z))",
        "return 1.0 / (1.0 + np.exp(-z))"),
    bug("sce_clipped", "losses.softmax_cross_entropy", L,
        "    z = np.asarray(z, dtype=float)\n    m = np.max(z, axis=-1, keepdims=True)\n    log_probs",
        "    z = np.asarray(z, dtype=float)\n    return cross_entropy(softmax(z), y)\n    m = np.max(z, axis=-1, keepdims=True)\n    log_probs"),
    # optimizers.py
    Mutant("gd_lr_frozen", "optimizers.GradientDescent", (
        Edit(OPT, "        self.lr = lr\n        # END SOLUTION\n\n    def step(self, w, grad):\n        \"\"\"Return the updated parameters.\"\"\"\n        # BEGIN SOLUTION\n        # HINT: read self.lr here, at every step.\n        return gd_step(w, grad, self.lr)",
             "        self.lr = lr\n        self._lr0 = lr\n        # END SOLUTION\n\n    def step(self, w, grad):\n        \"\"\"Return the updated parameters.\"\"\"\n        # BEGIN SOLUTION\n        return gd_step(w, grad, self._lr0)"),)),
    bug("momentum_shared_state", "optimizers.Momentum", OPT,
        "        if self.v is None:\n            self.v = np.zeros_like(g)\n        self.v = self.momentum * self.v + g\n        return np.asarray(w, dtype=float) - self.lr * self.v",
        "        if Momentum.v is None:\n            Momentum.v = np.zeros_like(g)\n        Momentum.v = self.momentum * Momentum.v + g\n        return np.asarray(w, dtype=float) - self.lr * Momentum.v"),
    bug("rmsprop_sum", "optimizers.RMSProp", OPT,
        "self.s = self.decay * self.s + (1.0 - self.decay) * g**2", "self.s = self.s + g**2"),
    bug("adam_default_lr", "optimizers.Adam", OPT,
        "def __init__(self, lr=0.001, beta1=0.9", "def __init__(self, lr=0.01, beta1=0.9"),
    bug("minimize_check_after", "optimizers.minimize", OPT,
        "        g = np.asarray(grad_fn(w), dtype=float)\n        if np.linalg.norm(g.ravel()) <= tol:\n            break\n        w = optimizer.step(w, g)\n        n_steps += 1",
        "        w = optimizer.step(w, np.asarray(grad_fn(w), dtype=float))\n        n_steps += 1\n        if np.linalg.norm(np.asarray(grad_fn(w)).ravel()) <= tol:\n            break"),
    Mutant("minimize_mutates_w0", "optimizers.minimize", (
        Edit(OPT, "w = np.array(w0, dtype=float)  # a copy: w0 stays untouched", "w = w0"),
        Edit(OPT, "        w = optimizer.step(w, g)\n        n_steps += 1",
             "        w[...] = optimizer.step(w, g)\n        n_steps += 1"),)),
    bug("minimize_off_by_one", "optimizers.minimize", OPT,
        "while n_steps < max_steps:", "while n_steps <= max_steps:"),
    # schedules.py
    bug("exp_decay_off_by_one", "schedules.exponential_decay", S, "return lr0 * gamma**t",
        "return lr0 * gamma ** (t + 1)"),
    bug("inverse_time_wrong", "schedules.inverse_time_decay", S, "return lr0 / (1.0 + k * t)",
        "return lr0 / (1.0 + k) ** t"),
    bug("cosine_no_clamp", "schedules.cosine_decay", S,
        "math.cos(math.pi * min(t, total) / total)", "math.cos(math.pi * t / total)"),
    # regularization.py
    bug("l1_penalty_mean", "regularization.l1_penalty", R,
        "return float(lam * np.sum(np.abs(np.asarray(w, dtype=float))))",
        "return float(lam * np.mean(np.abs(np.asarray(w, dtype=float))))"),
    bug("l1_penalty_grad_sign0", "regularization.l1_penalty_grad", R,
        "return lam * np.sign(np.asarray(w, dtype=float))",
        "return lam * np.where(np.asarray(w, dtype=float) >= 0, 1.0, -1.0)"),
    bug("l2_half", "regularization.l2_penalty", R,
        "return float(lam * np.sum(np.asarray(w, dtype=float) ** 2))",
        "return float(0.5 * lam * np.sum(np.asarray(w, dtype=float) ** 2))"),
    bug("dropout_no_check", "regularization.dropout", R,
        "    if not 0.0 <= p <= 1.0:\n        raise ValueError(f\"dropout probability p must be in [0, 1], got {p}\")\n", ""),
    # training.py
    bug("split_not_shuffled", "training.train_val_test_split", T,
        "order = np.random.default_rng(seed).permutation(n)", "order = np.arange(n)"),
    bug("split_accepts_negative", "training.train_val_test_split", T,
        "if len(ratios) != 3 or min(ratios) < 0 or abs(sum(ratios) - 1.0) > 1e-6:",
        "if len(ratios) != 3 or abs(sum(ratios) - 1.0) > 1e-6:"),
    bug("early_stopping_le", "training.EarlyStopping", T,
        "if val_loss < self.best_loss - self.min_delta:",
        "if val_loss <= self.best_loss - self.min_delta:"),
    bug("early_stopping_1_based", "training.EarlyStopping", T,
        "self.best_epoch = self.epochs_seen\n", "self.best_epoch = self.epochs_seen + 1\n"),
    bug("train_penalizes_b", "training.train_logistic_regression", T,
        "grad = np.append(X_batch.T @ dz + l2_penalty_grad(w, l2), dz.sum())",
        "grad = np.append(X_batch.T @ dz, dz.sum()) + l2_penalty_grad(params, l2)"),
    bug("train_ignores_early_stopping", "training.train_logistic_regression", T,
        "if early_stopping is not None and early_stopping.step(val_losses[-1]):",
        "if early_stopping is not None and early_stopping.step(val_losses[-1]) and False:"),
    bug("train_sum_not_mean", "training.train_logistic_regression", T,
        "dz = (sigmoid(X_batch @ w + b) - y_batch) / len(y_batch)",
        "dz = sigmoid(X_batch @ w + b) - y_batch"),
    # layers.py
    bug("residual_backward_db_mean", "layers.residual_backward", Y, "db = dz.sum(axis=0)",
        "db = dz.mean(axis=0)"),
]

VARIANTS = {
    # Losses through explicit sums and sizes, a piecewise sigmoid, the textbook BCE gradient.
    "losses_by_hand": (
        Edit(L, "return float(np.mean(np.abs(diff)))", "return np.sum(np.abs(diff)) / diff.size"),
        Edit(L, "return float(np.mean(diff**2))", "return (diff * diff).sum() / len(diff.ravel())"),
        Edit(L, "return np.exp(-np.logaddexp(0.0, -z))",
             "out = np.empty_like(z)\n    pos = z >= 0\n    out[pos] = 1 / (1 + np.exp(-z[pos]))\n"
             "    ez = np.exp(z[~pos])\n    out[~pos] = ez / (1 + ez)\n    return out"),
        Edit(L, "return (q - np.asarray(y, dtype=float)) / (q * (1.0 - q)) / p.size",
             "y = np.asarray(y, dtype=float)\n    return -(y / q - (1 - y) / (1 - q)) / p.size"),
        Edit(L, "n_rows = z.shape[0] if z.ndim > 1 else 1", "n_rows = len(z) if z.ndim == 2 else 1"),
    ),
    # Optimizer state created in __init__ from a dict, Adam with explicit powers.
    "optimizers_eager_state": (
        Edit(OPT, "        self.m = self.beta1 * self.m + (1.0 - self.beta1) * g\n"
                "        self.v = self.beta2 * self.v + (1.0 - self.beta2) * g**2\n"
                "        m_hat = self.m / (1.0 - self.beta1**self.t)\n"
                "        v_hat = self.v / (1.0 - self.beta2**self.t)",
             "        self.m = self.beta1 * self.m + (1.0 - self.beta1) * g\n"
             "        self.v = self.beta2 * self.v + (1.0 - self.beta2) * np.square(g)\n"
             "        m_hat = self.m / (1.0 - pow(self.beta1, self.t))\n"
             "        v_hat = self.v / (1.0 - pow(self.beta2, self.t))"),
        Edit(OPT, "self.v = self.momentum * self.v + g\n        return np.asarray(w, dtype=float) - self.lr * self.v",
             "self.v *= self.momentum\n        self.v += g\n        return np.array(w, dtype=float) - self.lr * self.v"),
        Edit(OPT, "    w = np.array(w0, dtype=float)  # a copy: w0 stays untouched\n    n_steps = 0\n"
                "    while n_steps < max_steps:\n        g = np.asarray(grad_fn(w), dtype=float)\n"
                "        if np.linalg.norm(g.ravel()) <= tol:\n            break\n"
                "        w = optimizer.step(w, g)\n        n_steps += 1\n    return w, n_steps",
             "    w = np.copy(w0).astype(float)\n    for n_steps in range(max_steps + 1):\n"
             "        if np.sqrt(np.sum(np.asarray(grad_fn(w)) ** 2)) <= tol or n_steps == max_steps:\n"
             "            return w, n_steps\n        w = optimizer.step(w, grad_fn(w))\n"
             "    return w, max_steps"),
    ),
    # Schedules in numpy, returning numpy floats.
    "schedules_numpy": (
        Edit(S, "return lr0 * drop ** (t // every)", "return lr0 * np.power(drop, np.floor(t / every))"),
        Edit(S, "return lr0 * gamma**t", "return lr0 * np.exp(t * np.log(gamma))"),
        Edit(S, "return lr_min + 0.5 * (lr0 - lr_min) * (1.0 + math.cos(math.pi * min(t, total) / total))",
             "frac = np.clip(t / total, 0, 1)\n    return lr_min + (lr0 - lr_min) * (1 + np.cos(np.pi * frac)) / 2"),
        Edit(S, "import math\n", "import math\n\nimport numpy as np\n"),
    ),
    # Dropout with a binomial mask, penalties through dot products.
    "regularization_binomial": (
        Edit(R, "keep = rng.random(x.shape) >= p\n    return x * keep / (1.0 - p)",
             "keep = rng.binomial(1, 1.0 - p, size=x.shape)\n    return np.where(keep == 1, x / (1.0 - p), 0.0)"),
        Edit(R, "return float(lam * np.sum(np.asarray(w, dtype=float) ** 2))",
             "w = np.asarray(w, dtype=float).ravel()\n    return lam * float(w @ w)"),
    ),
    # Batches as a list, rounding split sizes, a history-based EarlyStopping, one shuffle
    # generator for all epochs and the chain rule through the BCE gradient.
    "training_alternative": (
        Edit(T, "    for start in range(0, len(X), batch_size):\n        rows = order[start : start + batch_size]\n        yield X[rows], y[rows]",
             "    return [(X[order[i : i + batch_size]], y[order[i : i + batch_size]])\n"
             "            for i in range(0, len(X), batch_size)]"),
        Edit(T, "n_train = int(math.floor(n * ratios[0]))\n    n_val = int(math.floor(n * ratios[1]))",
             "n_train = int(round(n * ratios[0]))\n    n_val = min(n - n_train, int(round(n * ratios[1])))"),
        Edit(T, "    for epoch in range(epochs):\n        batches = iterate_minibatches(X_train, y_train, batch_size, seed=seed + epoch)",
             "    rng = np.random.default_rng(seed)\n    for _epoch in range(epochs):\n"
             "        batches = iterate_minibatches(X_train, y_train, batch_size, seed=int(rng.integers(1 << 30)))"),
        Edit(T, "            dz = (sigmoid(X_batch @ w + b) - y_batch) / len(y_batch)",
             "            p = sigmoid(X_batch @ w + b)\n"
             "            dz = losses.binary_cross_entropy_grad(p, y_batch) * p * (1 - p)"),
        Edit(T, "from losses import binary_cross_entropy, sigmoid\n",
             "import losses\nfrom losses import binary_cross_entropy, sigmoid\n"),
    ),
    # Star imports of the other files, and a module-level helper shared by two functions.
    "star_imports": (
        Edit(T, "from losses import binary_cross_entropy, sigmoid\nfrom regularization import l2_penalty_grad\n",
             "from losses import *  # noqa: F403\nfrom regularization import *  # noqa: F403\n"),
    ),
    # The residual block with np.where and an explicit mask.
    "layers_where": (
        Edit(Y, "return x + np.maximum(x @ np.asarray(W, dtype=float) + np.asarray(b, dtype=float), 0.0)",
             "z = x.dot(np.asarray(W, dtype=float)) + b\n    return x + np.where(z > 0, z, 0.0)"),
        Edit(Y, "db = dz.sum(axis=0)", "db = np.ones(len(dz)) @ dz"),
    ),
    # Debug prints everywhere: output is captured, the grade unchanged.
    "chatty": (
        Edit(L, "    diff = np.asarray(y_hat, dtype=float) - np.asarray(y, dtype=float)\n    return float(np.mean(np.abs(diff)))",
             "    diff = np.asarray(y_hat, dtype=float) - np.asarray(y, dtype=float)\n    print('l1 debug', diff)\n    return float(np.mean(np.abs(diff)))"),
        Edit(OPT, "        g = np.asarray(grad, dtype=float)\n        if self.m is None:",
             "        g = np.asarray(grad, dtype=float)\n        print('adam step', self.t, g)\n        if self.m is None:"),
        Edit(T, "        train_losses.append(full_loss(X_train, y_train))",
             "        print('epoch', epoch)\n        train_losses.append(full_loss(X_train, y_train))"),
    ),
    # Helper functions and module-level constants in the student's files.
    "helpers": (
        Edit(L, "import numpy as np\n",
             "import numpy as np\n\nEPS = 1e-12\n\n\ndef _as_float(a):\n    return np.asarray(a, dtype=np.float64)\n"),
        Edit(L, "    diff = np.asarray(y_hat, dtype=float) - np.asarray(y, dtype=float)\n    return float(np.mean(diff**2))",
             "    diff = _as_float(y_hat) - _as_float(y)\n    return float(np.mean(diff**2))"),
        Edit(Y, "import numpy as np\n", "import numpy as np\n\n\ndef relu(z):\n    return np.maximum(z, 0)\n"),
    ),
}


def write_submission(dest: Path, edits: tuple[Edit, ...] = ()) -> Path:
    """Copy the reference to ``dest`` and apply ``edits`` (each must match exactly once)."""
    return derive_submission(SOLUTIONS, dest, edits)
