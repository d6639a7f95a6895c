"""The final grade is the same on every route: Gradescope (the autograder's score plus
the hand-graded points) and ``rubric --merge``, with the late penalty taken off the
whole assignment; Gradescope's own dates count; finalists are recognised as a reader
would; points are exact."""

import copy
import csv
import json
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from autograder import batch, config, late_policy, results, rubric, runner, scoring, written
from autograder.plugin import TestOutcome

from conftest import ROOT

SONG = config.load("song_contest")
OPT = config.load("optimization")
EXEMPLAR = (ROOT / "solutions/song_contest/responses.md").read_text()
FIXTURES = ROOT / "tests" / "fixtures" / "gradescope"
ON_TIME = json.loads((FIXTURES / "on_time.json").read_text())
MANUAL = rubric.manual_items(SONG)  # column -> points; 23 in all
FINALISTS = next(item.terms for q in SONG.questions for item in q.rubric
                 if item.check == "mentions_any")  # the rubric's check, in assignment.yaml


def metadata(created_at, due_date="2024-09-20T23:59:00-04:00", extension=None):
    """Gradescope's submission_metadata.json for one student of the essay."""
    data = copy.deepcopy(ON_TIME)
    data["created_at"] = created_at
    data["assignment"]["due_date"] = due_date
    if extension:
        data["users"][0]["assignment"] = {"due_date": extension}
    return data


TWO_DAYS_LATE = "2024-09-22T10:00:00-04:00"
ELEVEN_DAYS_LATE = "2024-10-01T10:00:00-04:00"


def essay(auto_points):
    """An exemplar answer cut down to earn ``auto_points`` of the 7 automatic points."""
    if auto_points == 7:
        return EXEMPLAR
    if auto_points == 5:  # no finalist named, and question 3 answered in two sentences
        head, q3 = EXEMPLAR.split("\n## 3.")
        q3_heading = q3.split("\n", 1)[0]
        text = head.replace("Sudamérica", "the winning song").replace("Onda Corta", "its duo")
        return f"{text}\n## 3.{q3_heading}\nSome tasks are easy. Others are hard.\n"
    assert auto_points == 0
    return ""


def grade_essay(tmp_path, auto_points, meta):
    folder = tmp_path / "submission"
    folder.mkdir(parents=True)
    (folder / "responses.md").write_text(essay(auto_points), encoding="utf-8")
    document = runner.grade(SONG, folder, meta)
    raw = sum(t["score"] for t in document["tests"] if "late_policy" not in t["tags"])
    assert raw == auto_points, [(t["name"], t["output"]) for t in document["tests"]]
    return document


def merge_total(tmp_path, document, meta, manual_points):
    """``rubric --merge`` of one graded essay with ``manual_points`` awarded by hand."""
    graded = tmp_path / "graded" / "results"
    graded.mkdir(parents=True)
    (graded / "s1.json").write_text(json.dumps(document))
    (graded / "s1.metadata.json").write_text(json.dumps(meta))
    manual = tmp_path / "manual.csv"
    left, row = manual_points, {}
    for column, points in MANUAL.items():
        row[column] = min(points, left)
        left -= row[column]
    with open(manual, "w", newline="") as f:
        writer = csv.DictWriter(f, ["email", *MANUAL])
        writer.writeheader()
        writer.writerow({"email": meta["users"][0]["email"], **row})
    out = tmp_path / "final.csv"
    assert rubric.merge(SONG, manual, tmp_path / "graded", out) == []
    with open(out, newline="") as f:
        return next(csv.DictReader(f))


@pytest.mark.parametrize(("auto", "created_at", "manual", "final"), [
    (5, TWO_DAYS_LATE, 23, 22),     # the case: 5 + 23 - 6
    (0, TWO_DAYS_LATE, 23, 17),     # nothing automatic: the penalty still counts
    (7, TWO_DAYS_LATE, 0, 1),
    (7, "2024-09-20T21:00:00-04:00", 23, 30),
    (7, ELEVEN_DAYS_LATE, 23, 0),   # a penalty larger than the whole grade: 0, not below
])
def test_gradescope_and_merge_give_the_same_final_grade(tmp_path, auto, created_at, manual, final):
    meta = metadata(created_at)
    document = grade_essay(tmp_path, auto, meta)
    days = document["extra_data"]["late"]["days"]
    assert document["extra_data"]["late"]["penalty"] == 3 * days
    late_row = next(t for t in document["tests"] if t["name"] == "Late penalty")
    assert late_row["score"] == -3 * days
    gradescope = document["score"] + manual  # Gradescope adds the manual questions
    merged = merge_total(tmp_path, document, meta, manual)
    assert gradescope == float(merged["total"]) == final
    assert float(merged["late_penalty"]) == 3 * days


def test_the_late_row_says_how_the_penalty_is_applied(tmp_path):
    document = grade_essay(tmp_path, 5, metadata(TWO_DAYS_LATE))
    assert document["score"] == -1
    late = document["extra_data"]["late"]
    assert "graded by hand" in late["applied"] and "never goes below 0" in late["applied"]
    row = next(t for t in document["tests"] if t["name"] == "Late penalty")
    assert "2 days late at 3 points per day = 6 points off the whole assignment" in row["output"]
    assert "23 points" in row["output"]


def test_a_programming_score_never_goes_below_zero():
    lateness = late_policy.assess(OPT.due, OPT.late_policy, {
        "created_at": "2024-10-21T10:00:00-04:00", "users": []})  # 10 days: 30 points
    document = results.build([results.Row("x", 12.0, 100.0, ["x"])], lateness)
    assert document["score"] == 0
    assert document["extra_data"]["late"]["penalty"] == 30
    assert document["tests"][-1]["score"] == -30


def test_grades_csv_carries_the_full_penalty(tmp_path):
    meta = metadata(TWO_DAYS_LATE)
    document = grade_essay(tmp_path, 0, meta)
    (row,) = batch.grade_rows("s1", document, meta)
    assert row["late_penalty"] == 6 and row["late_days"] == 2


@pytest.mark.parametrize(("auto", "created_at", "score", "final"), [
    (0, TWO_DAYS_LATE, -6, 0),  # Gradescope's score pays the penalty with the manual points
    (5, TWO_DAYS_LATE, -1, 0),
    (7, TWO_DAYS_LATE, 1, 1),
    (7, "2024-09-20T21:00:00-04:00", 7, 7),
])
def test_grades_csv_has_a_final_grade_that_never_goes_below_zero(tmp_path, auto, created_at,
                                                                 score, final):
    """``final`` is what ``rubric --merge`` gives with no hand-graded points."""
    meta = metadata(created_at)
    document = grade_essay(tmp_path, auto, meta)
    (row,) = batch.grade_rows("s1", document, meta)
    assert (row["score"], row["final"]) == (score, final)
    assert float(merge_total(tmp_path, document, meta, 0)["total"]) == final
    (failed,) = batch.grade_rows("s2", "grading took longer than 900 s", meta)
    assert failed["final"] == ""


# -- Gradescope's dates --------------------------------------------------------------------
def test_gradescopes_due_date_counts_and_a_disagreement_is_shown(tmp_path):
    moved = metadata(TWO_DAYS_LATE, due_date="2024-09-22T23:59:00.000000-04:00")
    document = grade_essay(tmp_path, 7, moved)
    late = document["extra_data"]["late"]
    assert late["days"] == 0 and late["deadline_source"] == "gradescope"
    assert "differs from assignment.yaml" in late["disagreement"]
    row = next(t for t in document["tests"] if t["name"] == "Late penalty")
    assert "2024-09-22 23:59 EDT" in row["output"] and "differs" in row["output"]
    assert document["score"] == 7


def test_an_earlier_gradescope_due_date_charges_by_it():
    early = metadata("2024-09-20T12:00:00-04:00", due_date="2024-09-19T23:59:00-04:00")
    lateness = late_policy.assess(SONG.due, SONG.late_policy, early)
    assert lateness.days == 1 and lateness.source == "gradescope"


def test_a_students_extension_wins_over_gradescopes_assignment_date():
    meta = metadata("2024-09-24T10:00:00-04:00", due_date="2024-09-22T23:59:00-04:00",
                    extension="2024-09-25T23:59:00-04:00")
    lateness = late_policy.assess(SONG.due, SONG.late_policy, meta)
    assert (lateness.days, lateness.source) == (0, "extension")
    assert "your extended deadline" in lateness.describe()


def test_no_disagreement_when_the_dates_agree_and_yaml_without_metadata_dates():
    lateness = late_policy.assess(SONG.due, SONG.late_policy, ON_TIME)
    assert lateness.disagreement == "" and lateness.source == "gradescope"
    local = late_policy.assess(SONG.due, SONG.late_policy, {"created_at": TWO_DAYS_LATE})
    assert (local.days, local.source) == (2, "assignment.yaml")


# -- naming a finalist ---------------------------------------------------------------------
@pytest.mark.parametrize(("text", "song"), [
    ("My favourite is Sudamerica.", "Sudamérica"),
    ("I chose Yun + More's song.", "Yun+More"),
    ("HEL 9000 made it.", "HEL9000"),
    ("sudamérca (sorry for the typo)", "Sudamérica"),
    ("the GENRE-CANNON project", "Genre Cannon"),
    ("Natures Tomb by Gantasmo", "Nature's Tomb"),
    ("the team DADABOTS", "DADABOTS"),
    ("Do AI's Dream", "Do AIs Dream?"),
])
def test_a_finalist_is_named_as_a_reader_would_read_it(text, song):
    named = written.mentions_any(text, FINALISTS)
    assert named is not None and named[0] == song


@pytest.mark.parametrize("text", [
    "I loved the song about South America and its mantra.",
    "We trained it with Keras, and the error was 404.",
    "A virtuoso performance with a fantastic dream-like heart.",
    "",
])
def test_no_finalist_is_credited_when_none_is_named(text):
    assert written.mentions_any(text, FINALISTS) is None


def test_the_mentions_any_row_says_how_the_title_was_read(tmp_path):
    folder = tmp_path / "submission"
    folder.mkdir()
    (folder / "responses.md").write_text(EXEMPLAR.replace("Sudamérica", "Sudamerca"))
    document = runner.grade(SONG, folder)
    row = next(t for t in document["tests"] if "finalist" in t["name"])
    assert row["score"] == 1 and "read 'Sudamerca' as 'Sudamérica'" in row["output"]


# -- exact points --------------------------------------------------------------------------
@given(st.integers(1, 10_000), st.lists(st.floats(0.1, 10), min_size=1, max_size=12))
def test_shares_are_hundredths_that_add_up_exactly(cents, weights):
    points = cents / 100
    shares = scoring.split(points, weights)
    assert sum(shares) == scoring.exact(points)
    whole = sum(scoring.exact(w) for w in weights)
    for share, weight in zip(shares, weights):
        assert share % scoring.CENT == 0
        assert abs(share - scoring.exact(points) * scoring.exact(weight) / whole) < scoring.CENT


def test_points_with_more_than_two_decimals_are_refused():
    with pytest.raises(config.ConfigError, match="more than two decimals"):
        config.parse("x", ROOT, {"title": "t", "kind": "programming", "files": ["m.py"],
                                 "due": "2024-01-01 23:59", "timezone": "UTC",
                                 "points": {"m.f": 0.333}})


def outcomes(failing=()):
    """Three public tests (one of weight 2) and two hidden ones for every contract name."""
    made = []
    for target in OPT.points:
        for i, (group, weight) in enumerate([("public", 1), ("public", 2), ("public", 1),
                                             ("hidden", 1), ("hidden", 1)]):
            made.append(TestOutcome(f"{target}{i}", f"test {i}", target, group, weight,
                                    passed=(target, i) not in failing, message="wrong"))
    return made


def test_a_perfect_submission_scores_exactly_the_total_in_two_rows_per_name():
    rows = runner.name_rows(OPT, outcomes())
    assert len(rows) == 2 * len(OPT.points)
    assert sum(Fraction(str(r.max_score)) for r in rows) == 100
    assert results.build(rows, None)["score"] == 100
    assert [r.number for r in rows[:3]] == ["1.1", "1.2", "2.1"]
    assert [r.visibility for r in rows[:2]] == ["visible", "after_published"]


def test_a_failed_test_costs_its_share_of_its_own_row_only():
    rows = runner.name_rows(OPT, outcomes(failing={("optimizers.Adam", 1)}))
    lost = {r.name: r.max_score - r.score for r in rows if r.score < r.max_score}
    assert lost == {"optimizers.Adam (public tests)": 2.0}  # 6 points x 4/6 public x 2/4
    adam = next(r for r in rows if r.name == "optimizers.Adam (public tests)")
    assert adam.output.startswith("✗ test 1\n    wrong")


def test_the_top_level_output_speaks_only_of_public_tests():
    rows = runner.name_rows(OPT, outcomes(failing={("losses.mse_loss", 3)}))
    text = runner.summary_text(rows)
    assert "losses.mse_loss" not in text  # only its hidden test failed
    assert "Hidden tests count too" in text
    rows = runner.name_rows(OPT, outcomes(failing={("losses.mse_loss", 0)}))
    assert "losses.mse_loss" in runner.summary_text(rows)
