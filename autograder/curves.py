"""Loss curves a test recorded (``curve("validation loss", mine, reference=theirs)``),
shown where a student would rather look than read: as a text sparkline in any output
(Gradescope's test outputs are plain text), and as a PNG in a student's own copy where
matplotlib is installed. matplotlib is imported only when a PNG is drawn.
"""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Any

BARS = "▁▂▃▄▅▆▇█"
WIDTH = 40  # characters of a sparkline: longer curves are sampled


def sparkline(values: list[float | None], low: float, high: float) -> str:
    """``values`` as bars between ``low`` and ``high`` (a gap for a missing value)."""
    if len(values) > WIDTH:
        values = [values[round(i * (len(values) - 1) / (WIDTH - 1))] for i in range(WIDTH)]
    span = high - low
    marks = []
    for value in values:
        if value is None or not math.isfinite(value):
            marks.append(" ")
        else:
            level = 0 if span <= 0 else round((value - low) / span * (len(BARS) - 1))
            marks.append(BARS[min(max(level, 0), len(BARS) - 1)])
    return "".join(marks)


def describe(label: str, kept: dict[str, list[float | None]]) -> list[str]:
    """One line per curve of ``kept`` (``student``, ``reference``), on one shared scale,
    with the first and last values."""
    finite = [v for values in kept.values() for v in values if v is not None and math.isfinite(v)]
    if not finite:
        return []
    low, high = min(finite), max(finite)
    names = {"student": "yours", "reference": "reference"}
    width = max(len(f"{label}, {names.get(who, who)}:") for who in kept)
    lines = []
    for who, values in kept.items():
        ends = [v for v in values if v is not None and math.isfinite(v)]
        span = f"  {ends[0]:.4g} -> {ends[-1]:.4g}" if ends else ""
        head = f"{label}, {names.get(who, who)}:"
        lines.append(f"{head:<{width}} {sparkline(values, low, high)}{span}")
    return lines


def save_png(folder: Path, name: str, label: str, kept: dict[str, list[float | None]]) -> Path | None:
    """Draw ``kept`` into ``folder/<name>-<label>.png``; None where matplotlib is missing."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        from matplotlib import pyplot
    except ImportError:
        return None
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{_slug(name)}-{_slug(label)}.png"
    figure, axes = pyplot.subplots(figsize=(5, 3))
    for who, values in kept.items():
        axes.plot(range(1, len(values) + 1), [_nan(v) for v in values],
                  "k--" if who == "reference" else "-", label="yours" if who == "student" else who)
    axes.set_xlabel("epoch")
    axes.set_ylabel(label)
    axes.legend()
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    pyplot.close(figure)
    return path


def _nan(value: Any) -> float:
    return float("nan") if value is None else float(value)


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
