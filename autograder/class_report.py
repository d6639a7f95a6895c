"""The class report of ``grade-batch`` (``report.html``): where the class stands and
where it struggled, on one page that can be emailed.

- the scores: a histogram, the mean, median and maximum (one score per student);
- per contract name (per question for a written assignment): the mean points out of
  the name's points and the pass rate, hardest first (one count per submission);
- the most common failed tests and the classic mistakes the grader named, with counts;
- every curve the tests recorded (``extra_data['curves']`` of a row; the optimization
  assignment's training and validation losses): the class's median and spread against
  the reference's;
- the late days; a table of the students, each linking to a readable page of their
  results (``results/<id>.html``, next to ``results/<id>.json``).

Figures are drawn by matplotlib (the ``[instructor]`` extra, imported only here, on the
Agg renderer without pyplot) and embedded as PNG data URIs; without matplotlib the report
says so and keeps its tables. The pages load nothing and run nothing (their
Content-Security-Policy allows only inline styles and data: images), and every string
that came from a submission is sanitized and HTML-escaped.
"""

from __future__ import annotations

import base64
import html
import io
import math
import re
import statistics
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import numpy as np

from autograder import results, sanitize
from autograder.config import Assignment
from autograder.words import count

CSP = "default-src 'none'; img-src data:; style-src 'unsafe-inline'"
STYLE = """body{font-family:system-ui,sans-serif;max-width:64rem;margin:1rem auto;padding:0 1rem;
color:#222}table{border-collapse:collapse;margin:.5rem 0}td,th{border-bottom:1px solid #ddd;
padding:3px 8px;text-align:left;vertical-align:top}th{background:#f4f4f4}td.n{text-align:right;
font-variant-numeric:tabular-nums}pre{white-space:pre-wrap;margin:0;font-size:.85rem}
.bar{display:inline-block;height:.7rem;background:#2e86c1}.note{color:#666}
img{max-width:100%}.failed{color:#c0392b}"""
TOP = 12  # rows of the tables of failures and of named mistakes
PARAMETERS = re.compile(r" \[[^\]]*\]$")  # "title [case-id]" of a parametrized test
NO_MATPLOTLIB = "(figures need matplotlib: pip install 'autograder[instructor]')"


def esc(value: object) -> str:
    """Any value as safe HTML text: sanitized, then escaped (quotes too)."""
    return html.escape(sanitize.clean(value))


# -- what the report counts -----------------------------------------------------------
@dataclass(frozen=True)
class NameStats:
    """How the class did on one contract name (or question)."""

    name: str
    mean: float
    points: float
    pass_rate: float
    submissions: int


def name_stats(documents: Iterable[dict[str, Any]]) -> list[NameStats]:
    """Per contract name with points: the mean score, the points, the share of submissions
    with every point; hardest first (lowest mean share, then lowest pass rate)."""
    scores: dict[str, list[float]] = {}
    points: dict[str, float] = {}
    for document in documents:
        for tag, (score, top) in results.scores_by_tag(document).items():
            if top > 0:
                scores.setdefault(tag, []).append(score)
                points[tag] = max(points.get(tag, 0.0), top)
    found = [NameStats(tag, statistics.fmean(got), points[tag],
                       sum(s >= points[tag] - 1e-9 for s in got) / len(got), len(got))
             for tag, got in scores.items()]
    return sorted(found, key=lambda s: (s.mean / s.points, s.pass_rate, s.name))


def failed_tests(test: dict[str, Any]) -> list[tuple[str, str]]:
    """(what failed, the first line of why) for a failed row of results.json: each test
    the row lists as failed (``✗ title``, its message indented below; the cases of a
    parametrized test are one test), else the row."""
    lines = str(test.get("output", "")).splitlines()
    found = []
    for i, line in enumerate(lines):
        if line.startswith("✗ "):
            after = lines[i + 1].strip() if i + 1 < len(lines) and lines[i + 1].startswith(" ") \
                else ""
            found.append((PARAMETERS.sub("", line[2:].strip()), after))
    return found or [(str(test.get("name", "")), lines[0].strip() if lines else "")]


def failures(documents: Iterable[dict[str, Any]]) -> tuple[Counter, Counter, dict]:
    """How many submissions failed each (contract name, test), with an example of why, and
    how many made each named mistake (contract name, mistake): a mistake the grader named
    (a row's ``extra_data['mistakes']``), never a line of the output that reads like one,
    which the student's code may have printed."""
    failed: Counter = Counter()
    mistakes: Counter = Counter()
    examples: dict[tuple[str, str], str] = {}
    for document in documents:
        seen, made = set(), set()
        for test in document.get("tests", []):
            if test.get("status") != "failed" or not test.get("max_score"):
                continue
            tag = test["tags"][0] if test.get("tags") else test.get("name", "")
            for title, why in failed_tests(test):
                seen.add((tag, title))
                examples.setdefault((tag, title), why)
            named = (test.get("extra_data") or {}).get("mistakes")
            made |= {(tag, str(said)) for said in (named if isinstance(named, list) else [])}
        failed.update(seen)
        mistakes.update(made)
    return failed, mistakes, examples


def curves(documents: Iterable[dict[str, Any]]) -> dict[str, tuple[list[list[float]], list[float]]]:
    """Per curve label: every submission's curve that has a number in it, and the
    reference's (empty if none was recorded). A submission counts once per label."""
    found: dict[str, tuple[list[list[float]], list[float]]] = {}
    for document in documents:
        seen = set()
        for test in document.get("tests", []):
            for label, curve in ((test.get("extra_data") or {}).get("curves") or {}).items():
                if label in seen or not isinstance(curve, dict):
                    continue
                seen.add(label)
                points = _numbers(curve.get("student"))
                if not any(map(math.isfinite, points)):
                    continue
                students, reference = found.setdefault(str(label), ([], []))
                students.append(points)
                if not reference:
                    reference.extend(_numbers(curve.get("reference")))
    return found


def _numbers(values: Any) -> list[float]:
    """A recorded curve as floats (NaN where a point is missing or not a number)."""
    if not isinstance(values, list):
        return []
    return [float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else math.nan
            for v in values]


def scores_of(rows: list[dict[str, Any]]) -> list[float]:
    """Every graded student's score (grades.csv's rows)."""
    return [float(row["score"]) for row in rows if not row["error"]]


# -- figures ----------------------------------------------------------------------------
def figure(draw: Callable[[Any], None], alt: str, counts: str,
           size: tuple[float, float] = (6.4, 2.6)) -> str:
    """An <img> of what ``draw`` draws on a fresh matplotlib axes, as a PNG data URI
    (``counts``, "x" or "y": the axis whose ticks are whole numbers); a note instead when
    matplotlib is not installed."""
    try:
        from matplotlib.figure import Figure  # the object API: no pyplot, no global backend
        from matplotlib.ticker import MaxNLocator
    except ImportError:
        return f"<p class='note'>{esc(NO_MATPLOTLIB)}</p>"
    fig = Figure(figsize=size, dpi=100, layout="constrained")
    axes = fig.add_subplot()
    axes.grid(alpha=0.3)
    draw(axes)
    getattr(axes, f"{counts}axis").set_major_locator(MaxNLocator(integer=True))
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")  # the Agg renderer
    data = base64.b64encode(buffer.getvalue()).decode("ascii")
    return f"<img alt='{esc(alt)}' src='data:image/png;base64,{data}'>"


def histogram(scores: list[float], possible: float) -> Callable[[Any], None]:
    """Draws the class's scores in 20 bins from the lowest score (or 0) to the points possible."""
    def draw(axes: Any) -> None:
        low, high = min(0.0, *scores), max(possible, *scores)
        axes.hist(scores, bins=np.linspace(low, high, 21) if high > low else 1, color="#2e86c1",
                  edgecolor="white")
        axes.set_xlabel("score")
        axes.set_ylabel("students")
    return draw


def late_bars(days: Counter) -> Callable[[Any], None]:
    """Draws the number of students per days late."""
    def draw(axes: Any) -> None:
        labels = sorted(days, key=lambda d: (isinstance(d, str), d))
        axes.bar([str(d) for d in labels], [days[d] for d in labels], color="#8e44ad")
        axes.set_xlabel("days late")
        axes.set_ylabel("students")
    return draw


def curve_band(label: str, students: list[list[float]], reference: list[float],
               ) -> Callable[[Any], None]:
    """Draws the class's median of a curve, its middle half and its range, per step, with
    the reference's curve."""
    def draw(axes: Any) -> None:
        width = max(len(c) for c in students)
        grid = np.full((len(students), width), np.nan)
        for i, curve in enumerate(students):
            grid[i, :len(curve)] = curve
        grid[~np.isfinite(grid)] = np.nan
        steps = np.arange(1, width + 1)
        kept = ~np.all(np.isnan(grid), axis=0)
        low, quartile1, median, quartile3, high = np.nanpercentile(
            grid[:, kept], [0, 25, 50, 75, 100], axis=0)
        axes.fill_between(steps[kept], low, high, color="#aed6f1", label="class: range")
        axes.fill_between(steps[kept], quartile1, quartile3, color="#5dade2", label="class: middle half")
        axes.plot(steps[kept], median, color="#1b4f72", label="class: median")
        if reference:
            axes.plot(np.arange(1, len(reference) + 1), reference, "k--", label="reference")
        axes.set_xlabel("epoch")
        axes.set_ylabel(label)
        axes.legend(fontsize="small")
    return draw


# -- the pages --------------------------------------------------------------------------
def write(out: Path, assignment: Assignment, rows: list[dict[str, Any]],
          documents: dict[str, dict[str, Any]]) -> Path:
    """Write ``report.html`` into ``out``, and ``results/<id>.html`` for each graded
    submission; return the report's path."""
    for sid, document in documents.items():
        names = [row["student"] for row in rows if row["submission"] == sid and row["student"]]
        (out / "results" / f"{sid}.html").write_text(
            submission_page(assignment, sid, document, names), encoding="utf-8")
    path = out / "report.html"
    path.write_text(report_page(assignment, rows, documents), encoding="utf-8")
    return path


def report_page(assignment: Assignment, rows: list[dict[str, Any]],
                documents: dict[str, dict[str, Any]]) -> str:
    """The class report, as one self-contained HTML page."""
    graded = list(documents.values())
    possible = max((sum(t["max_score"] for t in d["tests"]) for d in graded), default=0.0)
    scores = scores_of(rows)
    errors = [row for row in rows if row["error"]]
    failed = {r["submission"] for r in errors}
    body = [f"<h1>{esc(assignment.title)}</h1>",
            f"<p>{count(len(documents) + len(failed), 'submission')}, "
            f"{count(len(rows), 'student')}; {len(graded)} graded.</p>"]
    if failed:
        body.append(f"<p class='failed'>{count(len(failed), 'submission')} could not be "
                    "graded (the table of students says why).</p>")
    body += score_section(scores, possible, assignment.manual_points)
    if graded:
        body += names_section(name_stats(graded), assignment.kind)
        body += failures_section(*failures(graded))
    for label, (students, reference) in curves(graded).items():
        body += [f"<h2>{esc(label)}</h2>",
                 f"<p>{count(len(students), 'submission')}; the reference's curve dashed.</p>",
                 figure(curve_band(label, students, reference), f"{label} of the class", "x")]
    body += late_section(rows)
    body += students_section(rows)
    return page(f"{assignment.title}: class report", body)


def page(title: str, body: list[str]) -> str:
    """A complete HTML page that loads nothing and runs nothing."""
    return (f"<!doctype html>\n<html lang='en'><head><meta charset='utf-8'>"
            f"<meta http-equiv='Content-Security-Policy' content=\"{CSP}\">"
            f"<title>{esc(title)}</title><style>{STYLE}</style></head>\n<body>\n"
            + "\n".join(body) + "\n</body></html>\n")


def score_section(scores: list[float], possible: float, manual: float) -> list[str]:
    """The histogram of the scores, with the mean, median and maximum."""
    out_of = f" out of {possible:g} points" + (
        f" (the autograder's; {manual:g} more are graded by hand)" if manual else "")
    if not scores:
        return ["<h2>Scores</h2>", "<p>No submission could be graded.</p>"]
    return ["<h2>Scores</h2>",
            f"<p>Per student, after the late penalty{out_of}: mean "
            f"<b>{statistics.fmean(scores):.2f}</b>, median <b>{statistics.median(scores):.2f}</b>, "
            f"maximum <b>{max(scores):.2f}</b> ({count(len(scores), 'student')}).</p>",
            figure(histogram(scores, possible), "histogram of the scores", "y")]


def names_section(stats: list[NameStats], kind: str) -> list[str]:
    """The table of contract names (questions), hardest first."""
    what = "question" if kind == "written" else "contract name"
    lines = [f"<h2>Per {what}, hardest first</h2>",
             f"<table><tr><th>{what}</th><th>mean points</th><th>pass rate</th><th></th></tr>"]
    for s in stats:
        lines.append(f"<tr><td>{esc(s.name)}</td><td class='n'>{s.mean:.2f} / {s.points:g}</td>"
                     f"<td class='n'>{s.pass_rate:.0%}</td><td><span class='bar' "
                     f"style='width:{s.pass_rate * 8:.2f}rem'></span></td></tr>")
    return [*lines, "</table>"]


def failures_section(failed: Counter, mistakes: Counter, examples: dict) -> list[str]:
    """The tables of the most common failed tests and named mistakes."""
    lines = ["<h2>Most common failures</h2>"]
    if failed:
        lines.append("<table><tr><th>submissions</th><th>contract name</th><th>failed test</th>"
                     "<th>for example</th></tr>")
        for (tag, title), count in failed.most_common(TOP):
            lines.append(f"<tr><td class='n'>{count}</td><td>{esc(tag)}</td><td>{esc(title)}</td>"
                         f"<td><pre>{esc(examples[tag, title])}</pre></td></tr>")
        lines.append("</table>")
    else:
        lines.append("<p>No test failed.</p>")
    lines.append("<h2>Named mistakes</h2>")
    if not mistakes:
        return [*lines, "<p>No failure matched a known mistake.</p>"]
    lines.append("<table><tr><th>submissions</th><th>contract name</th><th>classic mistake</th></tr>")
    lines += [f"<tr><td class='n'>{count}</td><td>{esc(tag)}</td><td>{esc(said)}</td></tr>"
              for (tag, said), count in mistakes.most_common(TOP)]
    return [*lines, "</table>"]


def late_section(rows: list[dict[str, Any]]) -> list[str]:
    """The number of students per days late."""
    days = Counter(row["late_days"] if row["late_days"] != "" else "no date"
                   for row in rows if not row["error"])
    if not days:
        return []
    if set(days) == {"no date"}:
        return ["<h2>Days late</h2>", "<p>No submission times are known (no metadata).</p>"]
    table = "".join(f"<tr><td>{esc(d)}</td><td class='n'>{n}</td></tr>"
                    for d, n in sorted(days.items(), key=lambda kv: (isinstance(kv[0], str), kv[0])))
    return ["<h2>Days late</h2>", figure(late_bars(days), "students per days late", "y"),
            f"<table><tr><th>days late</th><th>students</th></tr>{table}</table>"]


def students_section(rows: list[dict[str, Any]]) -> list[str]:
    """Every student, with a link to their submission's results."""
    lines = ["<h2>Students</h2>", "<table><tr><th>student</th><th>email</th><th>submission</th>"
             "<th>score</th><th>days late</th><th>penalty</th><th>error</th></tr>"]
    for row in sorted(rows, key=lambda r: (str(r["student"]).casefold(), str(r["submission"]))):
        sid = str(row["submission"])
        link = esc(sid)
        if not row["error"]:
            link = (f"<a href='{esc('results/' + quote(sid) + '.html')}'>{esc(sid)}</a> "
                    f"(<a href='{esc('results/' + quote(sid) + '.json')}'>json</a>)")
        lines.append(f"<tr><td>{esc(row['student'])}</td><td>{esc(row['email'])}</td>"
                     f"<td>{link}</td><td class='n'>{esc(row['score'])}</td>"
                     f"<td class='n'>{esc(row['late_days'])}</td>"
                     f"<td class='n'>{esc(row['late_penalty'])}</td>"
                     f"<td class='failed'>{esc(row['error'])}</td></tr>")
    return [*lines, "</table>"]


def submission_page(assignment: Assignment, sid: str, document: dict[str, Any],
                    students: list[str]) -> str:
    """One submission's results.json, readable: the score, the summary and every row."""
    possible = sum(t["max_score"] for t in document["tests"])
    late = (document.get("extra_data") or {}).get("late") or {}
    body = [f"<p><a href='../report.html'>class report</a> · "
            f"<a href='{esc(quote(sid) + '.json')}'>results.json</a></p>",
            f"<h1>{esc(sid)}</h1>",
            f"<p>{esc(', '.join(students) or 'submitters unknown')}</p>",
            f"<p>Score <b>{document['score']:g}</b> of {possible:g}"
            + (f", after {count(late['penalty'], 'point')} off for {count(late['days'], 'day')} "
               "late" if late and late.get("days") else "") + "</p>",
            f"<pre>{esc(html.unescape(str(document.get('output', ''))))}</pre>",
            "<table><tr><th>#</th><th>row</th><th>points</th><th>visibility</th><th>output</th>"
            "</tr>"]
    for test in document["tests"]:
        mark = " class='failed'" if test.get("status") == "failed" else ""
        body.append(f"<tr><td>{esc(test.get('number', ''))}</td><td{mark}>{esc(test['name'])}</td>"
                    f"<td class='n'>{test['score']:g} / {test['max_score']:g}</td>"
                    f"<td>{esc(test.get('visibility', ''))}</td>"
                    f"<td><pre>{esc(test.get('output', ''))}</pre></td></tr>")
    body.append("</table>")
    return page(f"{assignment.title}: {sid}", body)
