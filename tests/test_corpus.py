"""The grader graded, through ``autograder audit``: every hand-written bug of the
assignment (``mistakes.yaml``, ``mutants.yaml``) loses points exactly in its buggy
function, every classic mistake is named and nothing is misnamed, correct code written
differently (``variants/``, and the variants of the contract's freedoms) scores 100, and
grading is deterministic. A few whole
submissions are graded too, for what only a whole results.json shows."""

import csv
import json
import shutil

import pytest

from autograder import config, mistakes, scoring, variants

from conftest import ROOT, run_cli
from corpus import write_submission

# Audited once: under xdist, every test here goes to one worker (conftest.ONE_WORKER).
pytestmark = pytest.mark.slow

OPTIMIZATION = config.load("optimization")
HAND_WRITTEN = {m.id: m for m in mistakes.hand_written(OPTIMIZATION)}
VARIANTS = variants.load(OPTIMIZATION)
PERFECT = "chatty_nested_renamed_cp1252"  # the batch's correct submission


@pytest.fixture(scope="session")
def audited(tmp_path_factory, jobs):
    """The audit of the hand-written mutants and the variants: its report, its entries by
    id, and the command's output."""
    out = tmp_path_factory.mktemp("audit")
    done = run_cli("audit", "optimization", "--hand-written-only", "--out", str(out),
                   "--jobs", str(jobs), check=False, timeout=3000)
    report = json.loads((out / "audit.json").read_text())
    return report, {m["id"]: m for m in report["mutants"]}, done


@pytest.fixture(scope="session")
def graded(tmp_path_factory, jobs):
    """A few whole submissions, graded with grade-batch; results by submission name."""
    root = tmp_path_factory.mktemp("corpus")
    subs = root / "submissions"
    shutil.copytree(ROOT / "student_template" / "optimization", subs / "stubs")
    # A correct submission as a student may hand it in: the chatty variant (it prints), in a
    # nested folder, a file renamed by a download, another saved in cp1252 with Windows
    # line endings.
    nested = subs / PERFECT / "My Homework" / "hw2"
    write_submission(nested, VARIANTS["chatty"])
    (nested / "losses.py").rename(nested / "Losses (1).py")
    windows = nested / "schedules.py"
    windows.write_bytes(("# Schedules, café edition\r\n" + windows.read_text()).encode("cp1252"))
    bug = write_submission(subs / "bug_adam_no_bias_correction")
    for name, text in mistakes.edited_files(
            OPTIMIZATION, HAND_WRITTEN["adam_no_bias_correction"]).items():
        (bug / name).write_text(text)
    out = root / "out"
    # No sandbox pool: these tests grade, not confinement (test_batch's root tests run
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
    assert len(HAND_WRITTEN) >= 40
    assert len(VARIANTS) >= 8
    assert {m.target.split(".")[0] for m in HAND_WRITTEN.values()} == set(OPTIMIZATION.contract)


def test_the_audit_meets_every_threshold(audited):
    report, _, done = audited
    assert done.returncode == 0, done.stdout + done.stderr
    assert report["problems"] == [] and report["deterministic"] is True
    assert {m["kind"] for m in report["mutants"]} == {"hand-written"}  # --hand-written-only


@pytest.mark.parametrize("name", sorted(HAND_WRITTEN))
def test_bug_costs_points_only_in_its_function(audited, name):
    entry = audited[1][name]
    assert entry["status"] == "killed", f"{name}: the bug in {entry['target']} was not caught"
    assert entry["collateral"] == {}
    assert list(entry["failed"]) == [HAND_WRITTEN[name].target]


@pytest.mark.parametrize("name", sorted(HAND_WRITTEN))
def test_a_classic_mistake_is_named_and_nothing_is_misnamed(audited, name):
    """A test may name a mistake of its own (``mistakes=`` of assert_close); of the
    catalogue's, a bug is given its own sentence and no other."""
    says = HAND_WRITTEN[name].says
    catalogue = {m.says for m in HAND_WRITTEN.values() if m.says}
    named = set(audited[1][name]["named"]) & catalogue
    assert named == ({says} if says else set()), named


@pytest.mark.parametrize("name", sorted(VARIANTS))
def test_correct_variant_scores_100(audited, name):
    lost = [f for f in audited[0]["false_failures"] if f["variant"] == name]
    assert lost == []


def test_no_test_depends_on_the_references_random_draws(audited):
    """The variants made from the contract's freedoms (dropout's mask, the shuffles, the seeds
    of training's epochs) keep full marks: no test checks a random name against the
    reference's draws."""
    report = audited[0]
    assert {f["id"].split(":")[0] for f in report["freedoms"]} == {
        f.name for f in OPTIMIZATION.audit.freedoms}
    assert report["reference_dependence"] == []
    assert not [f for f in report["false_failures"] if f["kind"] == "freedom"]


def test_the_reference_loses_nothing_and_its_twin_gradings_agree(audited, graded):
    report, _, _ = audited
    assert not [f for f in report["false_failures"] if f["kind"] == "reference"]
    results, _ = graded
    assert results[PERFECT]["score"] == 100
    assert lost_by_tag(results[PERFECT]) == {}


def test_a_mutant_graded_in_part_loses_what_it_loses_graded_whole(audited, graded):
    """The audit grades a mutant on its own name and its callers only: the whole grading of
    the same submission charges the same name, and nothing else."""
    entry = audited[1]["adam_no_bias_correction"]
    whole = graded[0]["bug_adam_no_bias_correction"]
    assert set(lost_by_tag(whole)) == set(entry["failed"]) == {"optimizers.Adam"}


def test_points_are_exact_with_at_most_two_numbered_rows_per_name(graded):
    results, _ = graded
    for name in (PERFECT, "bug_adam_no_bias_correction"):
        rows = [t for t in results[name]["tests"] if t["max_score"] > 0]
        by_tag = {}
        for row in rows:
            by_tag.setdefault(row["tags"][0], []).append(row)
            assert round(row["max_score"], 2) == row["max_score"]
            assert round(row["score"], 2) == row["score"]
        assert set(by_tag) == set(OPTIMIZATION.points)
        for tag, group in by_tag.items():
            assert len(group) <= 2, [r["name"] for r in group]
            assert sum(scoring.exact(r["max_score"]) for r in group) == \
                scoring.exact(OPTIMIZATION.points[tag])
        numbers = [r["number"] for r in rows]
        assert len(set(numbers)) == len(numbers)


def test_nested_renamed_and_cp1252_files_score_100(graded):
    results, _ = graded
    result = results[PERFECT]
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


def test_failures_name_the_function_and_show_values(audited):
    text = audited[1]["mse_sum"]["failed"]["losses.mse_loss"]
    assert "expected" in text and "got" in text
    assert "sum instead of mean" in text


def test_student_prints_are_captured(graded):
    """What a name prints is shown under each of its tests, and nowhere else."""
    results, _ = graded
    result = results[PERFECT]
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
    assert float(rows[PERFECT]["score"]) == 100
    assert float(rows["bug_adam_no_bias_correction"]["optimizers.Adam"]) < 6
    assert "<table>" in (out / "report.html").read_text()


def test_grading_is_deterministic(graded, tmp_path):
    """The batch's results.json of a buggy submission, byte for byte when graded again,
    but for its execution_time (seconds of wall time)."""
    _, out = graded
    name = "bug_adam_no_bias_correction"
    run_cli("grade", "optimization", str(out.parent / "submissions" / name), "--out",
            str(tmp_path / "again.json"), "--quiet")
    again = json.loads((tmp_path / "again.json").read_text())
    first = json.loads((out / "results" / f"{name}.json").read_text())
    assert again.pop("execution_time") >= 0 and first.pop("execution_time") >= 0  # wall time
    assert json.dumps(again) == json.dumps(first)  # everything else, byte for byte

