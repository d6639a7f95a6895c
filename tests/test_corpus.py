"""The grader graded: the reference scores 100, the stubs 0, every buggy submission
loses points exactly in its buggy function, correct code written differently
scores 100, and grading is deterministic."""

import csv
import json
import shutil

import pytest

from autograder import config, scoring

from conftest import ROOT, run_cli
from corpus import CLASSIC, MUTANTS, VARIANTS, write_submission

# Graded once: under xdist, every test here goes to one worker (conftest.ONE_WORKER).
pytestmark = pytest.mark.slow


@pytest.fixture(scope="session")
def graded(tmp_path_factory, jobs):
    """Grade the whole corpus once, with grade-batch; results by submission name."""
    root = tmp_path_factory.mktemp("corpus")
    subs = root / "submissions"
    write_submission(subs / "reference")
    shutil.copytree(ROOT / "student_template" / "optimization", subs / "stubs")
    nested = subs / "nested_and_renamed" / "My Homework" / "hw2"
    write_submission(nested)
    (nested / "losses.py").rename(nested / "Losses (1).py")
    for mutant in MUTANTS:
        write_submission(subs / f"bug_{mutant.name}", mutant.edits)
    for name, edits in VARIANTS.items():
        write_submission(subs / f"ok_{name}", edits)
    windows = write_submission(subs / "windows_encoded") / "schedules.py"
    windows.write_bytes(("# Schedules, café edition\r\n" + windows.read_text()).encode("cp1252"))
    out = root / "out"
    # No sandbox pool: the corpus tests grades, not confinement (test_batch's root tests run
    # grade-batch with the pool), and this venv's python may sit where pool users cannot read.
    run_cli("grade-batch", "optimization", str(subs), "--out", str(out), "--jobs", str(jobs),
            "--sandbox-pool", "", timeout=3000)
    results = {p.stem: json.loads(p.read_text()) for p in (out / "results").glob("*.json")
               if not p.name.endswith(".metadata.json")}
    return results, out


def lost_by_tag(result):
    lost = {}
    for test in result["tests"]:
        if test["score"] < test["max_score"]:
            lost.setdefault(test["tags"][0], []).append(test)
    return lost


def test_corpus_is_large_enough():
    assert len(MUTANTS) >= 40
    assert len(VARIANTS) >= 8
    assert {m.target.split(".")[0] for m in MUTANTS} == {
        "losses", "optimizers", "schedules", "regularization", "training", "layers"}


def test_reference_scores_100(graded):
    results, _ = graded
    assert results["reference"]["score"] == 100
    assert lost_by_tag(results["reference"]) == {}


def test_points_are_exact_with_at_most_two_numbered_rows_per_name(graded):
    results, _ = graded
    points = config.load("optimization").points
    for name in ("reference", "bug_adam_no_bias_correction"):
        rows = [t for t in results[name]["tests"] if t["max_score"] > 0]
        by_tag = {}
        for row in rows:
            by_tag.setdefault(row["tags"][0], []).append(row)
            assert round(row["max_score"], 2) == row["max_score"]
            assert round(row["score"], 2) == row["score"]
        assert set(by_tag) == set(points)
        for tag, group in by_tag.items():
            assert len(group) <= 2, [r["name"] for r in group]
            assert sum(scoring.exact(r["max_score"]) for r in group) == scoring.exact(points[tag])
        numbers = [r["number"] for r in rows]
        assert len(set(numbers)) == len(numbers)


def test_nested_renamed_files_score_100(graded):
    results, _ = graded
    result = results["nested_and_renamed"]
    assert result["score"] == 100, lost_by_tag(result)
    files_row = result["tests"][0]
    assert "Losses (1).py' as losses.py" in files_row["output"]


def test_stubs_score_0_with_a_clear_message(graded):
    results, _ = graded
    result = results["stubs"]
    assert result["score"] == 0
    messages = [t["output"] for t in result["tests"] if t["max_score"] > 0]
    assert all("not implemented yet" in m or "could not be imported" in m for m in messages), \
        [m for m in messages if "not implemented" not in m][:3]


@pytest.mark.parametrize("mutant", MUTANTS, ids=[m.name for m in MUTANTS])
def test_bug_costs_points_only_in_its_function(graded, mutant):
    results, _ = graded
    result = results[f"bug_{mutant.name}"]
    lost = lost_by_tag(result)
    assert mutant.target in lost, f"{mutant.name}: the bug in {mutant.target} was not caught"
    assert set(lost) == {mutant.target}, {
        tag: [t["name"] + ": " + t["output"][:300] for t in tests]
        for tag, tests in lost.items() if tag != mutant.target}
    assert 0 <= result["score"] < 100


def named_mistakes(result):
    """(contract name, message line) of every classic mistake a result names."""
    return {(t["tags"][0], line.strip()) for t in result["tests"]
            for line in t["output"].splitlines() if line.strip().startswith("Classic mistake:")}


@pytest.mark.parametrize("mutant", MUTANTS, ids=[m.name for m in MUTANTS])
def test_a_classic_mistake_is_named_and_nothing_is_misnamed(graded, mutant):
    results, _ = graded
    named = named_mistakes(results[f"bug_{mutant.name}"])
    catalogue = {m.says for m in CLASSIC.values()}
    says = {line.removeprefix("Classic mistake: ").rstrip(".") for _, line in named}
    assert {tag for tag, _ in named} <= {mutant.target}, named
    if mutant.name in CLASSIC:
        assert CLASSIC[mutant.name].says in says, (mutant.name, named)
        assert says & catalogue == {CLASSIC[mutant.name].says}, named
    else:
        assert not says & catalogue, (mutant.name, named)


@pytest.mark.parametrize("name", sorted(VARIANTS))
def test_correct_variant_scores_100(graded, name):
    results, _ = graded
    result = results[f"ok_{name}"]
    assert not named_mistakes(result)
    assert result["score"] == 100, {
        tag: [t["name"] + ": " + t["output"][:500] for t in tests]
        for tag, tests in lost_by_tag(result).items()}


def test_failures_name_the_function_and_show_values(graded):
    results, _ = graded
    lost = lost_by_tag(results["bug_mse_sum"])["losses.mse_loss"]
    text = "\n".join(t["output"] for t in lost)
    assert "expected" in text and "got" in text
    assert "sum instead of mean" in text


def test_student_prints_are_captured(graded):
    """What a name prints is shown under each of its tests, and nowhere else."""
    results, _ = graded
    result = results["ok_chatty"]
    assert result["score"] == 100
    printed = {"losses.l1_loss": "l1 debug", "optimizers.Adam": "adam step",
               "training.train_logistic_regression": "epoch 0"}
    for test in result["tests"]:
        marker = printed.get(test["tags"][0])
        if marker is None:
            assert "Your code printed" not in test["output"], test["name"]
        else:  # every test of the name printed: the marker under each, as often as it has tests
            shown = test["output"].count(f"Your code printed:\n      {marker}")
            assert shown and shown == test["output"].count("Your code printed:"), test["name"]
    assert {t["tags"][0] for t in result["tests"]} >= set(printed)


def test_batch_writes_grades_csv_and_report(graded):
    results, out = graded
    with open(out / "grades.csv", newline="") as f:
        rows = {row["submission"]: row for row in csv.DictReader(f)}
    assert len(rows) == len(results)
    assert float(rows["reference"]["score"]) == 100
    assert float(rows["bug_adam_default_lr"]["optimizers.Adam"]) < 6
    assert "<table>" in (out / "report.html").read_text()


def test_grading_is_deterministic(graded, tmp_path):
    """The batch's results.json of a buggy submission, byte for byte when graded again,
    but for its execution_time (seconds of wall time)."""
    _, out = graded
    name = f"bug_{MUTANTS[5].name}"
    run_cli("grade", "optimization", str(out.parent / "submissions" / name), "--out",
            str(tmp_path / "again.json"), "--quiet")
    again = json.loads((tmp_path / "again.json").read_text())
    first = json.loads((out / "results" / f"{name}.json").read_text())
    assert again.pop("execution_time") >= 0 and first.pop("execution_time") >= 0  # wall time
    assert json.dumps(again) == json.dumps(first)  # everything else, byte for byte


def test_windows_encoded_file_is_read(graded):
    results, _ = graded
    assert results["windows_encoded"]["score"] == 100
