"""Release zips: reproducible, nothing secret in the student zip, and a student
copy whose `pytest` runs the public tests against the student's own files."""

import hashlib
import json
import shutil
import subprocess
import sys
import zipfile

import pytest

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


def unpack_student_copy(dist, tmp_path):
    with zipfile.ZipFile(dist["optimization-student.zip"]) as archive:
        archive.extractall(tmp_path)
    return tmp_path / "optimization"


def student_pytest(folder):
    return subprocess.run([sys.executable, "-m", "pytest"], cwd=folder, capture_output=True,
                          text=True, timeout=600)


@pytest.mark.slow
def test_student_runs_pytest_on_stubs(dist, tmp_path):
    copy = unpack_student_copy(dist, tmp_path)
    done = student_pytest(copy)
    assert done.returncode == 1, done.stdout[-2000:] + done.stderr[-2000:]
    assert "summary per function" in done.stdout
    assert "FAIL losses.sigmoid" in done.stdout
    assert "not implemented yet" in done.stdout


@pytest.mark.slow
def test_student_runs_pytest_on_a_finished_copy(dist, tmp_path):
    copy = unpack_student_copy(dist, tmp_path)
    for path in (ROOT / "solutions/optimization").glob("*.py"):
        (copy / path.name).write_text(path.read_text())
    text = (copy / "losses.py").read_text()
    (copy / "losses.py").write_text(text.replace("return float(np.mean(diff**2))",
                                                 "return float(np.sum(diff**2))"))
    done = student_pytest(copy)
    assert done.returncode == 1
    assert "ok   losses.sigmoid" in done.stdout
    assert "FAIL losses.mse_loss" in done.stdout
    assert "expected" in done.stdout


@pytest.mark.slow
def test_song_contest_student_copy_checks_answers(tmp_path):
    (student_zip, _) = packaging.build_release(config.load("song_contest"), tmp_path / "dist")
    with zipfile.ZipFile(student_zip) as archive:
        archive.extractall(tmp_path)
        assert not any("solutions" in n for n in archive.namelist())
    copy = tmp_path / "song_contest"
    done = student_pytest(copy)
    assert done.returncode == 1 and "Q1: NOT ANSWERED" in done.stdout, done.stdout[-3000:]
    (copy / "responses.md").write_text((ROOT / "solutions/song_contest/responses.md").read_text())
    done = student_pytest(copy)
    assert done.returncode == 0, done.stdout[-3000:]
    assert "Q1: answered      12 sentences (ok)" in done.stdout


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
