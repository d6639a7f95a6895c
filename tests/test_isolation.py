"""Issue 18's contexts, attacked through the real run_autograder as root, in both modes
(bubblewrap, and the pool users alone as in Gradescope's Docker): one submission holds
one attack per class, each on names of its own (tests/fixtures/isolation/, as data).

- a circle that also calls an unimplemented neighbour (the recheck must run);
- a circle that records its answers while the reference serves it and replays them in
  the recheck, through every place a process could leave them (the recheck must start
  from nothing);
- honest functions that leave their inputs for later contexts, and print what they find
  (a hidden test's inputs must never reach a visible row);
- a learning rate of five million elements set on the grader's optimizer;
- printed text that reads as the grader's own, hidden in bidirectional characters;
- a function wrong on its third call only (a flaky failure, told in the student's words).

Every other name keeps full marks, no process ever reads what another left, and no
process of the pool users is left running.
"""

import ast
import json
from pathlib import Path

import pytest
from attacks import Attack, after_imports, redefine
from test_trust_boundary import METADATA, check_grades, processes_of, read_results, tag

from conftest import pool_uids, run_autograder
from corpus import write_submission

pytestmark = pytest.mark.slow
FIXTURES = Path(__file__).parent / "fixtures" / "isolation"
SPY = (FIXTURES / "spy.py").read_text()
CIRCLES = {"schedules.step_decay", "schedules.exponential_decay", "regularization.l2_penalty",
           "regularization.l2_penalty_grad"}
ATTACK = Attack("contexts", 18, lambda dest: None,
                may_lose=frozenset({*CIRCLES, "regularization.l1_penalty",
                                    "layers.residual_backward"}),
                must_lose=frozenset({*CIRCLES, "layers.residual_backward"}),
                old_grader="the circles kept their points; hidden inputs reached public rows")


def edits() -> list:
    """Each fixture's functions replace the reference's of the same name; the spy goes
    after the imports of every file that uses it."""
    found = []
    for fixture in sorted(FIXTURES.glob("*.py")):
        if fixture.name == "spy.py":
            continue
        source = fixture.read_text()
        lines = source.splitlines(keepends=True)
        for node in ast.parse(source).body:
            if isinstance(node, ast.FunctionDef):
                found.append(redefine(fixture.name, node.name,
                                      "".join(lines[node.lineno - 1:node.end_lineno])))
            elif isinstance(node, ast.Assign):
                found.append(after_imports(fixture.name, ast.get_source_segment(source, node)))
        if "spy(" in source or "replay(" in source:
            found.append(after_imports(fixture.name, SPY))
    return found


@pytest.fixture(scope="module", params=[True, False], ids=["bubblewrap", "pool-users-only"])
def graded(request, gradescope_root):
    env = {} if request.param else {"AUTOGRADER_NO_BWRAP": "1"}
    path, _ = run_autograder(gradescope_root, lambda dest: write_submission(dest, tuple(edits())),
                             METADATA, env=env)
    return read_results(path)


def rows_of(document: dict, target: str) -> list[dict]:
    return [t for t in document["tests"] if tag(t) == target]


def test_honest_names_keep_their_points_and_every_circle_loses(graded):
    check_grades(graded, ATTACK)
    # (What the pool users left on disk is test_trust_boundary's to check: a grading that
    # another test kills on purpose beside this one leaves its scratch until the next lease.)
    assert processes_of(pool_uids()) == [], "processes of the sandbox users survived the grading"


def test_no_process_reads_what_another_left(graded):
    """Not one line left by another context (the first pass, a hidden test, another name)
    was found, in any row, visible or not."""
    found = [(t["name"], line) for t in graded["tests"]
             for line in t.get("output", "").splitlines() if "FOUND" in line]
    assert not found


def test_a_circle_is_rechecked_although_it_calls_an_unimplemented_name(graded):
    rows = rows_of(graded, "regularization.l2_penalty")
    assert rows and all(t["score"] == 0 for t in rows)
    assert any("call each other in a circle" in t["output"] for t in rows)
    assert "regularization.l1_penalty" not in " ".join(
        t["output"].split("Do your functions")[0] for t in rows)  # it was the grader's


def test_a_learning_rate_array_is_refused_and_minimize_keeps_full_marks(graded):
    rows = rows_of(graded, "optimizers.minimize")
    assert rows and all(t["score"] == t["max_score"] for t in rows)


def test_forged_and_hidden_text_is_the_students_and_shown_escaped(graded):
    rows = rows_of(graded, "layers.residual_forward")
    printed = "".join(t.get("output", "") for t in rows)
    assert "forged by the student" in printed and "\\u202e" in printed
    assert "\u202e" not in json.dumps(graded, ensure_ascii=False)
    assert not any((t.get("extra_data") or {}).get("mistakes") for t in rows)


def test_a_flaky_failure_shows_no_grader_internals(graded):
    rows = [t for t in rows_of(graded, "layers.residual_backward")
            if t["score"] < t["max_score"]]
    assert rows
    for row in rows:
        for secret in ("Flaky", "Traceback", "hypothesis", ".py", "def test_", "/autograder"):
            assert secret not in row["output"], (secret, row["output"][:800])
