"""``autograder audit``: the verdicts of each kind of grading, the thresholds, and a whole
audit of a tiny assignment whose tests are weak on purpose."""

import ast
import dataclasses
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from autograder import audit, audit_report, config, freedoms, plugin
from autograder.audit import Graded, Job

from conftest import run_cli, write_home

ASSIGNMENT = """
title: Tiny
kind: programming
files: [m.py]
points: {m.double: 2, m.sixfold: 2}
visibility: {public: visible, hidden: after_published}
due: "2024-10-11 23:59"
timezone: America/New_York
audit: {min_mutation_score: {default: 0.5, m.sixfold: 1}, max_collateral: 0}
"""
# double's own test tries only 0 (the first of its examples, the only one it runs): `2 * x`
# -> `1 * x` answers it as the reference does, and sixfold, which calls double, pays for it
# when it is checked with the student's own double. The deeper search tries 1 too.
REFERENCE = '''
def double(x):
    """Twice x."""
    # BEGIN SOLUTION
    x = float(x)
    return 2 * x
    # END SOLUTION


def sixfold(x):
    """Six times x."""
    # BEGIN SOLUTION
    return 3 * double(x)
    # END SOLUTION
'''
PUBLIC = '''
from hypothesis import given, settings, strategies as st

from autograder.authoring import grades


@grades("m.double")
@settings(max_examples=1)
@given(st.sampled_from([0.0, 1.0]))
def test_double(sub, x):
    assert sub.m.double(x) == 2 * x
'''
HIDDEN = '''
import pytest

from autograder.authoring import grades


@grades("m.sixfold")
@pytest.mark.parametrize("x", [1.0, -2.0])
def test_sixfold_matches_the_reference(sub, ref, x):
    assert sub.m.sixfold(x) == ref.m.sixfold(x)
'''
MUTANTS = """
m.sixfold:
  - id: sixfold_plus
    edits: [{old: "return 3 * double(x)", new: "return 3 + double(x)"}]
"""
VARIANT = "def double(x):\n    return x + x\n\n\ndef sixfold(x):\n    return 6.0 * x\n"


@pytest.fixture
def tiny(tmp_path, monkeypatch):
    """The tiny assignment under a home of its own (for the audit's worker processes too)."""
    home = tmp_path / "home"
    write_home(home, "tiny", {
        "assignment.yaml": ASSIGNMENT, "tests/public/test_public.py": PUBLIC,
        "tests/hidden/test_hidden.py": HIDDEN, "mutants.yaml": MUTANTS,
        "variants/by_addition/m.py": VARIANT, "solutions/m.py": REFERENCE})
    monkeypatch.setattr(config, "HOME", home)
    monkeypatch.setenv("AUTOGRADER_HOME", str(home))
    return config.load("tiny")


def test_a_mutant_is_graded_on_its_names_and_their_callers(tiny):
    reached = {"m.sixfold": ["m.double"]}
    assert audit.affected(tiny, "m.double", "m", reached) == {"m.double", "m.sixfold"}
    assert audit.affected(tiny, "m.sixfold", "m", reached) == {"m.sixfold"}
    assert audit.affected(tiny, None, "m", {}) == {"m.double", "m.sixfold"}


def test_callers_of_callers_and_importers_of_helpers_see_a_mutant(tiny):
    """sixfold calls double, which calls triple: a mutant of triple reaches sixfold's own
    program. A file that imports a helper (not a contract name) runs the module's code
    past the sandbox's routing: each of its names can see any change of the module."""
    chain = {"m.sixfold": ["m.double"], "m.double": ["m.triple"]}
    contract = dataclasses.replace(tiny, points={"m.double": 2, "m.sixfold": 1, "m.triple": 1,
                                                 "n.g": 1}, files=("m.py", "n.py"))
    files = {"m.py": b"def double(x): ...\n", "n.py": b"from m import _helper\n"}
    assert audit.affected(contract, "m.triple", "m", chain, files) == {
        "m.triple", "m.double", "m.sixfold", "n.g"}
    files["n.py"] = b"from m import double\n"  # a contract name: the sandbox routes its calls
    assert audit.affected(contract, "m.triple", "m", {}, files) == {"m.triple"}


def test_a_file_without_contract_names_costs_the_names_of_its_importers(tiny):
    helpers = dataclasses.replace(tiny, files=("m.py", "util.py"))
    files = {"m.py": b"import util\n", "util.py": b"X = 1\n"}
    assert audit.own_names(helpers, None, "util", files) == {"m.double", "m.sixfold"}


def test_what_a_file_reaches_of_another():
    contract = frozenset({"sigmoid", "binary_cross_entropy"})
    assert audit.reaches_into(b"import numpy as np\nimport losses\n", "losses", contract)
    assert audit.reaches_into(b"from losses import *\n", "losses", contract)
    assert audit.reaches_into(b"from losses import sigmoid, _clip\n", "losses", contract)
    assert not audit.reaches_into(b"from losses import sigmoid\n", "losses", contract)
    assert not audit.reaches_into(b"import numpy as np\nx = 'losses'\n", "losses", contract)
    assert audit.reaches_into(b"def broken(:\n", "losses", contract)  # unreadable: it may


def job(target="m.double", kind="generated", description=""):
    return Job(kind, "m:6:constant", {}, target, "m", description)


ALIKE = Graded(digests={"m.double": "a"})  # answers as the reference's (the traced grading)
TEST = "public/test_public.py::test_double"


@pytest.mark.parametrize(("graded", "status"), [
    (Graded(failed={"m.double": "wrong"}, lost={"m.double": 2.0}), "killed"),
    (Graded(digests={"m.double": "b"}), "survived"),
    (Graded(failed={"m.sixfold": "wrong"}, lost={"m.sixfold": 2.0}, digests={"m.double": "b"}),
     "survived"),
    (Graded(error="the sandbox could not start"), "error"),
], ids=["killed", "survived", "survived-with-collateral", "error"])
def test_each_verdict(tiny, graded, status):
    entry = audit_report.verdict(tiny, job(), graded, ALIKE, set())
    assert entry["status"] == status
    if status != "error":
        assert entry["collateral"] == {n: p for n, p in graded.lost.items() if n != "m.double"}


def test_a_survivor_that_answered_alike_is_equivalent_only_after_the_deeper_search(tiny):
    """It is searched again on its own name: a test that fails it there kills it (but for a
    test that fails the reference too); else it is equivalent after so many examples, if it
    still answers as the reference does."""
    def searched(mutant, reference=None):
        reference = reference or Graded(digests={"m.double": "c"})
        return audit_report.verdict(tiny, job(), ALIKE, ALIKE, set(), (mutant, reference))

    same = Graded(digests={"m.double": "c"}, examples={"m.double": 200})
    assert audit_report.answered_alike(tiny, job(), ALIKE, ALIKE, set())
    entry = searched(same)
    assert (entry["status"], entry["equivalence"]) == (
        "equivalent", {"by": "deeper search", "examples": 200})
    failing = Graded(failed={"m.double": "x = 1.0: 2.0 != 1.0"}, failed_tests={"m.double": [TEST]},
                     digests={"m.double": "c"}, examples={"m.double": 2})
    entry = searched(failing)
    assert (entry["status"], entry["killed_by"], entry["failed"]) == (
        "killed", {"by": "deeper search", "test": TEST},
        {"m.double": "x = 1.0: 2.0 != 1.0"})
    assert searched(failing, dataclasses.replace(failing, examples={}))["status"] == "equivalent"
    entry = searched(same, Graded(digests={"m.double": "d"}))
    assert (entry["status"], entry["deeper"]) == (
        "survived", {"examples": 200, "answers_differ": ["m.double"]})
    assert audit_report.verdict(tiny, job(), ALIKE, ALIKE, set())["status"] == "error"  # unsearched
    assert searched(Graded(error="killed by a signal"))["status"] == "error"


def test_the_deeper_search_is_planned_on_own_names_and_the_reference_once_per_set(tiny):
    jobs = audit.plan_deeper(tiny, [job(), dataclasses.replace(job(), id="m:6:arith")])
    assert [(j.kind, j.id, j.only, j.deeper, j.verdicts) for j in jobs] == [
        ("deeper reference", "m.double", {"m.double"}, True, False),
        ("deeper", "m:6:constant", {"m.double"}, True, False),
        ("deeper", "m:6:arith", {"m.double"}, True, False)]


def test_the_deeper_search_runs_more_examples_from_another_seed_and_restores_the_test():
    seen = []

    @settings(max_examples=3, derandomize=True, database=None)
    @given(st.integers())
    def probe(n):
        seen.append(n)

    probe()
    first, seen[:] = list(seen), []
    with plugin.searched_deeper(probe) as examples:
        probe()
    assert examples == [len(seen)] == [3 * plugin.DEEPER]
    seen.clear()
    probe()
    assert seen == first  # its own settings and seed again


def test_a_survivor_declared_equivalent_or_whose_answers_vary(tiny):
    declared = dataclasses.replace(tiny, audit=dataclasses.replace(
        tiny.audit, equivalent={"m:6:constant": "the tests pass floats", "m:9:delete": "gone"}))
    survivor = Graded(digests={"m.double": "b"})
    entry = audit_report.verdict(declared, job(), survivor, Graded(), set())
    assert (entry["status"], entry["equivalence"]) == (
        "equivalent", {"by": "declared", "reason": "the tests pass floats"})
    entry = audit_report.verdict(tiny, job(), ALIKE, ALIKE, {"m.double"})
    assert (entry["status"], entry["answers_vary"]) == ("survived", ["m.double"])
    killed = audit_report.verdict(declared, job(), Graded(failed={"m.double": "x"}), ALIKE, set())
    report = {"names": {}, "collateral": [], "false_failures": [], "deterministic": True,
              "deeper_fails_reference": [],
              "mutants": [audit_report.verdict(declared, job(), survivor, Graded(), set())]}
    assert audit_report.problems(declared, report) == [
        "audit: equivalent: 'm:9:delete' is no surviving mutant of the reference (any more): "
        "remove it from assignment.yaml"]
    assert killed["status"] == "killed"


def test_the_reference_graded_twice_shows_determinism_and_answers_that_vary(tiny):
    """Both whole gradings of the reference are traced: their results.json must be the
    same, and a name whose answers differ between them is said to vary."""
    jobs = audit.plan_first(tiny)
    assert [(j.kind, j.id) for j in jobs] == [("reference", "traced"), ("reference", "traced again")]
    first = Graded(digests={"m.double": "a", "m.sixfold": "b"}, document='{"score": 4.0}')

    def summary(again):
        return audit_report.summarize(tiny, list(zip(jobs, (first, again))), first, 1.0, 1)

    same = summary(dataclasses.replace(first))
    assert (same["deterministic"], same["answers_vary"]) == (True, [])
    varies = summary(dataclasses.replace(first, digests={"m.double": "a", "m.sixfold": "c"}))
    assert (varies["deterministic"], varies["answers_vary"]) == (True, ["m.sixfold"])
    differs = summary(dataclasses.replace(first, document='{"score": 2.0}'))
    assert differs["deterministic"] is False
    assert "the reference graded twice gave different results" in differs["problems"]


def test_the_mutation_score_leaves_equivalent_mutants_out():
    entries = [{"status": s} for s in ("killed", "killed", "equivalent", "survived")]
    assert audit_report.score_of(entries) == {
        "mutants": 4, "killed": 2, "equivalent": 1, "survived": 1, "error": 0, "score": 0.6667}
    assert audit_report.score_of([{"status": "equivalent"}])["score"] == 1.0


def test_every_threshold_not_met_is_one_problem(tiny):
    mutants = [audit_report.verdict(tiny, job(), Graded(digests={"m.double": "b"},
                                                        lost={"m.sixfold": 2.0}),
                                    Graded(), set()),
               audit_report.verdict(tiny, job("m.sixfold", "hand-written", "sum, not product"),
                                    Graded(failed={"m.sixfold": "x"}, named=["other"]), Graded(),
                                    set())]
    report = {"names": {"m.double": audit_report.score_of(mutants[:1]),
                        "m.sixfold": audit_report.score_of(mutants[1:])},
              "collateral": mutants[:1], "false_failures": [{"variant": "v"}],
              "deterministic": False, "deeper_fails_reference": [TEST], "mutants": mutants}
    assert audit_report.problems(tiny, report) == [
        "m.double: mutation score 0% is below 50% (1 of 1 mutants survived)",
        "1 mutant cost points outside their own name (at most 0 allowed)",
        "1 correct submission lost points (at most 0 allowed)",
        "the reference graded twice gave different results",
        f"{TEST}: fails the reference when searched deeper (it kills no mutant there)",
        "m:6:constant: named [] of mistakes.yaml, not ['sum, not product']"]


@pytest.mark.parametrize(("audit_yaml", "error"), [
    ("{min_mutation_score: 1.5}", "min_mutation_score: default: 1.5 is not a fraction"),
    ("{min_mutation_score: {m.halve: 0.5}}", "min_mutation_score: 'm.halve' is not in points"),
    ("{max_collateral: -1}", "max_collateral: expected a non-negative number"),
    ("{min_score: 0.5}", "unknown key 'min_score'"),
    ("{freedoms: [{name: f, target: m.halve, kind: mask}]}",
     "freedoms: f: target 'm.halve' is not in points"),
    ("{freedoms: [{name: f, target: m.double}]}",
     "freedoms: f: give either a kind (a built-in rewrite) or edits"),
    ("{freedoms: [{name: f, target: m.double, edits: [{old: x}]}]}",
     "freedoms: f: edits: each needs old and new"),
])
def test_bad_thresholds_are_one_line_errors(tiny, audit_yaml, error):
    path = tiny.root / "assignment.yaml"
    path.write_text(ASSIGNMENT.replace(ASSIGNMENT.splitlines()[-1], f"audit: {audit_yaml}"))
    with pytest.raises(config.ConfigError, match="audit: " + error.split(":")[0]) as raised:
        config.load("tiny")
    assert error in str(raised.value)


@pytest.mark.slow
def test_the_audit_of_weak_tests_shows_survivors_collateral_and_fails(tiny, tmp_path):
    done = run_cli("audit", "tiny", "--out", str(tmp_path / "out"), "--jobs", "2", check=False)
    assert done.returncode == 1, done.stderr
    report = json.loads((tmp_path / "out" / "audit.json").read_text())
    by_change = {line: m for m in report["mutants"] if m["kind"] == "generated"
                 for line in m["diff"].splitlines() if line.startswith("+ ")}
    # `x = float(x)` deleted: the tests call with floats, every answer is the same, also in
    # the deeper search (which runs double's test on both its examples).
    deleted = by_change["+    pass"]
    assert (deleted["status"], deleted["equivalence"]) == (
        "equivalent", {"by": "deeper search", "examples": 2})
    # `1 * x` answers double(0.0) alike, and costs sixfold its points: collateral. The deeper
    # search kills it (double(1.0)).
    one = by_change["+    return 1 * x"]
    assert (one["status"], one["collateral"]) == ("killed", {"m.sixfold": 2.0})
    assert one["killed_by"] == {"by": "deeper search", "test": TEST}
    assert by_change["+    return 2 / x"]["status"] == "killed"  # 0 / 0
    assert report["names"]["m.sixfold"]["score"] == 1.0
    hand = [m for m in report["mutants"] if m["kind"] == "hand-written"]
    assert [(m["id"], m["status"]) for m in hand] == [("sixfold_plus", "killed")]
    assert report["false_failures"] == [] and report["deterministic"] is True
    assert [m["id"] for m in report["collateral"]] == [one["id"]]
    assert report["problems"] == ["1 mutant cost points outside their own name (at most 0 allowed)"]
    assert "problem: 1 mutant cost points outside their own name" in done.stdout
    page = (tmp_path / "out" / "audit.html").read_text()
    assert "return 1 * x" in page and "Collateral (" in page
    assert "Killed only by the deeper search (1)" in page
    assert "Equivalent after 2 examples on its own name" in page


DRAWN = """
title: Drawn
kind: programming
files: [r.py]
points: {r.keep: 2, r.draw: 2}
visibility: {public: visible, hidden: after_published}
due: "2024-10-11 23:59"
timezone: America/New_York
audit:
  max_false_failures: 0
  freedoms:
    - {name: mask, target: r.keep, kind: mask}
    - {name: order, target: r.draw, kind: permutation}
    - name: next_seed
      target: r.draw
      edits: [{old: "default_rng(seed).shuffle", new: "default_rng(seed + 1).shuffle"}]
"""
# Written in the less common ways of each kind: a binomial mask, a shuffle, numpy as `onp`.
DRAWN_REFERENCE = '''
import numpy as onp


def keep(x, p, seed):
    """x where a random mask keeps it (with probability 1 - p), else 0."""
    # BEGIN SOLUTION
    mask = onp.random.default_rng(seed).binomial(1, 1 - p, size=len(x)) == 1
    return onp.where(mask, onp.asarray(x, dtype=float), 0.0)
    # END SOLUTION


def draw(n, seed):
    """A random order of 0 .. n-1, as floats."""
    # BEGIN SOLUTION
    if n:
        order = onp.arange(n)
        onp.random.default_rng(seed).shuffle(order)
        return order.astype(float)
    return onp.zeros(0)
    # END SOLUTION
'''
DRAWN_PUBLIC = '''
from autograder.authoring import grades


@grades("r.keep")
def test_keep_keeps_or_zeroes(sub):
    out = sub.r.keep([1.0, 2.0, 3.0, 4.0], 0.5, 7)
    assert all(v in (0.0, x) for v, x in zip(out, [1.0, 2.0, 3.0, 4.0]))


@grades("r.draw")
def test_draw_is_an_order(sub):
    assert sorted(sub.r.draw(6, 1)) == [0.0, 1.0, 2.0, 3.0, 4.0, 5.0]
'''
# The contract leaves open how the order is drawn: this test depends on the reference's draws.
DRAWN_HIDDEN = '''
from autograder.authoring import grades


@grades("r.draw")
def test_draw_matches_the_reference(sub, ref):
    assert list(sub.r.draw(6, 1)) == list(ref.r.draw(6, 1))
'''


@pytest.fixture
def drawn(tmp_path, monkeypatch):
    """An assignment with random names and the freedoms of how they draw."""
    home = tmp_path / "home"
    write_home(home, "drawn", {
        "assignment.yaml": DRAWN, "tests/public/test_public.py": DRAWN_PUBLIC,
        "tests/hidden/test_hidden.py": DRAWN_HIDDEN, "solutions/r.py": DRAWN_REFERENCE})
    monkeypatch.setattr(config, "HOME", home)
    monkeypatch.setenv("AUTOGRADER_HOME", str(home))
    return config.load("drawn")


def test_each_way_of_a_freedom_is_rewritten_into_the_others(drawn):
    made = {v.id: v for v in freedoms.generate(drawn)}
    assert list(made) == ["mask:random", "mask:keep_below", "mask:uniform",
                          "order:permutation", "order:random_keys", "next_seed"]
    reference = (drawn.solutions_dir / "r.py").read_text()
    for variant in made.values():
        assert variant.text != reference and variant.module == "r"
        ast.parse(variant.text)
    assert "    mask = onp.random.default_rng(seed).random(len(x)) < 1 - p\n" in \
        made["mask:keep_below"].text
    assert made["mask:uniform"].description == (
        "`onp.random.default_rng(seed).binomial(1, 1 - p, size=len(x)) == 1` -> "
        "`onp.random.default_rng(seed).uniform(size=len(x)) >= p`")
    # two statements become one, at their indentation; numpy keeps its name
    assert "    if n:\n        order = onp.random.default_rng(seed).permutation(n)\n" \
           "        return order" in made["order:permutation"].text
    assert "order = onp.argsort(onp.random.default_rng(seed).random(n))" in \
        made["order:random_keys"].text
    assert "default_rng(seed + 1)" in made["next_seed"].text


@pytest.mark.parametrize(("freedom", "error"), [
    (config.Freedom("f", "r.draw", "coin"), "kind 'coin' is not one of mask, permutation"),
    (config.Freedom("f", "r.draw", "mask"), "the reference's r.draw writes none of the ways "
                                            "of mask"),
    (config.Freedom("f", "r.draw", edits=(("rng(7)", "rng(8)"),)), "occurs 0 times"),
])
def test_a_freedom_that_cannot_be_made_is_a_one_line_error(drawn, freedom, error):
    broken = dataclasses.replace(drawn, audit=dataclasses.replace(drawn.audit, freedoms=(freedom,)))
    with pytest.raises(config.ConfigError, match="assignment.yaml: audit: freedoms: f") as raised:
        freedoms.generate(broken)
    assert error in str(raised.value)


@pytest.mark.slow
def test_a_test_that_depends_on_the_references_draws_is_a_false_failure(drawn, tmp_path):
    """Of the variants its freedoms make, those that draw otherwise than the reference fail
    the hidden test (a false failure each, and reference dependence); those that draw as it
    does (the binomial mask rewritten as uniform, the shuffle as a permutation) pass."""
    done = run_cli("audit", "drawn", "--hand-written-only", "--out", str(tmp_path / "out"),
                   "--jobs", "2", check=False)
    assert done.returncode == 1, done.stderr
    report = json.loads((tmp_path / "out" / "audit.json").read_text())
    test = "hidden/test_hidden.py::test_draw_matches_the_reference"
    assert report["reference_dependence"] == [
        {"test": test, "target": "r.draw", "freedoms": ["next_seed", "order:random_keys"]}]
    lost = {f["variant"]: (f["kind"], f["lost"]) for f in report["false_failures"]}
    assert lost == {"next_seed": ("freedom", {"r.draw": 1.0}),
                    "order:random_keys": ("freedom", {"r.draw": 1.0})}
    assert len(report["freedoms"]) == 6
    assert report["problems"] == ["2 correct submissions lost points (at most 0 allowed)"]
    assert f"{test} fails next_seed, order:random_keys" in done.stdout
    page = (tmp_path / "out" / "audit.html").read_text()
    assert "Reference dependence (1)" in page and "+        order = onp.argsort(" in page
