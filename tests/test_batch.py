"""grade-batch on a Gradescope "Export Submissions" zip: folders, Ruby-style
metadata, late days per submission, grades.csv and report.html."""

import csv
import shutil
import zipfile

import pytest

from conftest import ROOT, run_cli

EXPORT = ROOT / "tests" / "fixtures" / "gradescope_export" / "submission_metadata.yml"
EXEMPLAR = ROOT / "solutions" / "song_contest" / "responses.md"


@pytest.mark.slow
def test_grade_batch_on_an_export_zip(tmp_path):
    export = tmp_path / "export.zip"
    with zipfile.ZipFile(export, "w") as archive:
        archive.write(EXPORT, "assignment_export/submission_metadata.yml")
        archive.write(EXEMPLAR, "assignment_export/submission_2610001/responses.md")
        archive.write(EXEMPLAR, "assignment_export/submission_2610002/nested/Responses (1).md")
        archive.writestr("assignment_export/submission_2610003/notes.pdf", b"%PDF-1.4")
    out = tmp_path / "graded"
    run_cli("grade-batch", "song_contest", str(export), "--out", str(out), "--jobs", "2")
    with open(out / "grades.csv", newline="") as f:
        rows = {row["submission"]: row for row in csv.DictReader(f)}
    assert set(rows) == {"submission_2610001", "submission_2610002", "submission_2610003"}
    on_time, two_days, pair = (rows[f"submission_261000{i}"] for i in (1, 2, 3))
    assert (on_time["late_days"], float(on_time["score"])) == ("0", 7.0)
    assert (two_days["late_days"], float(two_days["score"])) == ("2", 1.0)  # 33.5 h late
    assert (pair["late_days"], float(pair["score"])) == ("1", -3.0)  # 31 min late, a PDF: the
    # penalty comes off the hand-graded points too, so the autograder's score goes below 0
    assert pair["students"] == "Pair One; Pair Two"
    assert "Student Two" in (out / "report.html").read_text()


def test_grade_batch_reports_a_bad_source(tmp_path):
    done = run_cli("grade-batch", "song_contest", str(tmp_path / "missing.zip"),
                   "--out", str(tmp_path / "out"), check=False)
    assert done.returncode == 2 and "neither a folder nor a zip file" in done.stderr


@pytest.mark.slow
def test_grade_batch_keeps_going_past_a_broken_submission(tmp_path):
    subs = tmp_path / "subs"
    (subs / "ok").mkdir(parents=True)
    shutil.copy(EXEMPLAR, subs / "ok" / "responses.md")
    (subs / "binary").mkdir()
    (subs / "binary" / "responses.md").write_bytes(bytes(range(256)) * 100)
    run_cli("grade-batch", "song_contest", str(subs), "--out", str(tmp_path / "out"))
    with open(tmp_path / "out" / "grades.csv", newline="") as f:
        rows = {row["submission"]: row for row in csv.DictReader(f)}
    assert float(rows["ok"]["score"]) == 7
    assert rows["binary"]["error"] == "" and float(rows["binary"]["score"]) == 0
