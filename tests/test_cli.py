"""The command line fails loudly: a command that did not do what it said exits non-zero
with one line that names the problem. Fast: no grading runs here."""

import copy
import re
import shutil

import pytest
import yaml

from autograder import cli, config

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
    tests and vectors) with ``data`` as its assignment.yaml."""
    folder = home / "assignments" / name
    if source is not None:
        shutil.copytree(ROOT / "assignments" / source, folder)
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


# -- check and release: the tests grade exactly the names in points ------------------------
def assert_refused(done, message: str) -> None:
    assert done.returncode == 2, done.stdout + done.stderr
    assert one_error_line(done.stderr) == f"autograder: error: {message}"


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
    message = ("tests grade 'losses.sigmoid', which is not in assignment.yaml points "
               "(e.g. tests/hidden/test_losses_hidden.py::test_sigmoid); "
               "assignment.yaml: points: no test grades 'losses.sigmoud'")
    for command in (["check", "opt"], ["release", "opt", "--out", str(tmp_path / "dist")]):
        assert_refused(run_cli(*command, check=False), message)
    assert not (tmp_path / "dist").exists()


def test_check_refuses_a_test_that_grades_a_name_not_in_points(home):
    data = copy.deepcopy(OPTIMIZATION)
    del data["points"]["layers.residual_forward"]
    data["total_points"] = 97
    write_assignment(home, "opt", data, source="optimization")
    done = run_cli("check", "opt", check=False)
    assert_refused(done, "tests grade 'layers.residual_forward', which is not in assignment.yaml "
                         "points (e.g. tests/hidden/test_layers_hidden.py::test_residual_forward)")


def test_check_refuses_points_that_no_test_grades(home):
    data = copy.deepcopy(OPTIMIZATION)
    data["points"]["losses.huber_loss"] = 2
    data["total_points"] = 102
    write_assignment(home, "opt", data, source="optimization")
    assert_refused(run_cli("check", "opt", check=False),
                   "assignment.yaml: points: no test grades 'losses.huber_loss'")


def test_check_refuses_tests_it_cannot_read(home):
    folder = write_assignment(home, "opt", OPTIMIZATION, source="optimization")
    (folder / "tests" / "extra").mkdir()
    (folder / "tests" / "public" / "test_broken.py").write_text("def test_x(:\n    pass\n")
    (folder / "tests" / "hidden" / "test_unmarked.py").write_text("def test_y():\n    pass\n")
    assert_refused(run_cli("check", "opt", check=False), (
        "tests/extra/ has no visibility in assignment.yaml, so its tests never run; "
        "tests/public/test_broken.py: cannot be collected: SyntaxError: invalid syntax; "
        "tests/hidden/test_unmarked.py::test_y: a grading test needs @grades('module.name')"))
