"""The command line fails loudly: a command that did not do what it said exits non-zero
with one line that names the problem. No sandbox starts here; the grade-batch test (written
gradings, each in a process of its own) is marked slow."""

import copy
import csv
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import zipfile
from importlib import metadata

import pytest
import yaml

from autograder import batch, cli, config, results, runner, validate

from conftest import ROOT, run_cli


def run(capsys, *argv: str) -> tuple[int, str, str]:
    """``autograder ARGV`` in this process: (exit status, stdout, stderr)."""
    code = cli.main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def one_error_line(err: str) -> str:
    """The single line a failed command printed (asserting it printed one)."""
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("autograder: error: "), lines[0]
    return lines[0]


@pytest.fixture
def home(tmp_path, monkeypatch):
    """An empty toolkit home (``AUTOGRADER_HOME``) for assignments made by a test."""
    folder = tmp_path / "home"
    (folder / "assignments").mkdir(parents=True)
    monkeypatch.setattr(config, "HOME", folder)  # for this process
    monkeypatch.setenv("AUTOGRADER_HOME", str(folder))  # for the commands it starts
    return folder


def test_an_unknown_assignment_names_the_home_it_was_looked_for_in(home, capsys, monkeypatch):
    (home / "assignments" / "hw3").mkdir()
    (home / "assignments" / "hw3" / "assignment.yaml").write_text("")
    code, _, err = run(capsys, "grade", "optimization", "submission")
    assert code == 2 and one_error_line(err) == (
        f"autograder: error: unknown assignment 'optimization' in AUTOGRADER_HOME={home} "
        "(known: hw3)")
    monkeypatch.delenv("AUTOGRADER_HOME")
    monkeypatch.setattr(config, "HOME", ROOT)
    code, _, err = run(capsys, "check", "hw3")
    assert one_error_line(err) == (f"autograder: error: unknown assignment 'hw3' in {ROOT} "
                                   "(known: optimization, song_contest)")


def test_yaml_syntax_error_gives_line_and_column(home, tmp_path, capsys):
    folder = home / "assignments" / "bad"
    folder.mkdir()
    (folder / "assignment.yaml").write_text('title: Bad\nkind: programming\nfiles: [a.py, b.py\n'
                                            'due: "2024-10-11 23:59"\n')
    code, _, err = run(capsys, "grade", "bad", str(tmp_path))
    assert code == 2
    assert one_error_line(err) == ("autograder: error: assignment.yaml:4:4: expected ',' or ']', "
                                   "but got ':' (while parsing a flow sequence at line 3)")


# -- assignment.yaml: the declared total ----------------------------------------------
def write_assignment(home, name: str, data: dict, source: str | None = None):
    """``assignments/NAME/`` in ``home``: a copy of the shipped assignment ``source`` (its
    tests and vectors, its solution and student template) with ``data`` as its
    assignment.yaml."""
    folder = home / "assignments" / name
    if source is not None:
        for part in ("assignments", "solutions", "student_template"):
            shutil.copytree(ROOT / part / source, home / part / name)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "assignment.yaml").write_text(yaml.safe_dump(data, sort_keys=False))
    return folder


OPTIMIZATION = yaml.safe_load((ROOT / "assignments/optimization/assignment.yaml").read_text())
SONG_CONTEST = yaml.safe_load((ROOT / "assignments/song_contest/assignment.yaml").read_text())


def test_shipped_assignments_declare_their_totals():
    assert OPTIMIZATION["total_points"] == 100 == sum(OPTIMIZATION["points"].values())
    assert SONG_CONTEST["total_points"] == 30 == config.load("song_contest").total_points


def test_points_that_add_up_to_101_are_refused(home, tmp_path, capsys):
    data = copy.deepcopy(OPTIMIZATION)
    data["points"]["losses.sigmoid"] += 1
    write_assignment(home, "opt", data)
    code, _, err = run(capsys, "grade", "opt", str(tmp_path))
    assert code == 2
    assert one_error_line(err) == ("autograder: error: assignment.yaml: points add up to 101, "
                                   "but total_points is 100")


def test_a_rubric_that_misses_its_total_is_refused(home, tmp_path, capsys):
    data = copy.deepcopy(SONG_CONTEST)
    data["questions"][1]["rubric"][2]["points"] = 3  # "dimension": 2 -> 3
    write_assignment(home, "essay", data)
    code, _, err = run(capsys, "rubric", "essay")
    assert code == 2
    assert one_error_line(err) == ("autograder: error: assignment.yaml: the rubric's points add "
                                   "up to 31, but total_points is 30")


# -- check and release: what a graded name is missing, one finding a line -----------------
def assert_findings(done, *findings: str) -> None:
    """``check`` listed ``findings`` (one a line) and exited 1, with one line that counts them."""
    assert done.returncode == 1, done.stdout + done.stderr
    assert done.stdout.splitlines() == list(findings)
    errors = sum(f.startswith("error: ") for f in findings)
    assert one_error_line(done.stderr).startswith(f"autograder: error: opt: {errors} error")


@pytest.mark.parametrize("name", ["optimization", "song_contest"])
def test_check_passes_the_shipped_assignments(name):
    done = run_cli("check", name)
    assignment = config.load(name)
    if name == "optimization":
        pattern = (r"ok: optimization: \d+ tests \(\d+ hidden, \d+ public\) grade the "
                   f"{len(assignment.points)} names in points, 100 points")
    else:
        pattern = (r"ok: song_contest: written, 3 questions, 30 points \(7 scored by the "
                   r"autograder, the rest by hand\)")
    assert re.fullmatch(pattern, done.stdout.strip()), done.stdout
    assert done.stderr == ""


def test_release_refuses_a_typo_in_points(home, tmp_path):
    data = copy.deepcopy(OPTIMIZATION)
    data["points"] = {("losses.sigmoud" if k == "losses.sigmoid" else k): v
                      for k, v in data["points"].items()}
    write_assignment(home, "opt", data, source="optimization")
    findings = (
        "error: losses.sigmoud: in assignment.yaml points, but no test grades it",
        "error: losses.sigmoud: solutions/opt/losses.py defines no sigmoud",
        "error: losses.sigmoid: tests grade it (e.g. tests/hidden/test_losses_hidden.py::"
        "test_sigmoid), but it is not in assignment.yaml points",
        "error: `autograder stubs opt` fails: vectors.yaml: 'losses.sigmoid' is not in "
        "assignment.yaml points",
        "error: mutants.yaml: 'losses.sigmoid' is not in assignment.yaml points")
    assert_findings(run_cli("check", "opt", check=False), *findings)
    done = run_cli("release", "opt", "--out", str(tmp_path / "dist"), check=False)
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.splitlines() == [*findings, "autograder: error: opt: 5 errors, listed "
                                                   "above; nothing was built"]
    assert not (tmp_path / "dist").exists()


def test_check_refuses_a_test_that_grades_a_name_not_in_points(home):
    data = copy.deepcopy(OPTIMIZATION)
    del data["points"]["layers.residual_forward"]
    data["total_points"] = 97
    write_assignment(home, "opt", data, source="optimization")
    assert_findings(
        run_cli("check", "opt", check=False),
        "error: layers.residual_forward: tests grade it (e.g. tests/hidden/test_layers_hidden.py::"
        "test_residual_forward), but it is not in assignment.yaml points",
        "error: `autograder stubs opt` fails: mistakes.yaml: 'layers.residual_forward' is not in "
        "assignment.yaml points")


def test_check_says_what_a_new_name_is_missing_until_it_has_everything(home):
    """Adding a graded name touches five places: each missing one is a finding."""
    data = copy.deepcopy(OPTIMIZATION)
    data["points"]["losses.huber_loss"] = 2
    data["total_points"] = 102
    folder = write_assignment(home, "opt", data, source="optimization")
    assert_findings(run_cli("check", "opt", check=False),
                    "error: losses.huber_loss: in assignment.yaml points, but no test grades it",
                    "error: losses.huber_loss: solutions/opt/losses.py defines no huber_loss")
    with open(home / "solutions/opt/losses.py", "a") as f:
        f.write("\n\ndef huber_loss(y_hat, y):\n    \"\"\"Huber.\"\"\"\n    # BEGIN SOLUTION\n"
                "    return float(np.mean(np.abs(y_hat - y)))\n    # END SOLUTION\n")
    (folder / "tests/hidden/test_huber.py").write_text(
        "from autograder.authoring import grades\n\n\n@grades('losses.huber_loss')\n"
        "def test_huber(sub):\n    pass\n")
    assert_findings(run_cli("check", "opt", check=False),
                    "error: losses.huber_loss: no stub in student_template/opt/losses.py (out of "
                    "date: run `autograder stubs opt`)",
                    "warning: losses.huber_loss: no public test and no frozen vector "
                    "(vectors.yaml): students cannot check it before they submit")
    run_cli("stubs", "opt")
    with open(folder / "vectors.yaml", "a") as f:
        f.write("losses.huber_loss:\n  - args: [[1.0, 3.0], [0.0, 0.0]]\n")
    assert_findings(run_cli("check", "opt", check=False),
                    "warning: losses.huber_loss: no public test: students cannot check it "
                    "before they submit",
                    "error: assignments/opt/tests/public/vectors.json is out of date: run "
                    "`autograder stubs opt`")
    run_cli("stubs", "opt")
    done = run_cli("check", "opt")
    assert done.stdout.startswith("ok: opt: ") and done.stderr == ""


def test_check_warns_of_a_name_no_hidden_test_grades_and_passes(home):
    folder = write_assignment(home, "opt", OPTIMIZATION, source="optimization")
    (folder / "tests/hidden/test_schedules_hidden.py").unlink()
    done = run_cli("check", "opt")
    lines = done.stdout.splitlines()
    assert lines[:4] == [f"warning: schedules.{name}: no hidden test: only the other groups' "
                         "tests grade it" for name in ("step_decay", "exponential_decay",
                                                       "inverse_time_decay", "cosine_decay")]
    assert len(lines) == 5 and lines[4].startswith("ok: opt: ")


def test_check_refuses_tests_it_cannot_read(home):
    folder = write_assignment(home, "opt", OPTIMIZATION, source="optimization")
    (folder / "tests" / "extra").mkdir()
    (folder / "tests" / "public" / "test_broken.py").write_text("def test_x(:\n    pass\n")
    (folder / "tests" / "hidden" / "test_unmarked.py").write_text("def test_y():\n    pass\n")
    assert_findings(
        run_cli("check", "opt", check=False),
        "error: tests/extra/ has no visibility in assignment.yaml, so its tests never run",
        "error: tests/public/test_broken.py: cannot be collected: SyntaxError: invalid syntax",
        "error: tests/hidden/test_unmarked.py::test_y: a grading test needs @grades('module.name')")


# -- check: the data `autograder audit` grades (mutants.yaml, variants/) -------------------
LOSSES = (ROOT / "solutions/optimization/losses.py").read_text()
MSE_SUM = '{old: "return float(np.mean(diff**2))", new: "return float(np.sum(diff**2))"}'
FILES = "losses.py, optimizers.py, schedules.py, regularization.py, training.py, layers.py"
BROKEN_AUDIT_DATA = {
    "target": ("losses.mse_los:\n  - {id: x, edits: [{old: a, new: b}]}",
               "mutants.yaml: 'losses.mse_los' is not in assignment.yaml points"),
    "entry": ("losses.mse_loss:\n  - {id: mse_nothing}",
              "mutants.yaml: losses.mse_loss: mse_nothing: each needs id and edits (a list of "
              "{old, new})"),
    "absent": ('losses.mse_loss:\n  - {id: mse_typo, edits: [{old: "diff**3", new: "diff"}]}',
               "mutants.yaml: mse_typo: losses.py: an edit's text occurs 0 times, not once: "
               "'diff**3'"),
    "ambiguous": ('losses.mse_loss:\n  - {id: mse_vague, edits: [{old: "diff", new: "d"}]}',
                  f"mutants.yaml: mse_vague: losses.py: an edit's text occurs "
                  f"{LOSSES.count('diff')} times, not once: 'diff'"),
    "classic id": (f"losses.mse_loss:\n  - {{id: mse_sum, edits: [{MSE_SUM}]}}",
                   "mutants.yaml: mse_sum: the id is already used in mistakes.yaml (ids are "
                   "unique across mistakes.yaml and mutants.yaml)"),
    "mutant id": (f"losses.mse_loss:\n  - {{id: l2_half, edits: [{MSE_SUM}]}}",
                  "mutants.yaml: l2_half: the id is already used in mutants.yaml (ids are "
                  "unique across mistakes.yaml and mutants.yaml)"),
    "variant": ("variants/chatty/loss.py",
                f"variants/chatty/loss.py: not one of the assignment's files ({FILES})"),
}


def break_audit_data(folder, how: str) -> str:
    """Break the copied assignment's mutants.yaml or variants/ as ``how`` says; return the
    finding ``check`` must report."""
    change, finding = BROKEN_AUDIT_DATA[how]
    if change.startswith("variants/"):
        (folder / change).write_text("print('not a file of the assignment')\n")
    else:
        with open(folder / "mutants.yaml", "a") as f:
            f.write(change + "\n")
    return f"error: {finding}"


@pytest.mark.parametrize("how", list(BROKEN_AUDIT_DATA))
def test_check_reports_broken_mutants_and_variants(home, how):
    folder = write_assignment(home, "opt", OPTIMIZATION, source="optimization")
    assert validate.audit_data(config.load("opt")) == []
    finding = break_audit_data(folder, how)
    assert [str(f) for f in validate.audit_data(config.load("opt"))] == [finding]


def test_check_lists_the_audit_data_findings_with_the_others(home):
    folder = write_assignment(home, "opt", OPTIMIZATION, source="optimization")
    findings = [break_audit_data(folder, how) for how in ("classic id", "variant")]
    assert_findings(run_cli("check", "opt", check=False), *findings)


# -- rubric --------------------------------------------------------------------------------
EXAMPLE_CSV = ROOT / "samples" / "song_contest" / "manual_scores.example.csv"
EXPORT = ROOT / "tests" / "fixtures" / "gradescope_export" / "submission_metadata.yml"
EXEMPLAR = ROOT / "solutions" / "song_contest" / "responses.md"


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """grade-batch's output for the three submissions of the export fixture (graded here,
    in this process: a written assignment starts no sandbox)."""
    out = tmp_path_factory.mktemp("graded")
    (out / "results").mkdir()
    song = config.load("song_contest")
    export = yaml.safe_load(EXPORT.read_text())
    for sid, entry in export.items():
        metadata = batch.export_to_metadata(entry)
        folder = out / "submissions" / sid
        folder.mkdir(parents=True)
        shutil.copy(EXEMPLAR, folder / "responses.md")
        document = runner.grade(song, folder, metadata)
        (out / "results" / f"{sid}.json").write_text(json.dumps(document))
        (out / "results" / f"{sid}.metadata.json").write_text(json.dumps(metadata))
    return out


def merge(capsys, manual, results_dir, out) -> tuple[int, str, str]:
    return run(capsys, "rubric", "song_contest", "--merge", str(manual),
               "--results-dir", str(results_dir), "--out", str(out))


def test_merge_of_the_example_csv(graded, tmp_path, capsys):
    out = tmp_path / "final.csv"
    code, stdout, err = merge(capsys, EXAMPLE_CSV, graded, out)
    assert (code, stdout, err) == (0, f"wrote {out}\n", "")
    with open(out, newline="") as f:
        final = {row["emails"]: row for row in csv.DictReader(f)}
    assert {email: float(row["manual"]) for email, row in final.items()} == {
        "student1@example.edu": 21, "student2@example.edu": 15.5,
        "pair1@example.edu; pair2@example.edu": 0}
    assert all(row["manual_graded"] == "True" for row in final.values())


def test_merge_needs_the_results_dir(tmp_path, capsys):
    code, _, err = run(capsys, "rubric", "song_contest", "--merge", str(EXAMPLE_CSV),
                       "--out", str(tmp_path / "final.csv"))
    assert code == 2
    assert one_error_line(err) == ("autograder: error: --merge needs --results-dir, the --out "
                                   "folder of grade-batch")
    assert not (tmp_path / "final.csv").exists()


def test_merge_refuses_an_empty_results_dir(tmp_path, capsys):
    (tmp_path / "graded").mkdir()
    code, _, err = merge(capsys, EXAMPLE_CSV, tmp_path / "graded", tmp_path / "final.csv")
    assert code == 2
    assert "no results (*.json) in" in one_error_line(err)
    assert not (tmp_path / "final.csv").exists()


def test_merge_refuses_results_of_another_assignment(graded, tmp_path, capsys):
    mixed = tmp_path / "graded"
    shutil.copytree(graded / "results", mixed / "results")
    other = results.build([results.Row("losses.sigmoid: t", 3.0, 3.0, ["losses.sigmoid"])], None,
                          "", {"assignment": "optimization"})
    (mixed / "results" / "submission_9.json").write_text(json.dumps(other))
    code, _, err = merge(capsys, EXAMPLE_CSV, mixed, tmp_path / "final.csv")
    assert code == 2
    assert one_error_line(err) == (f"autograder: error: {mixed / 'results' / 'submission_9.json'}: "
                                   "results of assignment 'optimization', not 'song_contest'")
    assert not (tmp_path / "final.csv").exists()


@pytest.mark.parametrize(("text", "message"), [
    (None, "cannot read the manual scores: [Errno 2] No such file or directory"),
    ("name,q1.did_well\nStudent One,3\n", "manual.csv: line 1: no 'email' or 'submission' column"),
])
def test_merge_refuses_a_csv_it_cannot_use(graded, tmp_path, capsys, text, message):
    manual = tmp_path / "manual.csv"
    if text is not None:
        manual.write_text(text)
    code, _, err = merge(capsys, manual, graded, tmp_path / "final.csv")
    assert code == 2 and message in one_error_line(err)
    assert not (tmp_path / "final.csv").exists()


def test_merge_with_bad_rows_lists_them_and_fails(graded, tmp_path, capsys):
    lines = EXAMPLE_CSV.read_text().splitlines()
    lines[1] = lines[1].replace("student1@example.edu,Student One,3,", "student1@example.edu,Student One,4,")
    lines[2] = lines[2].replace(",2.5,", ",lots,")
    lines.append(lines[3].replace("pair1@", "nobody@"))
    manual = tmp_path / "manual.csv"
    manual.write_text("\n".join(lines) + "\n")
    out = tmp_path / "final.csv"
    code, stdout, err = merge(capsys, manual, graded, out)
    assert code == 1 and stdout == ""
    assert err.splitlines() == [
        "manual.csv: line 2: 'q1.did_well' = 4 is outside 0 to 3 points (row skipped)",
        "manual.csv: line 3: 'q1.improve' = 'lots' is not a number (row skipped)",
        "manual.csv: line 5: unknown student 'nobody@example.edu'",
        f"autograder: error: the merge had 3 problems, listed above; {out} holds only what "
        "merged cleanly"]
    with open(out, newline="") as f:
        manual_scores = {row["submission"]: row["manual"] for row in csv.DictReader(f)}
    assert manual_scores["submission_2610001"] == manual_scores["submission_2610002"] == ""
    assert float(manual_scores["submission_2610003"]) == 0  # merged: the blank cell counts 0


def test_merge_reports_a_submission_without_manual_scores(graded, tmp_path, capsys):
    manual = tmp_path / "manual.csv"
    manual.write_text("\n".join(EXAMPLE_CSV.read_text().splitlines()[:3]) + "\n")
    code, _, err = merge(capsys, manual, graded, tmp_path / "final.csv")
    assert code == 1
    assert err.splitlines()[0] == ("manual.csv: no row for pair1@example.edu; pair2@example.edu "
                                   "(submission submission_2610003)")


def test_rubric_of_a_programming_assignment_is_an_error(capsys):
    code, out, err = run(capsys, "rubric", "optimization")
    assert (code, out) == (2, "")
    assert one_error_line(err) == ("autograder: error: optimization is a programming assignment, "
                                   "graded by its tests: it has no rubric")


# -- grade-batch -------------------------------------------------------------------------
@pytest.mark.slow
def test_grade_batch_fails_when_a_row_could_not_be_graded(tmp_path):
    export = tmp_path / "export"
    metadata = yaml.safe_load(EXPORT.read_text())
    metadata["submission_2610002"][":created_at"] = "yesterday"  # an export gone wrong
    for sid in ("submission_2610001", "submission_2610002"):
        (export / sid).mkdir(parents=True)
        shutil.copy(EXEMPLAR, export / sid / "responses.md")
    (export / "submission_metadata.yml").write_text(yaml.safe_dump(
        {sid: metadata[sid] for sid in ("submission_2610001", "submission_2610002")}))
    out = tmp_path / "graded"
    done = run_cli("grade-batch", "song_contest", str(export), "--out", str(out), check=False)
    assert done.returncode == 1, done.stdout + done.stderr
    assert done.stdout == f"wrote {out / 'grades.csv'} and {out / 'report.html'}\n"
    assert done.stderr.strip().splitlines()[-1] == (
        "autograder: error: 1 of 2 submissions could not be graded (the error column of "
        "grades.csv says why): submission_2610002")
    with open(out / "grades.csv", newline="") as f:
        errors = {row["submission"]: row["error"] for row in csv.DictReader(f)}
    assert errors["submission_2610001"] == ""
    assert "'yesterday' is not an ISO 8601 timestamp" in errors["submission_2610002"]


# -- grade -------------------------------------------------------------------------------
def test_grade_unpacks_a_zip_as_gradescope_does(tmp_path, capsys):
    with zipfile.ZipFile(tmp_path / "essay.zip", "w") as archive:
        archive.write(EXEMPLAR, "essay/responses.md")
    out = tmp_path / "results.json"
    code, stdout, err = run(capsys, "grade", "song_contest", str(tmp_path / "essay.zip"),
                            "--out", str(out))
    assert (code, err) == (0, "")
    document = json.loads(out.read_text())
    assert document["score"] == 7 and "TOTAL" in stdout
    assert "graded 'essay/responses.md' as responses.md" in document["tests"][0]["output"]


def test_grade_of_what_is_neither_a_folder_nor_a_zip_is_one_error(tmp_path, capsys):
    (tmp_path / "responses.md").write_text("")
    code, _, err = run(capsys, "grade", "song_contest", str(tmp_path / "responses.md"))
    assert code == 2
    assert one_error_line(err).endswith("responses.md: a submission is a folder or a zip file")


# -- the table that grade and demo print -------------------------------------------------
def test_table_shows_notes_as_notes_and_cuts_failures_between_words():
    message = "expected: " + " ".join(f"value{i}" for i in range(60))
    rows = [results.Row("Submitted files", 0.0, 0.0, ["files"], status="passed",
                        output="graded 'hw2/losses (1).py' as losses.py\n"
                               "graded 'hw2/layers.py' as layers.py"),
            results.Row("losses.mse_loss: mse_loss matches the reference", 0.0, 2.0,
                        ["losses.mse_loss"], output=message),
            results.Row("losses.sigmoid: sigmoid is stable", 3.0, 3.0, ["losses.sigmoid"])]
    lines = results.table(results.build(rows, None), "title").splitlines()
    assert lines[:4] == ["title", "  Submitted files:",
                         "    graded 'hw2/losses (1).py' as losses.py",
                         "    graded 'hw2/layers.py' as layers.py"]
    assert not any(line.lstrip(" ✗").startswith("files") for line in lines)  # no scored row
    failure = [line for line in lines if line.startswith("      ")]
    assert len(failure) == 2 and max(map(len, lines)) <= results.TABLE_WIDTH
    words = {*message.split(), "mse_loss", "matches", "the", "reference:", "[...]"}
    assert [word for line in failure for word in line.split() if word not in words] == []
    assert [lines[4], *lines[-2:]] == ["✗ losses.mse_loss    0.00 /   2.00",
                                       "  losses.sigmoid     3.00 /   3.00",
                                       "  TOTAL              3.00 /   5.00"]


def test_table_in_full_shows_every_failure_and_note_whole():
    message = ("mse_loss(y_hat=[1., 2.], y=[0., 4.])\n  expected: 2.5\n  got:      5\n  Classic "
               "mistake: sum instead of mean: the squared errors are added up but not divided "
               "by their number.\n  Hint: Use np.mean((y_hat - y) ** 2), the mean of the squared "
               "errors, as the contract says.")
    notes = "\n".join(f"graded 'hw2/f{i}.py' as f{i}.py" for i in range(12))
    rows = [results.Row("Submitted files", 0.0, 0.0, ["files"], status="passed", output=notes),
            *(results.Row(f"losses.mse_loss: test {i}", 0.0, 1.0, ["losses.mse_loss"],
                          output=message) for i in range(3))]
    document = results.build(rows, None)
    short = results.table(document).splitlines()
    assert "[...]" in "\n".join(short) and "      test 2: mse_loss" not in short
    lines = results.table(document, full=True).splitlines()
    assert lines[1:13] == [f"    graded 'hw2/f{i}.py' as f{i}.py" for i in range(12)]
    for i in range(3):
        at = lines.index(f"      test {i}:")
        assert lines[at + 1:at + 6] == [f"        {line}" for line in message.splitlines()]
    assert "[...]" not in "\n".join(lines)


def test_grade_full_prints_whole_messages(tmp_path, capsys):
    folder = tmp_path / "submission"
    folder.mkdir()
    shutil.copy(ROOT / "student_template" / "song_contest" / "responses.md", folder)
    out = tmp_path / "results.json"
    code, short, _ = run(capsys, "grade", "song_contest", str(folder), "--out", str(out))
    code, full, err = run(capsys, "grade", "song_contest", str(folder), "--out", str(out), "--full")
    assert (code, err) == (0, "")
    failed = [t for t in json.loads(out.read_text())["tests"] if t["status"] == "failed"]
    assert len(failed) > 6
    for test in failed:
        for line in test["output"].splitlines():
            assert f"        {line}" in full.splitlines(), line
    unseen = [t["name"] for t in failed if t["name"] not in short]  # the third of a question
    assert len(unseen) == 1 and f"      {unseen[0]}:" in full.splitlines()


# -- a reader that went away ---------------------------------------------------------------
@pytest.mark.parametrize("argv", [["rubric", "song_contest"], ["rubric", "song_contest", "--format",
                                                                "csv"], ["--version"]])
def test_a_closed_pipe_ends_a_command_quietly(argv):
    """``autograder rubric song_contest | head``: once ``head`` has read its lines, the
    command stops with no traceback, as a process that SIGPIPE ended."""
    read, write = os.pipe()
    os.close(read)  # the reader is gone before the first line
    try:
        done = subprocess.run([sys.executable, "-m", "autograder.cli", *argv], stdout=write,
                              stderr=subprocess.PIPE, text=True, cwd=ROOT, check=False)
    finally:
        os.close(write)
    assert (done.returncode, done.stderr) == (128 + signal.SIGPIPE, "")


# -- help and version ---------------------------------------------------------------------
def help_text(capsys, *argv: str) -> str:
    with pytest.raises(SystemExit) as info:
        cli.main([*argv, "--help"])
    assert info.value.code == 0
    return capsys.readouterr().out


def test_help_says_what_the_tool_does_and_lists_only_user_commands(capsys):
    text = help_text(capsys)
    assert text.startswith("usage: autograder [-h] [--version] COMMAND ...")
    assert "Grade the course's assignments" in text and "module" not in text
    listed = re.findall(r"^    (\S+)", text, re.MULTILINE)
    assert listed == ["demo", "grade", "grade-batch", "check", "audit", "release", "stubs", "new",
                      "rubric"]
    assert "fallback" not in text and "check-sandbox" not in text


@pytest.mark.parametrize("command", ["grade", "grade-batch", "check", "release", "stubs", "rubric"])
def test_command_help_names_the_assignments_and_explains_every_argument(capsys, command):
    text = help_text(capsys, command)
    names = ", ".join(config.assignment_names())
    assert re.search(rf"^  ASSIGNMENT +the assignment: {names}$", text, re.MULTILINE), text
    lines = text.split("positional arguments:\n")[1].split("\n\n")[0].splitlines()
    helped = {line.split()[0]: (line.split(maxsplit=1)[1:] or [after])[0].strip()
              for line, after in zip(lines, [*lines[1:], ""]) if re.match(r"  \S", line)}
    assert "ASSIGNMENT" in helped and all(helped.values()), helped


def test_help_shows_defaults(capsys):
    assert "where to write results.json (default: results.json)" in help_text(capsys, "grade")
    assert "(default: 900)" in help_text(capsys, "grade-batch")
    assert "(default: dist)" in help_text(capsys, "release")


def test_version(capsys):
    with pytest.raises(SystemExit) as info:
        cli.main(["--version"])
    assert info.value.code == 0
    assert capsys.readouterr().out == f"autograder {metadata.version('autograder')}\n"
