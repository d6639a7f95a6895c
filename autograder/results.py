"""Gradescope's results.json: build it, write it atomically, show it as a table.

One :class:`Row` per test (or rubric item). The top-level ``score`` is the sum
of the rows less the late penalty, which also appears as its own row and in
``extra_data.late``. Every string of the document and of a grades CSV goes
through :mod:`autograder.sanitize` first: student output never reaches a file or a
terminal with escape sequences or invalid Unicode in it, nor a spreadsheet as a formula.
"""

from __future__ import annotations

import csv
import html
import json
import math
import os
import tempfile
import textwrap
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from autograder import sanitize
from autograder.late_policy import Lateness
from autograder.words import count

RESULTS_CAP = 900_000  # bytes; Gradescope's limit is 1 MB
ROW_OUTPUT_CAP = 4000
# Gradescope's formats (its spec, "Output String Formatting"): "text" renders nothing, in
# a <pre>, so student output and aligned arrays show as they are; "simple_format" is HTML
# with each \n made a line break: the top-level output (escaped) keeps its lines.
FORMATS = {"output_format": "simple_format", "test_output_format": "text",
           "test_name_format": "text"}
TABLE_WIDTH = 100  # characters of a line of the terminal table
NOTE_LINES = 8  # lines of a note (the files found) shown in the terminal table


@dataclass
class Row:
    """One line of the result a student sees."""

    name: str
    score: float
    max_score: float
    tags: list[str] = field(default_factory=list)
    visibility: str = "visible"
    output: str = ""
    status: str | None = None
    extra_data: dict[str, Any] = field(default_factory=dict)
    number: str | None = None  # Gradescope orders the rows by it ("3.1")

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "name": self.name,
            "score": round(self.score, 4),
            "max_score": round(self.max_score, 4),
            "status": self.status or ("passed" if self.score >= self.max_score else "failed"),
            "tags": self.tags,
            "visibility": self.visibility,
            "output": self.output[:ROW_OUTPUT_CAP],
        }
        if self.extra_data:
            data["extra_data"] = self.extra_data
        if self.number:
            data["number"] = self.number
        return data


def build(rows: list[Row], lateness: Lateness | None, summary: str = "",
          extra: dict[str, Any] | None = None, manual_points: float = 0.0) -> dict[str, Any]:
    """The results.json document for ``rows``, with the late penalty applied and every
    string sanitized (before fitting, since an escaped control character is longer).

    The penalty is taken off the whole assignment. Gradescope adds the hand-graded
    points (``manual_points`` at most) to this document's score, so the score may go
    below 0, down to ``-manual_points``: the final grade then carries the penalty once,
    and is never below 0 whenever the student earned at least the penalty."""
    raw = math.fsum(r.score for r in rows)
    tests = [r.to_json() for r in rows]
    extra_data: dict[str, Any] = dict(extra or {})
    penalty = lateness.penalty if lateness is not None else 0.0
    if lateness is not None:
        applied = penalty_rule(manual_points)
        extra_data["late"] = lateness.to_json(applied)
        tests.append(Row("Late penalty", -lateness.penalty, 0.0, ["late_policy"],
                         output=f"{lateness.describe()}\n{applied[0].upper()}{applied[1:]}.",
                         status="passed" if lateness.penalty == 0 else "failed").to_json())
    document = sanitize.clean_tree({
        "score": round(max(raw - penalty, -manual_points), 4) + 0.0,  # never -0.0
        "output": html.escape(summary, quote=False),
        **FORMATS,
        "visibility": "visible",
        "stdout_visibility": "hidden",
        "tests": tests,
        "extra_data": extra_data,
    })
    return _fit(document)


def penalty_rule(manual_points: float) -> str:
    """How the late penalty is applied, in words (``extra_data.late.applied``)."""
    if manual_points <= 0:
        return "taken off this score, which never goes below 0"
    return (f"taken off the whole assignment here, from the autograder's score, which may "
            f"go below 0 (down to -{manual_points:g}) so that the {count(manual_points, 'point')} "
            "graded by hand, which Gradescope adds to it, are charged too; the final grade "
            "never goes below 0")


def _fit(document: dict[str, Any]) -> dict[str, Any]:
    """Shorten outputs until the document is under Gradescope's size limit."""
    cap = ROW_OUTPUT_CAP
    while len(json.dumps(document)) > RESULTS_CAP and cap > 100:
        cap //= 2
        for test in document["tests"]:
            if len(test["output"]) > cap:
                test["output"] = test["output"][:cap] + "\n[... cut to fit results.json]"
    return document


def write_atomic(path: Path, document: dict[str, Any]) -> None:
    """Write JSON to ``path`` through a temporary file and a rename. Documents come
    from :func:`build`, already sanitized; the file itself is plain ASCII."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".results-", suffix=".json")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(document, f, indent=1)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def earned(document: dict[str, Any]) -> float:
    """Every point a results.json document's rows earned, before the late penalty."""
    return math.fsum(t["score"] for t in document["tests"] if "late_policy" not in t["tags"])


def scores_by_tag(document: dict[str, Any]) -> dict[str, tuple[float, float]]:
    """(score, max score) per first tag (a contract name or question), in order."""
    groups: dict[str, tuple[float, float]] = {}
    for test in document["tests"]:
        tag = test["tags"][0] if test["tags"] else test["name"]
        score, top = groups.get(tag, (0.0, 0.0))
        groups[tag] = (score + test["score"], top + test["max_score"])
    return groups


def submitters(users: list[dict[str, Any]]) -> dict[str, str]:
    """The ``students`` and ``emails`` columns of a grades CSV."""
    return {"students": "; ".join(str(u.get("name", "")) for u in users),
            "emails": "; ".join(str(u.get("email", "")) for u in users)}


def table(document: dict[str, Any], title: str = "", full: bool = False) -> str:
    """A plain-text table of the tests, grouped by tag, with the total. Rows that carry no
    points (the files found, for example) are notes above it; the first failures of a tag
    are shown below it, cut at word boundaries, or, ``full``, every failure whole, line by
    line, and every note."""
    lines = [title] if title else []
    groups = scores_by_tag(document)
    notes = {tag for tag, (score, top) in groups.items() if score == top == 0}
    failures: dict[str, list[list[str]]] = {}  # tag -> the lines of each failure
    for test in document["tests"]:
        tag = test["tags"][0] if test["tags"] else test["name"]
        said = test["output"].strip().splitlines()
        if tag in notes:  # one line, or one line each under the row's name
            if len(said) > NOTE_LINES and not full:
                said = [*said[:NOTE_LINES - 1], f"[... {len(said) - NOTE_LINES + 1} more]"]
            heading = f"{test['name']}: {said[0]}" if len(said) == 1 else f"{test['name']}:"
            lines += [f"  {heading}"] if full else _wrapped(heading, "  ", 2)
            for line in said if len(said) > 1 else []:
                lines += [f"    {line}"] if full else _wrapped(line, "    ", 2)
        elif test["status"] == "failed" and said:
            name = test["name"].removeprefix(f"{tag}: ")
            failures.setdefault(tag, []).append(
                [f"      {name}:", *(f"        {line}" for line in said)] if full
                else _wrapped(f"{name}: {' '.join(test['output'].split())}", "      ", 2))
    width = max((len(t) for t in groups if t not in notes), default=10)
    for tag, (score, top) in groups.items():
        if tag in notes:
            continue
        mark = "  " if score >= top else "✗ "
        lines.append(f"{mark}{tag:<{width}}  {score:6.2f} / {top:6.2f}")
        shown = failures.get(tag, []) if full else failures.get(tag, [])[:2]
        lines += [line for failure in shown for line in failure]
    total = sum(t["max_score"] for t in document["tests"])
    lines.append(f"  {'TOTAL':<{width}}  {document['score']:6.2f} / {total:6.2f}")
    return "\n".join(lines)


def _wrapped(text: str, indent: str, max_lines: int) -> list[str]:
    """``text`` in lines of at most TABLE_WIDTH characters, broken between words."""
    return textwrap.wrap(text, TABLE_WIDTH, initial_indent=indent, subsequent_indent=indent + "  ",
                         max_lines=max_lines, placeholder=" [...]")


def write_csv(path: Path, rows: list[dict[str, Any]]) -> None:
    """Write dictionaries with the same keys as a CSV file, every text cell (the header's
    too) sanitized and never a formula (:func:`sanitize.csv_cell`)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    columns = list(dict.fromkeys(key for row in rows for key in row)) or ["submission"]
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow([sanitize.csv_cell(column) for column in columns])
        writer.writerows([sanitize.csv_cell(row.get(column, "")) for column in columns]
                         for row in rows)
