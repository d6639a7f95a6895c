"""The rubric of a written assignment: print it for Gradescope's rubric editor, and
merge the graders' manual scores with the auto scores and late penalties.

Manual scores come as a CSV with one row per student: an ``email`` (or
``submission``) column and one column per manual item, named ``q1.did_well``
and so on (``autograder rubric NAME --format csv`` lists them). Problems are
reported by line; valid rows are merged all the same.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

from autograder import late_policy, results
from autograder.config import Assignment


def render(assignment: Assignment, fmt: str = "text") -> str:
    """The rubric as text (one block per question) or as CSV."""
    if fmt == "csv":
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(["question", "item", "column", "points", "kind", "description"])
        for q in assignment.questions:
            for item in q.rubric:
                writer.writerow([q.id, item.id, f"{q.id}.{item.id}", f"{item.points:g}",
                                 item.kind, item.description])
        return out.getvalue()
    lines = [f"{assignment.title}: {assignment.total_points:g} points", ""]
    for number, q in enumerate(assignment.questions, start=1):
        total = sum(item.points for item in q.rubric)
        lines.append(f"Question {number} ({total:g} points): {q.heading}")
        for item in q.rubric:
            who = "autograder" if item.kind == "auto" else "manual"
            lines.append(f"  +{item.points:g}\t{item.description}  [{who}]")
        lines.append("")
    lines.append("Enter each question's items in Gradescope's rubric editor as positive "
                 "(additive) items with the points shown.")
    return "\n".join(lines)


def manual_items(assignment: Assignment) -> dict[str, float]:
    """CSV column name -> points, for every manual item."""
    return {f"{q.id}.{item.id}": item.points for q in assignment.questions
            for item in q.rubric if item.kind == "manual"}


def load_graded(assignment: Assignment, results_dir: Path) -> dict[str, dict[str, Any]]:
    """Graded submissions (grade-batch output) by submission id and by student email."""
    graded: dict[str, dict[str, Any]] = {}
    folder = results_dir / "results" if (results_dir / "results").is_dir() else results_dir
    for path in sorted(folder.glob("*.json")):
        if path.name.endswith(".metadata.json"):
            continue
        document = json.loads(path.read_text(encoding="utf-8"))
        meta_path = path.with_name(path.stem + ".metadata.json")
        metadata = json.loads(meta_path.read_text()) if meta_path.is_file() else {}
        raw = sum(t["score"] for t in document["tests"] if "late_policy" not in t["tags"])
        late = document.get("extra_data", {}).get("late", {})
        entry = {"submission": path.stem, "auto": raw, "users": metadata.get("users") or [],
                 "late_days": late.get("days", 0), "late_penalty": late.get("penalty", 0.0)}
        graded[path.stem] = entry
        for user in entry["users"]:
            if user.get("email"):
                graded[str(user["email"]).lower()] = entry
    return graded


def merge(assignment: Assignment, manual_csv: Path, results_dir: Path, out: Path) -> list[str]:
    """Write final grades (auto + manual - late penalty, never below 0); return problems.
    The late penalty is the one each results.json recorded (``extra_data.late``)."""
    items = manual_items(assignment)
    graded = load_graded(assignment, results_dir)
    problems: list[str] = []
    with open(manual_csv, newline="", encoding="utf-8-sig") as f:
        reader = csv.DictReader(f)
        columns = reader.fieldnames or []
        key = next((c for c in ("email", "submission") if c in columns), None)
        if key is None:
            return [f"{manual_csv.name}: line 1: no 'email' or 'submission' column"]
        for column in items:
            if column not in columns:
                problems.append(f"{manual_csv.name}: line 1: missing column '{column}' "
                                "(counted as 0 for every student)")
        manual: dict[str, float] = {}
        for line, row in enumerate(reader, start=2):
            who = (row.get(key) or "").strip()
            entry = graded.get(who.lower() if key == "email" else who)
            if entry is None:
                problems.append(f"{manual_csv.name}: line {line}: unknown student '{who}'")
                continue
            score, errors = row_score(row, items)
            if errors:
                problems += [f"{manual_csv.name}: line {line}: {e} (row skipped)" for e in errors]
                continue
            manual[entry["submission"]] = score
    rows = []
    for sid in sorted({e["submission"] for e in graded.values()}):
        entry = graded[sid]
        subtotal = entry["auto"] + manual.get(sid, 0.0)
        rows.append({
            "submission": sid,
            **results.submitters(entry["users"]),
            "auto": round(entry["auto"], 4),
            "manual": round(manual[sid], 4) if sid in manual else "",
            "late_days": entry["late_days"],
            "late_penalty": entry["late_penalty"],
            "total": round(late_policy.final_score(subtotal, entry["late_penalty"]), 4),
            "manual_graded": sid in manual,
        })
    results.write_csv(out, rows)
    return problems


def row_score(row: dict[str, str], items: dict[str, float]) -> tuple[float, list[str]]:
    """The manual points of one CSV row, and what is wrong with it."""
    total, errors = 0.0, []
    for column, points in items.items():
        text = (row.get(column) or "").strip()
        if not text:
            continue
        try:
            value = float(text)
        except ValueError:
            errors.append(f"'{column}' = '{text}' is not a number")
            continue
        if not 0 <= value <= points:
            errors.append(f"'{column}' = {value:g} is outside 0 to {points:g} points")
            continue
        total += value
    return total, errors
