"""Public tests for optimizers.py: each optimizer decreases a convex quadratic and
makes progress on the Rosenbrock function; minimize follows the lecture's loop."""

import numpy as np

from autograder.authoring import as_array, assert_close, describe_call, each, fail, grades

A = np.array([1.0, 10.0])  # f(w) = 0.5 * sum(A * w**2): a convex, badly scaled bowl
W0 = np.array([3.0, -2.0])

# (class, hyper-parameters, step cap, required distance to the optimum). The reference
# needs 157, 92, 67, 319 and 115 steps: each cap is at least 1.5 times that.
QUADRATIC = [
    ("GradientDescent", {"lr": 0.05}, 300, 1e-3),
    ("Momentum", {"lr": 0.01, "momentum": 0.9}, 300, 1e-2),
    ("AdaGrad", {"lr": 0.5}, 300, 1e-2),
    ("RMSProp", {"lr": 0.01}, 600, 5e-2),
    ("Adam", {"lr": 0.05}, 400, 1e-2),
]


def rosenbrock_grad(w):
    x, y = w
    return np.array([-2 * (1 - x) - 400 * x * (y - x**2), 200 * (y - x**2)])


def rosenbrock(w):
    x, y = w
    return (1 - x) ** 2 + 100 * (y - x**2) ** 2


# The reference needs 1333, 265, 776, 405 and 169 steps to reach 5% of the start value.
ROSENBROCK = [
    ("GradientDescent", {"lr": 0.001}, 2000, 0.05),
    ("Momentum", {"lr": 0.0005, "momentum": 0.9}, 1000, 0.05),
    ("AdaGrad", {"lr": 0.2}, 1200, 0.05),
    ("RMSProp", {"lr": 0.005}, 1000, 0.05),
    ("Adam", {"lr": 0.02}, 1000, 0.05),
]


@each("optimizers", QUADRATIC, "name, hyper, steps, tol")
def test_converges_on_quadratic(sub, name, hyper, steps, tol):
    """converges to the minimum of a convex quadratic"""
    opt = getattr(sub.optimizers, name)(**hyper)
    w = W0.copy()
    best = np.inf
    for _ in range(steps):
        w = as_array(opt.step(w, A * w), f"{name}.step")
        best = min(best, float(np.linalg.norm(w)))
        if best <= tol:
            return
    fail(f"{describe_call(name, hyper)} on f(w) = 0.5*(w1**2 + 10*w2**2) from w = {W0}: after {steps} steps "
         f"the closest it came to the minimum (0, 0) was {best:.3g}; it should reach {tol}.")


@each("optimizers", ROSENBROCK, "name, hyper, steps, tol")
def test_makes_progress_on_rosenbrock(sub, name, hyper, steps, tol):
    """reduces the Rosenbrock function from (-1, 1)"""
    opt = getattr(sub.optimizers, name)(**hyper)
    w = np.array([-1.0, 1.0])
    start = rosenbrock(w)
    curve = []
    for step in range(steps):
        w = as_array(opt.step(w, rosenbrock_grad(w)), f"{name}.step")
        if not np.all(np.isfinite(w)):
            fail(f"{describe_call(name, hyper)} on Rosenbrock produced {w} at step {step + 1}")
        curve.append(rosenbrock(w))
        if min(curve) <= tol * start:
            return
    marks = ", ".join(f"step {i}: {curve[i - 1]:.3g}" for i in (1, 10, 100, steps))
    fail(f"{describe_call(name, hyper)} on Rosenbrock from (-1, 1) (f = {start}): the best value after "
         f"{steps} steps was {min(curve):.3g}, above {tol * start:.3g}. Loss curve: {marks}")


class PlainGD:
    """A minimal optimizer written in the test, so minimize is graded on its own."""

    def __init__(self, lr):
        self.lr = lr
        self.steps = 0

    def step(self, w, grad):
        self.steps += 1
        return w - self.lr * grad


@grades("optimizers.minimize")
def test_minimize_stops_at_tolerance(sub):
    """minimize stops at the first w whose gradient norm is <= tol"""
    opt = PlainGD(0.1)
    w0 = np.array([1.0])
    w, n = sub.optimizers.minimize(lambda w: 2.0 * w, w0, opt, tol=1e-3)
    # w_k = 0.8**k; stop at the first k with 2 * 0.8**k <= 1e-3
    expected = int(np.ceil(np.log(1e-3 / 2) / np.log(0.8)))
    if n != expected or opt.steps != expected:
        fail(f"minimize(grad = 2w, w0 = [1.0], GD lr 0.1, tol=1e-3) should take {expected} steps "
             f"(the first w with |grad| <= tol); it returned n_steps = {n} and called "
             f"optimizer.step {opt.steps} times")
    assert_close(w, 0.8**expected * w0, "minimize(...)[0]")


@grades("optimizers.minimize")
def test_minimize_respects_max_steps(sub):
    """minimize stops after max_steps steps"""
    opt = PlainGD(0.001)
    w, n = sub.optimizers.minimize(lambda w: 2.0 * w, np.array([1.0]), opt, max_steps=7)
    if n != 7 or opt.steps != 7:
        fail(f"minimize(..., max_steps=7) far from convergence should take exactly 7 steps; "
             f"it returned n_steps = {n} after {opt.steps} optimizer steps")
