"""Counts in words, for every message the toolkit writes: ``1 day``, ``2 days``."""

from __future__ import annotations


def count(n: float, noun: str, plural: str = "") -> str:
    """``n`` and ``noun``, the noun plural (``plural``, else ``noun`` + s) unless ``n`` is 1:
    ``1 day``, ``3 days``, ``0.5 points``, ``1 point``."""
    number = f"{n:g}" if isinstance(n, float) else str(n)
    return f"{number} {noun if n == 1 else plural or noun + 's'}"
