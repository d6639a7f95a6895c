"""What a student reads after ``python -m pytest`` in their copy of an assignment.

One block per contract name, in the assignment's order, with the public points
earned out of the public points possible (shared exactly as on Gradescope, by
:func:`autograder.scoring.group_points`); one short reason for a failing name;
then the total. ``-v`` shows every failed test whole, and what each test's code
printed.
"""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

from autograder import curves, scoring
from autograder.config import Assignment

SHORT_LINES = 6  # lines of a failure message shown without -v
PRINTED_LINES = 5  # lines of the student's own output shown without -v
INDENT = " " * 7


def local_report(assignment: Assignment, outcomes: list[Any],
                 unseen: dict[str, dict[str, float]], verbose: bool,
                 plots: Path | None = None) -> list[str]:
    """The report's lines for the tests that ran (none when no test ran). The curves the
    tests recorded are drawn as sparklines, and as PNGs in ``plots`` where matplotlib is
    installed."""
    ran = {o.target for o in outcomes if o.ran}
    parts = scoring.group_points(assignment.points, assignment.visibility, outcomes, unseen)
    shown = [p for p in parts if p.target in ran]
    if not shown:
        return []
    width = max(len(p.target) for p in shown)
    lines: list[str] = []
    reasons: set[str] = set()
    for part in shown:
        lines += name_block(part, width, verbose, reasons) + curve_lines(part, plots)
    earned = float(sum(p.earned for p in shown))
    possible = float(sum(p.share for p in shown))
    selected = len(shown) < len(parts) or any(not o.ran for o in outcomes)
    names = ran if selected else set(assignment.points)  # the hidden points of these names
    hidden = float(sum(scoring.exact(assignment.points[t]) for t in names)
                   - sum(p.share for p in parts if p.target in names))
    closing = f"Public tests: {earned:.2f} of {possible:.2f} points"
    if selected:
        closing += " (only the tests you selected ran)"
    whose = " of these names" if selected else ""
    closing += ". Hidden tests" + (f" ({hidden:.2f} more points{whose})" if hidden > 0 else "")
    lines.append(closing + " run on Gradescope after you submit.")
    return lines


def name_block(part: scoring.GroupPoints, width: int, verbose: bool, reasons: set[str]) -> list[str]:
    """One contract name's line, and what a student needs to act on when it failed."""
    ran = [t for t in part.tests if t.ran]
    failed = [t for t in ran if not t.passed]
    points = f"{float(part.earned):5.2f} / {float(part.share):5.2f}"
    note = f"  ({len(ran)} of {len(part.tests)} tests ran)" if len(ran) < len(part.tests) else ""
    if not failed:
        return [f"ok   {part.target:<{width}}  {points}{note}", *(printed(ran, True) if verbose else [])]
    if failed[0].stub and not verbose:
        return [f"--   {part.target:<{width}}  {points}  not implemented yet{note}"]
    lines = [f"FAIL {part.target:<{width}}  {points}  {len(failed)} of {len(ran)} tests "
             f"failed{note}"]
    for test in failed if verbose else failed[:1]:
        lines += reason(test, verbose, reasons) + printed([test], verbose)
    return lines + (printed([t for t in ran if t.passed], verbose) if verbose else [])


def curve_lines(part: scoring.GroupPoints, plots: Path | None) -> list[str]:
    """The curves a name's tests recorded: sparklines, and the path of each PNG drawn."""
    lines = []
    for test in part.tests:
        for label, kept in test.curves.items():
            lines += [INDENT + line for line in curves.describe(label, kept)]
            drawn = curves.save_png(plots, part.target, label, kept) if plots else None
            if drawn is not None:
                lines.append(f"{INDENT}plot: {drawn}")
    return lines


def reason(test: Any, verbose: bool, reasons: set[str]) -> list[str]:
    """A failed test's title and message: whole with ``-v``; otherwise the message's
    first lines, or only its first line when an earlier name showed the same message
    (a file that cannot be imported fails every name in it)."""
    lines = (test.message or "failed").strip().splitlines()
    seen = test.message in reasons
    reasons.add(test.message)
    if not verbose and seen:
        return [f"{INDENT}{lines[0]} (as above)"]
    if not verbose and len(lines) > SHORT_LINES:
        lines = [*lines[:SHORT_LINES], "[... python -m pytest -v shows the whole message]"]
    return [f"{INDENT}{test.title}:", *(textwrap.indent(line, INDENT + "  ") for line in lines)]


def printed(tests: list[Any], verbose: bool) -> list[str]:
    """What the student's code printed during ``tests``: its first lines, all with ``-v``."""
    lines = []
    for test in tests:
        if test.output.strip():
            out = test.output.strip().splitlines()
            if not verbose and len(out) > PRINTED_LINES:
                out = [*out[:PRINTED_LINES], f"[... {len(out) - PRINTED_LINES} more lines]"]
            lines += [f"{INDENT}your code printed ({test.title}):",
                      *(f"{INDENT}  | {line}" for line in out)]
    return lines
