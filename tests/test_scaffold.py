"""``autograder new NAME``: a working assignment in the toolkit's home, which ``check``
passes and which grades the reference at full marks and the stubs at 0; the proof that
the engine needs nothing of the shipped assignments."""

import json
import sys

import pytest
import yaml

from autograder import config, scaffold

from conftest import run_cli


@pytest.fixture
def home(tmp_path, monkeypatch):
    """An empty toolkit home, for this process and for the commands it starts."""
    folder = tmp_path / "home"
    folder.mkdir()
    monkeypatch.setattr(config, "HOME", folder)
    monkeypatch.setenv("AUTOGRADER_HOME", str(folder))
    return folder


@pytest.mark.parametrize(("name", "message"), [
    ("Toy", "is not a valid name"),
    ("2toy", "is not a valid name"),
    ("toy-hw", "is not a valid name"),
    ("class", "is not a valid name"),
    ("json", "would shadow the Python module 'json'"),
    ("autograder", "would shadow the Python module 'autograder'"),
])
def test_a_name_that_cannot_be_a_module_is_refused(home, name, message):
    with pytest.raises(config.ConfigError, match=message):
        scaffold.create(name)
    assert list(home.iterdir()) == []


def test_an_assignment_that_exists_is_never_overwritten(home):
    (home / "solutions" / "toyhw").mkdir(parents=True)
    with pytest.raises(config.ConfigError, match="solutions/toyhw already exists"):
        scaffold.create("toyhw")
    assert not (home / "assignments").exists()


def test_new_writes_the_five_places_and_generates_the_rest(home):
    try:
        written = {p.relative_to(home).as_posix() for p in scaffold.create("toyhw", "Toy: one")}
    finally:
        sys.modules.pop("toyhw", None)  # the reference, imported to freeze the vectors
    assert written == {
        "assignments/toyhw/assignment.yaml", "assignments/toyhw/vectors.yaml",
        "assignments/toyhw/mistakes.yaml", "assignments/toyhw/tests/public/test_toyhw.py",
        "assignments/toyhw/tests/public/test_frozen_vectors.py",
        "assignments/toyhw/tests/hidden/test_toyhw_hidden.py", "solutions/toyhw/toyhw.py",
        "assignments/toyhw/variants/by_hand/toyhw.py",
        "student_template/toyhw/toyhw.py", "assignments/toyhw/tests/public/vectors.json",
        "assignments/toyhw/tests/public/mistakes.json"}
    assignment = config.load("toyhw")
    assert assignment.title == "Toy: one" and assignment.total_points == 10
    assert set(assignment.points) == {"toyhw.normalize", "toyhw.RunningMean"}
    stub = (home / "student_template/toyhw/toyhw.py").read_text()
    assert "x / np.sum(x)" not in stub and stub.count("raise NotImplementedError(") == 3
    for path in home.rglob("*"):
        assert "@" not in path.name and (path.is_dir() or "@NAME@" not in path.read_text())
    vectors = json.loads((home / "assignments/toyhw/tests/public/vectors.json").read_text())
    assert "add" in json.dumps(vectors) and "step" not in json.dumps(vectors)


@pytest.mark.slow
def test_a_new_assignment_checks_and_grades_end_to_end(home, tmp_path):
    """Through the command line, as an instructor would: new, check, grade the reference
    (full marks), the stubs (0) and the scaffold's classic mistake (named), then audit the
    tests: every threshold of the scaffold's assignment.yaml is met."""
    done = run_cli("new", "toyhw")
    assert done.stdout.splitlines()[-1].startswith("next: ")
    done = run_cli("check", "toyhw")
    assert done.stdout == ("ok: toyhw: 6 tests (2 hidden, 4 public) grade the 2 names in "
                           "points, 10 points\n") and done.stderr == ""

    def grade(folder, name):
        out = tmp_path / f"{name}.json"
        run_cli("grade", "toyhw", str(folder), "--out", str(out), "--quiet")
        return json.loads(out.read_text())

    assert grade(home / "solutions/toyhw", "reference")["score"] == 10
    stubs = grade(home / "student_template/toyhw", "stubs")
    assert stubs["score"] == 0 and len(stubs["tests"]) == 4
    wrong = tmp_path / "wrong"
    wrong.mkdir()
    source = (home / "solutions/toyhw/toyhw.py").read_text()
    (wrong / "toyhw.py").write_text(source.replace("x / np.sum(x)", "x / np.max(x)"))
    document = grade(wrong, "wrong")
    assert document["score"] == 4  # RunningMean's points only
    mistake = yaml.safe_load((home / "assignments/toyhw/mistakes.yaml").read_text())
    says = mistake["toyhw.normalize"][0]["says"]
    assert all(f"Classic mistake: {says}" in row["output"] for row in document["tests"]
               if row["tags"] == ["toyhw.normalize"])
    done = run_cli("audit", "toyhw", "--out", str(tmp_path / "audit"), "--jobs", "2")
    report = json.loads((tmp_path / "audit" / "audit.json").read_text())
    assert report["problems"] == [] and report["deterministic"], done.stdout
    generated = report["names"]["toyhw.normalize"]["mutants"] + \
        report["names"]["toyhw.RunningMean"]["mutants"]
    assert generated >= 10 and report["false_failures"] == [] and report["collateral"] == []
    assert [m["status"] for m in report["mutants"] if m["kind"] == "hand-written"] == ["killed"]
