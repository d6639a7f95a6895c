"""Points, exactly: a contract name's points are shared between its test groups
(public, hidden) in whole hundredths, so the rows of a name add up to the name's
points, and a perfect submission scores the assignment's total, with no 99.9999.
"""

from __future__ import annotations

from fractions import Fraction

CENT = Fraction(1, 100)


def exact(points: float) -> Fraction:
    """``points`` as the decimal the author wrote (2.3 is 23/10, not a binary fraction)."""
    return Fraction(repr(float(points)))


def split(points: float, weights: list[float]) -> list[Fraction]:
    """``points`` shared in proportion to ``weights``, each share a whole number of
    hundredths and the shares adding up to ``points`` (largest remainder first)."""
    total, whole = exact(points), sum(exact(w) for w in weights)
    if total % CENT:
        raise ValueError(f"{points:g} points cannot be shared in hundredths")
    ideal = [total * exact(w) / whole for w in weights]
    shares = [share - share % CENT for share in ideal]
    left = int((total - sum(shares)) / CENT)
    by_remainder = sorted(range(len(ideal)), key=lambda i: (-(ideal[i] % CENT), i))
    for i in by_remainder[:left]:
        shares[i] += CENT
    return shares


def earned(share: Fraction, passed: list[float], weights: list[float]) -> Fraction:
    """The part of ``share`` earned by the passing tests (weights ``passed`` of
    ``weights``), rounded to the nearest hundredth; all of it when every test passed."""
    whole = sum(exact(w) for w in weights)
    part = share * sum(exact(w) for w in passed) / whole
    return part if part == share else round(part / CENT) * CENT
