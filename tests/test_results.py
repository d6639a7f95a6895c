"""results.json, the terminal table and grades.csv (autograder/results.py), in process."""

import csv
import json
import os
import stat

from autograder import results
from autograder.results import Row


def rows() -> list[Row]:
    return [Row("losses.sigmoid: stable", 2.0, 2.0, ["losses.sigmoid"]),
            Row("losses.sigmoid: shape", 0.0, 1.0, ["losses.sigmoid"],
                output="sigmoid(z=1)\n  expected: 0.73\n  got:      0.5"),
            Row("optimizers.Adam: steps", 3.0, 3.0, ["optimizers.Adam"], visibility="after_published")]


def test_a_row_knows_its_status_and_caps_its_output():
    assert Row("t", 1.0, 1.0).to_json()["status"] == "passed"
    assert Row("t", 0.5, 1.0).to_json()["status"] == "failed"
    assert Row("t", 0.0, 0.0, status="failed").to_json()["status"] == "failed"
    data = Row("t", 0.0, 1.0, ["m.f"], output="x" * 10_000, extra_data={"k": 1}).to_json()
    assert len(data["output"]) == results.ROW_OUTPUT_CAP
    assert data["tags"] == ["m.f"] and data["extra_data"] == {"k": 1}
    assert "extra_data" not in Row("t", 1.0, 1.0).to_json()


def test_build_sums_the_rows_and_keeps_their_order():
    document = results.build(rows(), None, "2 of 3 tests passed.", {"assignment": "optimization"})
    assert document["score"] == 5.0
    assert [t["name"] for t in document["tests"]] == [r.name for r in rows()]
    assert document["tests"][2]["visibility"] == "after_published"
    assert document["output"] == "2 of 3 tests passed."
    assert document["extra_data"] == {"assignment": "optimization"}
    assert document["stdout_visibility"] == "hidden"


def test_build_cuts_outputs_to_fit_gradescopes_limit():
    many = [Row(f"t{i}", 0.0, 1.0, ["m.f"], output="y" * 5000) for i in range(400)]
    document = results.build(many, None)
    assert len(json.dumps(document)) <= results.RESULTS_CAP
    assert all(t["output"].endswith("[... cut to fit results.json]") for t in document["tests"])
    assert results.build(rows(), None)["tests"][1]["output"] == rows()[1].output  # small: kept


def test_write_atomic_replaces_the_file_readably_and_leaves_no_temporary(tmp_path):
    path = tmp_path / "results" / "results.json"
    path.parent.mkdir()
    path.write_text("planted")
    document = results.build(rows(), None)
    results.write_atomic(path, document)
    assert json.loads(path.read_text()) == document
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o644
    assert os.listdir(path.parent) == ["results.json"]


def test_scores_by_tag_and_the_table():
    document = results.build(rows(), None)
    assert results.scores_by_tag(document) == {"losses.sigmoid": (2.0, 3.0),
                                               "optimizers.Adam": (3.0, 3.0)}
    lines = results.table(document, "Optimization: sub").splitlines()
    assert lines[0] == "Optimization: sub"
    assert lines[1].startswith("✗ losses.sigmoid") and lines[1].endswith("2.00 /   3.00")
    assert lines[2] == "      shape: sigmoid(z=1) expected: 0.73 got: 0.5"  # the first failure, one line
    assert lines[3].startswith("  optimizers.Adam")
    assert lines[-1].split() == ["TOTAL", "5.00", "/", "6.00"]


def test_submitters_and_the_csv(tmp_path):
    users = [{"name": "Ada", "email": "ada@example.edu"}, {"name": "Bo\x1b[2J"}]
    assert results.submitters(users) == {"students": "Ada; Bo\x1b[2J", "emails": "ada@example.edu; "}
    path = tmp_path / "out" / "grades.csv"
    results.write_csv(path, [{"submission": "s1", **results.submitters(users)},
                             {"submission": "s2", "score": 3.5}])
    with open(path, newline="", encoding="utf-8") as f:
        written = list(csv.DictReader(f))
    assert list(written[0]) == ["submission", "students", "emails", "score"]
    assert written[0]["students"] == "Ada; Bo\\x1b[2J" and written[0]["score"] == ""
    assert written[1] == {"submission": "s2", "students": "", "emails": "", "score": "3.5"}
    results.write_csv(path, [])
    assert path.read_text().strip() == "submission"
