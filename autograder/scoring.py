"""Points, exactly: a contract name's points are shared between its test groups
(public, hidden) in whole hundredths, so the rows of a name add up to the name's
points, and a perfect submission scores the assignment's total, with no 99.9999.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Any

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


@dataclass
class GroupPoints:
    """What one test group (public, hidden) is worth for one contract name, and what
    its passing tests earned of it."""

    target: str
    group: str
    share: Fraction
    earned: Fraction
    tests: list[Any]


def group_points(points: dict[str, float], visibility: dict[str, str], outcomes: list[Any],
                 unseen: dict[str, dict[str, float]] | None = None) -> list[GroupPoints]:
    """Each contract name's share per test group, in the order of ``points``, visible
    groups first. ``outcomes`` have ``target``, ``group``, ``weight`` and ``passed``.
    ``unseen`` maps a group whose tests are not here (the hidden tests, in a student's
    copy) to its weight per name: it takes its share of the name's points, and no entry."""
    unseen = unseen or {}
    parts = []
    for target, target_points in points.items():
        groups: dict[str, list[Any]] = {}
        for outcome in outcomes:
            if outcome.target == target:
                groups.setdefault(outcome.group, []).append(outcome)
        weights = {g: sum(o.weight for o in tests) for g, tests in groups.items()}
        weights |= {g: w[target] for g, w in unseen.items() if w.get(target) and g not in groups}
        names = sorted(weights, key=lambda g: (visibility.get(g) != "visible", g))
        for group, share in zip(names, split(target_points, [weights[g] for g in names])):
            if group in groups:
                tests = groups[group]
                score = earned(share, [o.weight for o in tests if o.passed],
                               [o.weight for o in tests])
                parts.append(GroupPoints(target, group, share, score, tests))
    return parts
