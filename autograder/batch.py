"""Grade a whole class: a folder of submission folders, or Gradescope's
"Export Submissions" zip (one ``submission_<id>/`` folder each, and a
``submission_metadata.yml`` mapping folders to submitters and times).

Each submission is graded by its own ``autograder grade`` process, so no state
leaks from one student to the next. The output folder gets one results.json
per submission, ``grades.csv`` and ``report.html``.
"""

from __future__ import annotations

import html
import json
import subprocess
import sys
import tempfile
import zipfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import yaml
from tqdm import tqdm

from autograder import config, results, sanitize

SUBMISSION_TIMEOUT = 900  # seconds for one submission, far above a normal grading run


def discover(source: Path, workdir: Path) -> tuple[dict[str, Path], dict[str, dict]]:
    """Submission folders by id, and Gradescope-style metadata by id where known."""
    if source.is_file() and zipfile.is_zipfile(source):
        with zipfile.ZipFile(source) as archive:
            archive.extractall(workdir)
        tops = [p for p in workdir.iterdir() if p.is_dir() and not p.name.startswith("__")]
        source = tops[0] if len(tops) == 1 and not (workdir / "submission_metadata.yml").exists() \
            else workdir
    if not source.is_dir():
        raise config.ConfigError(f"{source} is neither a folder nor a zip file")
    folders = {p.name: p for p in sorted(source.iterdir())
               if p.is_dir() and not p.name.startswith((".", "__"))}
    metadata = {}
    index = source / "submission_metadata.yml"
    if index.is_file():
        data = yaml.safe_load(index.read_text(encoding="utf-8")) or {}
        for folder, entry in data.items():
            metadata[str(folder)] = export_to_metadata(entry)
    return folders, metadata


def export_to_metadata(entry: dict) -> dict:
    """Convert one entry of the export's YAML (Ruby-style ``:keys``) to the shape of
    Gradescope's submission_metadata.json."""
    def plain(value: Any) -> Any:
        if isinstance(value, dict):
            return {str(k).lstrip(":"): plain(v) for k, v in value.items()}
        if isinstance(value, list):
            return [plain(v) for v in value]
        return value.isoformat() if hasattr(value, "isoformat") else value

    entry = plain(entry)
    return {"created_at": entry.get("created_at"), "users": entry.get("submitters", [])}


def grade_all(assignment: config.Assignment, source: Path, out: Path,
              jobs: int = 1) -> list[dict[str, Any]]:
    """Grade every submission into ``out`` (results, grades.csv and report.html); return the
    rows of grades.csv (a row whose ``error`` is not empty could not be graded)."""
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="autograder-batch-") as tmp:
        folders, metadata = discover(source, Path(tmp))
        if not folders:
            raise config.ConfigError(f"no submission folders found in {source}")
        (out / "results").mkdir(exist_ok=True)

        def one(item: tuple[str, Path]) -> tuple[str, dict | str]:
            return item[0], grade_one(assignment, item[1], metadata.get(item[0]), out)

        with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
            graded = dict(tqdm(pool.map(one, folders.items()), total=len(folders),
                               desc=f"grading {assignment.name}", unit="submission",
                               file=sys.stderr))
    rows = [grade_row(sid, graded[sid], metadata.get(sid)) for sid in folders]
    results.write_csv(out / "grades.csv", rows)
    (out / "report.html").write_text(report_html(assignment, rows), encoding="utf-8")
    return rows


def grade_one(assignment: config.Assignment, folder: Path, metadata: dict | None,
              out: Path) -> dict | str:
    """Grade one folder in a fresh process; the results document, or the error line."""
    target = out / "results" / f"{folder.name}.json"
    command = [sys.executable, "-m", "autograder.cli", "grade", assignment.name, str(folder),
               "--out", str(target), "--quiet"]
    if metadata is not None:
        meta_path = out / "results" / f"{folder.name}.metadata.json"
        meta_path.write_text(json.dumps(metadata), encoding="utf-8")
        command += ["--metadata", str(meta_path)]
    try:
        done = subprocess.run(command, capture_output=True, text=True, errors="replace",
                              timeout=SUBMISSION_TIMEOUT, check=False)
    except subprocess.TimeoutExpired:
        return f"grading took longer than {SUBMISSION_TIMEOUT} s"
    if done.returncode != 0 or not target.is_file():
        lines = (done.stderr or "no output").strip().splitlines() or ["no output"]
        return lines[-1]
    return json.loads(target.read_text(encoding="utf-8"))


def grade_row(sid: str, graded: dict | str, metadata: dict | None) -> dict[str, Any]:
    """One line of grades.csv: totals, lateness and points per contract name."""
    users = (metadata or {}).get("users") or []
    row: dict[str, Any] = {"submission": sid, **results.submitters(users)}
    if isinstance(graded, str):
        return row | {"score": "", "error": graded}
    late = graded.get("extra_data", {}).get("late", {})
    row |= {"score": graded["score"], "late_days": late.get("days", ""),
            "late_penalty": late.get("penalty", ""), "error": ""}
    for tag, (score, _) in results.scores_by_tag(graded).items():
        row[tag] = round(score, 4)
    return row


def report_html(assignment: config.Assignment, rows: list[dict[str, Any]]) -> str:
    """A self-contained HTML table of the class's grades, every cell sanitized and escaped."""
    def cell(value: Any) -> str:
        return html.escape(sanitize.clean(value))

    columns = list(dict.fromkeys(k for row in rows for k in row))
    head = "".join(f"<th>{cell(c)}</th>" for c in columns)
    body = "".join(
        "<tr>" + "".join(f"<td>{cell(row.get(c, ''))}</td>" for c in columns) + "</tr>"
        for row in rows)
    return (f"<!doctype html><meta charset='utf-8'><title>{html.escape(assignment.title)}</title>"
            "<style>body{font-family:sans-serif}td,th{border:1px solid #ccc;padding:2px 6px}"
            "table{border-collapse:collapse}</style>"
            f"<h1>{html.escape(assignment.title)}</h1><p>{len(rows)} submissions</p>"
            f"<table><tr>{head}</tr>{body}</table>\n")
