"""The rubric of a written assignment: print it for Gradescope's rubric editor, and
merge the graders' manual scores with the auto scores and late penalties.

Manual scores come as a CSV with one row per student: an ``email`` (or
``submission``) column and one column per manual item, named ``q1.did_well``
and so on (``autograder rubric NAME --format csv`` lists them; other columns are
ignored). What makes a merge impossible (no such file, no ``email`` column, no results,
results of another assignment) is a :class:`ConfigError` and nothing is written.
Problems with rows or columns are returned, one line each: the valid rows are merged
all the same, and the caller reports failure.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

from autograder import late_policy, results, sanitize
from autograder.config import Assignment, ConfigError
from autograder.words import count


def require_written(assignment: Assignment) -> None:
    """A rubric belongs to a written assignment; anything else is a one-line error."""
    if assignment.kind != "written":
        raise ConfigError(f"{assignment.name} is a {assignment.kind} assignment, graded by its "
                          "tests: it has no rubric")


def render(assignment: Assignment, fmt: str = "text") -> str:
    """The rubric as text (one block per question) or as CSV."""
    require_written(assignment)
    if fmt == "csv":
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(["question", "item", "column", "points", "kind", "description"])
        for q in assignment.questions:
            for item in q.rubric:
                writer.writerow([sanitize.csv_cell(cell) for cell in (
                    q.id, item.id, f"{q.id}.{item.id}", f"{item.points:g}", item.kind,
                    item.description)])
        return out.getvalue()
    lines = [f"{assignment.title}: {count(assignment.total_points, 'point')}", ""]
    for number, q in enumerate(assignment.questions, start=1):
        total = sum(item.points for item in q.rubric)
        lines.append(f"Question {number} ({count(total, 'point')}): {q.heading}")
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
    if not results_dir.is_dir():
        raise ConfigError(f"--results-dir: {results_dir} is not a folder")
    folder = results_dir / "results" if (results_dir / "results").is_dir() else results_dir
    for path in sorted(folder.glob("*.json")):
        if path.name.endswith(".metadata.json"):
            continue
        document = _read_json(path)
        if not isinstance(document, dict) or not isinstance(document.get("tests"), list):
            raise ConfigError(f"{path}: not a results.json (no list of tests)")
        graded_as = (document.get("extra_data") or {}).get("assignment")
        if graded_as != assignment.name:
            raise ConfigError(f"{path}: results of assignment {graded_as!r}, not "
                              f"{assignment.name!r}")
        meta_path = path.with_name(path.stem + ".metadata.json")
        metadata = _read_json(meta_path) if meta_path.is_file() else {}
        if not isinstance(metadata, dict):
            raise ConfigError(f"{meta_path}: not a submission's metadata (a JSON object)")
        late = document.get("extra_data", {}).get("late", {})
        entry = {"submission": path.stem, "auto": results.earned(document),
                 "users": metadata.get("users") or [],
                 "late_days": late.get("days", 0), "late_penalty": late.get("penalty", 0.0)}
        graded[path.stem] = entry
        for user in entry["users"]:
            if user.get("email"):
                graded[str(user["email"]).lower()] = entry
    if not graded:
        raise ConfigError(f"--results-dir: no results (*.json) in {folder}; give the --out "
                          "folder of grade-batch")
    return graded


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ConfigError(f"{path}: cannot read JSON: {exc}") from None


def merge(assignment: Assignment, manual_csv: Path, results_dir: Path, out: Path) -> list[str]:
    """Write final grades (auto + manual - late penalty, never below 0, the penalty being the
    one each results.json recorded in ``extra_data.late``) and return the problems with the
    CSV's rows and columns; :class:`ConfigError` (nothing written) when no merge is possible."""
    require_written(assignment)
    items = manual_items(assignment)
    graded = load_graded(assignment, results_dir)
    problems: list[str] = []
    try:
        with open(manual_csv, newline="", encoding="utf-8-sig") as f:
            reader = csv.DictReader(f)
            columns = reader.fieldnames or []
            table = list(reader)
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise ConfigError(f"{manual_csv}: cannot read the manual scores: {exc}") from None
    key = next((c for c in ("email", "submission") if c in columns), None)
    if key is None:
        raise ConfigError(f"{manual_csv.name}: line 1: no 'email' or 'submission' column "
                          "(see `autograder rubric NAME --format csv` for the columns)")
    for column in items:
        if column not in columns:
            problems.append(f"{manual_csv.name}: line 1: missing column '{column}' "
                            "(counted as 0 for every student)")
    manual: dict[str, float] = {}
    seen: dict[str, int] = {}  # submission -> the line of its row
    for line, row in enumerate(table, start=2):
        who = (row.get(key) or "").strip()
        entry = graded.get(who.lower() if key == "email" else who)
        if entry is None:
            problems.append(f"{manual_csv.name}: line {line}: unknown student '{who}'")
            continue
        if entry["submission"] in seen:
            problems.append(f"{manual_csv.name}: line {line}: a second row for '{who}' (the first "
                            f"is line {seen[entry['submission']]}; row skipped)")
            continue
        seen[entry["submission"]] = line
        score, errors = row_score(row, items)
        if errors:
            problems += [f"{manual_csv.name}: line {line}: {e} (row skipped)" for e in errors]
            continue
        manual[entry["submission"]] = score
    for sid in sorted({e["submission"] for e in graded.values()} - set(seen)):
        who = results.submitters(graded[sid]["users"])["emails"] or sid
        problems.append(f"{manual_csv.name}: no row for {who} (submission {sid})")
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
            errors.append(f"'{column}' = {value:g} is outside 0 to {count(points, 'point')}")
            continue
        total += value
    return total, errors
