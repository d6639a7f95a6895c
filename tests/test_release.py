"""Release zips: reproducible, nothing secret in the student zip, and a student
copy whose `pytest` runs the public tests against the student's own files."""

import hashlib
import json
import re
import shutil
import subprocess
import sys
import zipfile
from types import SimpleNamespace

import pytest
import yaml

from autograder import config, packaging

from conftest import ROOT, can_run_as_root, fake_autograder, run_autograder


@pytest.fixture(scope="module")
def dist(tmp_path_factory):
    out = tmp_path_factory.mktemp("dist")
    return {p.name: p for p in packaging.build_release(config.load("optimization"), out)}


def test_builds_are_byte_reproducible(dist, tmp_path):
    again = packaging.build_release(config.load("optimization"), tmp_path)
    for path in again:
        assert hashlib.sha256(path.read_bytes()).hexdigest() == \
            hashlib.sha256(dist[path.name].read_bytes()).hexdigest()


def test_student_zip_holds_no_solution_or_hidden_test(dist):
    with zipfile.ZipFile(dist["optimization-student.zip"]) as archive:
        names = archive.namelist()
        texts = {n: archive.read(n).decode("utf-8", "replace") for n in names}
    assert not any("solutions/" in n or "/hidden/" in n for n in names)
    assert not any(n.endswith("mutants.yaml") or "/variants/" in n for n in names)
    assert "optimization/tests/public/vectors.json" in names
    # Lines that only the reference's function bodies contain.
    secrets = [line.strip() for f in sorted((ROOT / "solutions/optimization").glob("*.py"))
               for line in _solution_lines(f.read_text())]
    assert len(secrets) > 50
    for name, text in texts.items():
        if name.endswith(".py") and "/autograder/" not in name:
            leaked = [s for s in secrets if s in text]
            assert not leaked, f"{name} contains reference code: {leaked[:3]}"
        assert "BEGIN SOLUTION" not in text or "/autograder/" in name


def test_neither_zip_ships_the_audit_section_of_assignment_yaml(dist):
    """It names lines of the reference ("regularization:48:drop-arg") and says how the
    reference draws its random numbers; the rest of the file ships as written."""
    original = (ROOT / "assignments/optimization/assignment.yaml").read_text()
    wanted = yaml.safe_load(original)
    del wanted["audit"]
    for archive, name in (("optimization-student.zip", "optimization/assignment.yaml"),
                          ("optimization-gradescope.zip",
                           "assignments/optimization/assignment.yaml")):
        with zipfile.ZipFile(dist[archive]) as opened:
            shipped = opened.read(name).decode()
        assert "audit" not in shipped and "regularization:48" not in shipped, archive
        assert yaml.safe_load(shipped) == wanted
        assert original.startswith(shipped)  # as written, comments too (audit: comes last)


@pytest.mark.parametrize(("text", "shipped"), [
    ("title: x\n# the audit\naudit: {min_mutation_score: 0.9}\n# points\npoints: {a.b: 1}\n",
     "title: x\n# points\npoints: {a.b: 1}\n"),
    ("title: x\naudit:\n  equivalent:\n    'a:1:b': |\n      why\n\n      more\npoints: 3\n",
     "title: x\npoints: 3\n"),
    ("title: x\naudit:\n  equivalent:\n    'a:1:b': why this\n      goes on  # note\npoints: 3\n",
     "title: x\npoints: 3\n"),
    ("title: x\npoints: 3\n", "title: x\npoints: 3\n"),
], ids=["flow", "block-scalar", "folded", "none"])
def test_the_audit_section_is_cut_out_as_whole_lines(tmp_path, text, shipped):
    (tmp_path / "assignment.yaml").write_text(text)
    assert packaging.shipped_assignment_file(SimpleNamespace(root=tmp_path)) == shipped.encode()


def test_an_audit_section_that_cannot_be_cut_out_stops_the_release(tmp_path):
    (tmp_path / "assignment.yaml").write_text("title: &t x\naudit: *t\npoints: 3\n")
    with pytest.raises(config.ConfigError, match="its audit section cannot be left out"):
        packaging.shipped_assignment_file(SimpleNamespace(root=tmp_path))


def _solution_lines(text):
    inside = False
    for line in text.splitlines():
        if "BEGIN SOLUTION" in line:
            inside = True
        elif "END SOLUTION" in line:
            inside = False
        elif inside and len(line.strip()) > 25 and "HINT" not in line:
            yield line


def test_gradescope_zip_layout(dist):
    with zipfile.ZipFile(dist["optimization-gradescope.zip"]) as archive:
        infos = {i.filename: i for i in archive.infolist()}
    for name in ("setup.sh", "run_autograder", "requirements.txt", "autograder/cli.py",
                 "solutions/optimization/losses.py", "assignments/optimization/assignment.yaml"):
        assert name in infos
    assert infos["run_autograder"].external_attr >> 16 == 0o100755
    assert all(i.date_time == (1980, 1, 1, 0, 0, 0) for i in infos.values())
    assert any(n.startswith("assignments/optimization/tests/hidden/") for n in infos)
    # what only `autograder audit` reads stays home; the classic mistakes ship
    assert "assignments/optimization/mistakes.yaml" in infos
    assert not any(n.endswith("mutants.yaml") or "/variants/" in n for n in infos)


def unpack_student_copy(dist, tmp_path):
    with zipfile.ZipFile(dist["optimization-student.zip"]) as archive:
        archive.extractall(tmp_path)
    return tmp_path / "optimization"


def student_pytest(folder, *args):
    return subprocess.run([sys.executable, "-m", "pytest", *args], cwd=folder,
                          capture_output=True, text=True, timeout=600)


def finished_copy(dist, tmp_path, bug=None):
    """A student copy with the reference's files, and ``(file, old, new)`` edited in."""
    copy = unpack_student_copy(dist, tmp_path)
    for path in (ROOT / "solutions/optimization").glob("*.py"):
        (copy / path.name).write_text(path.read_text())
    if bug:
        file, old, new = bug
        text = (copy / file).read_text()
        assert text.count(old) == 1
        (copy / file).write_text(text.replace(old, new))
    return copy


MSE_SUM = ("losses.py", "return float(np.mean(diff**2))", "return float(np.sum(diff**2))")
POINTS = re.compile(r"^(ok  |--  |FAIL) (\S+) +(\d+\.\d\d) / +(\d+\.\d\d)", re.MULTILINE)


@pytest.mark.slow
def test_student_runs_pytest_on_stubs(dist, tmp_path):
    copy = unpack_student_copy(dist, tmp_path)
    done = student_pytest(copy)
    out = done.stdout + done.stderr
    assert done.returncode == 1, out[-3000:]
    assert len(out.splitlines()) < 60, out
    names = config.load("optimization").points
    stubs = [line for line in out.splitlines() if line.endswith("not implemented yet")]
    assert [line.split()[1] for line in stubs] == list(names), out
    for word in ("Traceback", "ERROR", "b64", "Warning", "warning"):
        assert word not in out, out
    assert not (copy / ".hypothesis").exists()
    assert "Hidden tests" in out.splitlines()[-2] and "Gradescope" in out.splitlines()[-2]


@pytest.mark.slow
def test_student_copy_with_one_bug(dist, tmp_path):
    copy = finished_copy(dist, tmp_path, MSE_SUM)
    done = student_pytest(copy)
    assert done.returncode == 1, done.stdout[-3000:]
    rows = {name: (mark, earned, top) for mark, name, earned, top in POINTS.findall(done.stdout)}
    assert rows.pop("losses.mse_loss")[:2] == ("FAIL", "0.00")
    assert all(mark == "ok  " and earned == top for mark, earned, top in rows.values()), rows
    assert len(rows) == len(config.load("optimization").points) - 1
    block = done.stdout.split("FAIL losses.mse_loss", 1)[1].split("\nok", 1)[0]
    assert "mse_loss(y_hat=[1., 2.], y=[0., 4.])" in block
    assert "expected: 2.5" in block and "got:      5" in block


@pytest.mark.slow
def test_student_runs_pytest_on_a_finished_copy(dist, tmp_path):
    copy = finished_copy(dist, tmp_path)
    done = student_pytest(copy)
    assert done.returncode == 0, done.stdout[-3000:]
    rows = POINTS.findall(done.stdout)
    assert len(rows) == len(config.load("optimization").points)
    assert all(mark == "ok  " and earned == top for mark, _, earned, top in rows)
    total = sum(float(top) for *_, top in rows)
    closing = [line for line in done.stdout.splitlines() if line.startswith("Public tests:")]
    assert closing == [f"Public tests: {total:.2f} of {total:.2f} points. Hidden tests "
                       f"({100 - total:.2f} more points) run on Gradescope after you submit."]
    assert "Warning" not in done.stdout + done.stderr
    assert not (copy / ".hypothesis").exists()


@pytest.mark.slow
def test_deselected_tests_are_not_reported(dist, tmp_path):
    copy = finished_copy(dist, tmp_path, MSE_SUM)
    done = student_pytest(copy, "-k", "mse")
    names = [name for _, name, _, _ in POINTS.findall(done.stdout)]
    assert names == ["losses.mse_loss", "losses.mse_loss_grad"], done.stdout
    assert "FAIL" not in done.stdout.replace("FAIL losses.mse_loss ", "")


@pytest.mark.slow
def test_song_contest_student_copy_checks_answers(tmp_path):
    (student_zip, _) = packaging.build_release(config.load("song_contest"), tmp_path / "dist")
    with zipfile.ZipFile(student_zip) as archive:
        archive.extractall(tmp_path)
        assert not any("solutions" in n for n in archive.namelist())
    copy = tmp_path / "song_contest"
    done = student_pytest(copy)
    assert done.returncode == 1 and "Q1  0 of 3 automatic points" in done.stdout, done.stdout[-3000:]
    for noise in ("Question(id=", "<function", "Traceback", "assert "):
        assert noise not in done.stdout
    (copy / "responses.md").write_text((ROOT / "solutions/song_contest/responses.md").read_text())
    done = student_pytest(copy)
    assert done.returncode == 0, done.stdout[-3000:]
    assert "Q1  3 of 3 automatic points" in done.stdout
    assert "ok    12 sentences; the answer should have 10 to 20." in done.stdout


@pytest.mark.slow
def test_song_contest_through_run_autograder(tmp_path):
    """The written assignment's Gradescope zip, end to end, with a late submission."""
    if not can_run_as_root():
        pytest.skip("needs root and useradd to run setup.sh as on Gradescope")
    root = fake_autograder("song_contest")
    fixtures = ROOT / "tests" / "fixtures" / "gradescope"

    def submit(dest):
        dest.mkdir(parents=True)
        (dest / "responses.md").write_text((ROOT / "solutions/song_contest/responses.md").read_text())

    results_path, _ = run_autograder(root, submit, fixtures / "late_one_minute.json")
    result = json.loads(results_path.read_text())
    assert result["score"] == 4 and result["extra_data"]["late"]["days"] == 1
    results_path, _ = run_autograder(root, submit, fixtures / "late_with_extension.json")
    assert json.loads(results_path.read_text())["score"] == 7
    shutil.rmtree(root, ignore_errors=True)
