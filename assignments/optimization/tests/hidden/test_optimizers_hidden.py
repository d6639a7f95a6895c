"""Hidden tests for optimizers.py: step-by-step trajectories against the live
reference, with defaults, a learning rate changed between steps, two instances
interleaved, 1-element and 2-D parameters, and inputs that must not change."""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from autograder.authoring import (
    S,
    as_array,
    assert_close,
    assert_unchanged,
    classic_mistakes,
    describe_call,
    each,
    fail,
    grades,
)

MISTAKES = classic_mistakes(__file__)

CLASSES = ["GradientDescent", "Momentum", "AdaGrad", "RMSProp", "Adam"]
HYPER = {
    "GradientDescent": st.fixed_dictionaries({"lr": S.floats(1e-3, 1)}),
    "Momentum": st.fixed_dictionaries({"lr": S.floats(1e-3, 1), "momentum": S.floats(0, 0.99)}),
    "AdaGrad": st.fixed_dictionaries({"lr": S.floats(1e-3, 1)}),
    "RMSProp": st.fixed_dictionaries({"lr": S.floats(1e-3, 1), "decay": S.floats(0.5, 0.99)}),
    "Adam": st.fixed_dictionaries({"lr": S.floats(1e-3, 1), "beta1": S.floats(0.5, 0.99),
                                   "beta2": S.floats(0.9, 0.9999)}),
}


def trajectories(min_steps=1, max_steps=6):
    """A parameter array and a sequence of gradients of its shape."""
    n_steps = st.integers(min_steps, max_steps)
    return S.shapes(max_side=4).flatmap(lambda shape: st.tuples(
        S.arrays(shape), n_steps.flatmap(lambda n: st.lists(S.arrays(shape), min_size=n,
                                                               max_size=n))))


def adam_mistakes(hyper, w, grads):
    """What common Adam mistakes return at the step that takes the last of ``grads``
    from parameters ``w``."""
    b1, b2 = hyper.get("beta1", 0.9), hyper.get("beta2", 0.999)
    lr, eps, t = hyper.get("lr", 0.001), 1e-8, len(grads)
    m = v = np.zeros_like(w)
    for g in grads:
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g**2
    m_hat, v_hat = m / (1 - b1**t), v / (1 - b2**t)
    return {
        MISTAKES["adam_no_bias_correction"]: w - lr * m / (np.sqrt(v) + eps),
        MISTAKES["adam_eps_inside"]: w - lr * m_hat / np.sqrt(v_hat + eps),
        "only m is bias-corrected": w - lr * m_hat / (np.sqrt(v) + eps),
    }


def run(sub_opt, ref_opt, name, hyper, w, grads):
    for i, g in enumerate(grads):
        got = sub_opt.step(w, g)
        want = ref_opt.step(w, g)
        mistakes = adam_mistakes(hyper, w, grads[: i + 1]) if name == "Adam" else None
        assert_close(got, want, f"{describe_call(name, hyper)}.step, call {i + 1} of {len(grads)}",
                     {"w": w, "grad": g}, mistakes=mistakes)
        w = want


@each("optimizers", CLASSES, weight=3)
@given(data=st.data())
def test_trajectory_matches_reference(sub, ref, name, data):
    """successive steps match the reference"""
    hyper = data.draw(HYPER[name], "hyper-parameters")
    w, grads = data.draw(trajectories(), "w and gradients")
    run(getattr(sub.optimizers, name)(**hyper), getattr(ref.optimizers, name)(**hyper),
        name, hyper, w, grads)


@each("optimizers", CLASSES)
@settings(max_examples=10)
@given(trajectories(2, 5))
def test_defaults_match_the_contract(sub, ref, name, case):
    """the constructor's default hyper-parameters are the contract's"""
    w, grads = case
    run(getattr(sub.optimizers, name)(), getattr(ref.optimizers, name)(), name, {}, w, grads)


@each("optimizers", CLASSES)
@settings(max_examples=10)
@given(trajectories(3, 6), S.floats(1e-3, 1))
def test_reads_lr_at_every_step(sub, ref, name, case, new_lr):
    """a learning rate changed between steps (by a schedule) is used at the next step"""
    w, grads = case
    mine, theirs = getattr(sub.optimizers, name)(lr=0.1), getattr(ref.optimizers, name)(lr=0.1)
    for i, g in enumerate(grads):
        if i == 1:
            mine.lr = new_lr
            theirs.lr = new_lr
        got, want = mine.step(w, g), theirs.step(w, g)
        assert_close(got, want, f"{name}(lr=0.1).step, call {i + 1}, with lr set to "
                     f"{new_lr:g} after call 1", {"w": w, "grad": g})
        w = want


@each("optimizers", CLASSES)
@settings(max_examples=10)
@given(trajectories(2, 4), trajectories(2, 4))
def test_instances_keep_their_own_state(sub, ref, name, case_a, case_b):
    """two instances used in turn keep separate state (no class-level state)"""
    (wa, ga), (wb, gb) = case_a, case_b
    mine = [getattr(sub.optimizers, name)(lr=0.1) for _ in range(2)]
    theirs = [getattr(ref.optimizers, name)(lr=0.1) for _ in range(2)]
    ws = [wa, wb]
    for i in range(min(len(ga), len(gb))):
        for k, g in enumerate((ga[i], gb[i])):
            got, want = mine[k].step(ws[k], g), theirs[k].step(ws[k], g)
            assert_close(got, want, f"instance {'AB'[k]} of {name}(lr=0.1), step {i + 1} "
                         "(instances A and B stepped in turn)", {"w": ws[k], "grad": g})
            ws[k] = want


@each("optimizers", CLASSES)
def test_step_does_not_modify_its_arguments(sub, name):
    """step changes neither w nor grad"""
    opt = getattr(sub.optimizers, name)(lr=0.1)
    w, g = np.array([1.0, -2.0, 3.0]), np.array([0.5, 0.5, -1.0])
    for _ in range(2):
        opt.step(w, g)
        assert_unchanged(sub, f"{name}.step", hint="", mistake=MISTAKES["adam_in_place"])


@grades("optimizers.gd_step", weight=3)
@given(S.same_shape(2), S.floats(0, 2))
def test_gd_step(sub, ref, pair, lr):
    """gd_step matches the reference and leaves w unchanged"""
    w, g = pair
    got = sub.optimizers.gd_step(w, g, lr)
    assert_unchanged(sub, "gd_step", "w", hint="return w - lr * grad as a new array")
    assert_close(got, ref.optimizers.gd_step(w, g, lr), "gd_step", {"w": w, "grad": g, "lr": lr},
                 mistakes={MISTAKES["gd_ascent"]: w + lr * g})


class Quadratic:
    """The gradient of 0.5 * sum(a * w**2), counting its calls."""

    def __init__(self, a):
        self.a = np.asarray(a, dtype=float)

    def __call__(self, w):
        return self.a * np.asarray(w, dtype=float)


@grades("optimizers.minimize", weight=3)
@settings(max_examples=15)
@given(S.arrays(shape=S.shapes(max_dims=1, max_side=3), lo=-3, hi=3),
       st.sampled_from([1e-1, 1e-3, 1e-6]), st.integers(0, 60), S.floats(0.05, 0.4))
def test_minimize_matches_reference(sub, ref, w0, tol, max_steps, lr):
    """minimize returns the reference's (w, n_steps), with the reference optimizer"""
    a = np.linspace(1.0, 2.0, w0.size)
    w, n = sub.optimizers.minimize(Quadratic(a), w0, ref.optimizers.GradientDescent(lr=lr),
                                   tol=tol, max_steps=max_steps)
    assert_unchanged(sub, "minimize", "w0", hint="")
    want_w, want_n = ref.optimizers.minimize(Quadratic(a), w0, ref.optimizers.GradientDescent(lr=lr),
                                             tol=tol, max_steps=max_steps)
    inputs = {"w0": w0, "tol": tol, "max_steps": max_steps, "lr": lr}
    if isinstance(n, bool) or not isinstance(n, (int, float)) or n != want_n:
        fail(f"minimize(grad of 0.5*sum(a*w**2) with a={a}, ...) with {inputs}: n_steps should "
             f"be {want_n}, got {n!r}. The check norm(grad) <= tol comes BEFORE each step.")
    assert_close(w, want_w, "minimize(...)[0]", inputs)


@grades("optimizers.minimize")
def test_minimize_stops_when_the_norm_equals_tol(sub, ref):
    """minimize stops when norm(grad) <= tol, equality included"""
    w0 = np.array([0.5])  # the gradient of 0.5*w**2 at w0 is 0.5: its norm is tol exactly
    w, n = sub.optimizers.minimize(Quadratic([1.0]), w0, ref.optimizers.GradientDescent(lr=0.1),
                                   tol=0.5)
    if n != 0:
        fail(f"minimize(grad of 0.5*w**2, w0=[0.5], tol=0.5): the gradient's norm is 0.5, which "
             f"is <= tol, so it should take 0 steps; it took {n} (< instead of <=?)")


@grades("optimizers.minimize")
def test_minimize_stops_on_the_euclidean_norm(sub, ref):
    """minimize stops on the Euclidean norm of the whole (flattened) gradient"""
    # Every component of the gradient is 0.3: its largest component (0.3) and its squared
    # norm (0.36) are <= tol, its Euclidean norm (0.6) and its sum of |g| (1.2) are not.
    # GD with lr 0.5 halves w: the norm is 0.3 after one step, the sum of |g| after two.
    w0 = np.full((2, 2), 0.3)
    w, n = sub.optimizers.minimize(Quadratic(np.ones((2, 2))), w0,
                                   ref.optimizers.GradientDescent(lr=0.5), tol=0.5)
    if n != 1:
        fail(f"minimize(grad of 0.5*sum(w**2), w0 = a 2x2 array of 0.3, GD lr 0.5, tol=0.5): "
             f"the gradient's Euclidean norm is 0.6 at w0 and 0.3 after one step, so it should "
             f"take 1 step; it took {n!r}. The norm is sqrt(sum(g**2)) over every component "
             f"(np.linalg.norm(g.ravel())), not the largest |g|, the sum of |g| or sum(g**2)",
             MISTAKES["minimize_max_component"] if n == 0 else "")
    assert_close(as_array(w, "minimize(...)[0]"), w0 * 0.5, "minimize(...)[0]", {"w0": w0})


@grades("optimizers.minimize")
def test_minimize_returns_at_once_when_converged(sub, ref):
    """minimize takes 0 steps from a w0 that is already a minimum"""
    w0 = np.zeros(2)
    w, n = sub.optimizers.minimize(Quadratic([1.0, 1.0]), w0, ref.optimizers.Adam())
    if n != 0:
        fail(f"from w0 = [0, 0], where the gradient is 0, minimize should take 0 steps; took {n}")
    assert_close(as_array(w, "minimize(...)[0]"), w0, "minimize(...)[0]")
