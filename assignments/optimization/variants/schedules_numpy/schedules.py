"""Learning-rate schedules. ``t`` is the 0-based step (or epoch) index, and every
schedule returns ``lr0`` at ``t = 0``."""

import math

import numpy as np


def step_decay(lr0, t, drop=0.5, every=10):
    """``lr0 * drop ** (t // every)``: multiply by ``drop`` every ``every`` steps."""
    # BEGIN SOLUTION
    # HINT: integer division // makes the rate constant within each block of `every` steps.
    return lr0 * np.power(drop, np.floor(t / every))
    # END SOLUTION


def exponential_decay(lr0, t, gamma=0.96):
    """``lr0 * gamma ** t``."""
    # BEGIN SOLUTION
    return lr0 * np.exp(t * np.log(gamma))
    # END SOLUTION


def inverse_time_decay(lr0, t, k=0.1):
    """``lr0 / (1 + k*t)``."""
    # BEGIN SOLUTION
    return lr0 / (1.0 + k * t)
    # END SOLUTION


def cosine_decay(lr0, t, total, lr_min=0.0):
    """``lr_min + 0.5*(lr0 - lr_min)*(1 + cos(pi * min(t, total) / total))``.

    Falls from ``lr0`` at t = 0 to ``lr_min`` at t = total, and stays there.
    """
    # BEGIN SOLUTION
    # HINT: clamp t with min(t, total) so the rate does not rise again after `total`.
    frac = np.clip(t / total, 0, 1)
    return lr_min + (lr0 - lr_min) * (1 + np.cos(np.pi * frac)) / 2
    # END SOLUTION
