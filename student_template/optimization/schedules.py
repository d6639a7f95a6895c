"""Learning-rate schedules. ``t`` is the 0-based step (or epoch) index, and every
schedule returns ``lr0`` at ``t = 0``."""

import math


def step_decay(lr0, t, drop=0.5, every=10):
    """``lr0 * drop ** (t // every)``: multiply by ``drop`` every ``every`` steps."""
    # Hint: integer division // makes the rate constant within each block of `every` steps.
    raise NotImplementedError("TODO: implement step_decay")


def exponential_decay(lr0, t, gamma=0.96):
    """``lr0 * gamma ** t``."""
    raise NotImplementedError("TODO: implement exponential_decay")


def inverse_time_decay(lr0, t, k=0.1):
    """``lr0 / (1 + k*t)``."""
    raise NotImplementedError("TODO: implement inverse_time_decay")


def cosine_decay(lr0, t, total, lr_min=0.0):
    """``lr_min + 0.5*(lr0 - lr_min)*(1 + cos(pi * min(t, total) / total))``.

    Falls from ``lr0`` at t = 0 to ``lr_min`` at t = total, and stays there.
    """
    # Hint: clamp t with min(t, total) so the rate does not rise again after `total`.
    raise NotImplementedError("TODO: implement cosine_decay")
