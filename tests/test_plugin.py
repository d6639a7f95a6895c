"""The pytest plugin (autograder/plugin.py) on a tiny assignment of its own, graded in
this process: the ``grades`` marker and its weights, failure messages, the student's
prints under the test that printed them, and malformed test suites."""

import sys
from types import SimpleNamespace

import pytest
from hypothesis import settings
from hypothesis.errors import FlakyFailure, FlakyStrategyDefinition

from autograder import class_report, config, plugin, runner
from autograder.locate import locate

from conftest import write_home

ASSIGNMENT = """
title: Tiny
kind: programming
files: [m.py]
points: {m.double: 3, m.triple: 1}
visibility: {public: visible, hidden: after_published}
due: "2024-10-11 23:59"
timezone: America/New_York
"""
REFERENCE = "def double(x):\n    return 2 * x\n\n\ndef triple(x):\n    return 3 * x\n"
PUBLIC = '''
from autograder.checks import assert_close
from autograder.plugin import grades


@grades("m.double", weight=2)
def test_double_of_two(sub):
    """double(2) is 4"""
    assert_close(sub.m.double(2.0), 4.0, "double", {"x": 2.0})


@grades("m.double")
def test_double_of_zero(sub):
    assert_close(sub.m.double(0.0), 0.0, "double", {"x": 0.0})
'''
HIDDEN = '''
import pytest

from autograder.plugin import grades


@grades("m.triple")
@pytest.mark.parametrize("x", [1.0, -2.0])
def test_triple_matches_the_reference(sub, ref, x):
    """triple agrees with the reference"""
    assert sub.m.triple(x) == ref.m.triple(x), "triple is wrong"
'''


@pytest.fixture
def tiny(tmp_path, monkeypatch):
    """The tiny assignment, with its reference under a home of its own."""
    home = tmp_path / "home"
    root = write_home(home, "tiny", {
        "assignment.yaml": ASSIGNMENT, "tests/public/test_public.py": PUBLIC,
        "tests/hidden/test_hidden.py": HIDDEN, "solutions/m.py": REFERENCE})
    monkeypatch.setattr(config, "HOME", home)
    profile = settings.get_current_profile_name()
    yield config.load_path(root / "assignment.yaml", "tiny")
    settings.load_profile(profile)  # the grading session loaded the grader's own
    for name, module in list(sys.modules.items()):  # its tests and the reference
        if str(getattr(module, "__file__", None)).startswith(str(home)):
            del sys.modules[name]


def grade(assignment, tmp_path, source: str, name: str = "m.py") -> dict:
    submission = tmp_path / "submission"
    submission.mkdir(exist_ok=True)
    (submission / name).write_text(source)
    return runner.grade(assignment, submission)


GIVEN = '''
from hypothesis import given, strategies as st

from autograder.checks import assert_close
from autograder.plugin import grades


@grades("m.triple")
@given(x=st.floats(-10, 10))
def test_triple_of_any_number(sub, ref, x):
    """triple agrees with the reference on any number"""
    assert_close(sub.m.triple(x), ref.m.triple(x), "triple", {"x": x})
'''
TWO_WAYS = REFERENCE.replace("    return 3 * x\n", "    if x > 5:\n        raise ValueError('too big')\n"
                             "    return 3 * x + 1\n")


def test_a_test_that_fails_two_ways_gives_one_reason(tiny, tmp_path):
    """Hypothesis finds two failures (a wrong value, an error): the student reads the
    first, shrunk, not a group of both that names neither."""
    (tiny.tests_dir / "hidden" / "test_given.py").write_text(GIVEN)
    row = next(t for t in grade(tiny, tmp_path, TWO_WAYS)["tests"]
               if t["name"] == "m.triple (hidden tests)")
    given = row["output"].split("✗ triple agrees with the reference on any number")[1]
    assert "Group" not in given and "distinct failures" not in given, given
    assert "triple(x=0)" in given and "expected: 0" in given and "got:      1" in given, given


STATEFUL = "CALLS = []\n\n\ndef double(x):\n    return 2 * x\n\n\ndef triple(x):\n" \
    "    CALLS.append(x)\n    if len(CALLS) == 3:\n        {wrong}\n    return 3 * x\n"


@pytest.mark.parametrize("wrong", ["return 3 * x + 1", "raise ValueError('third call')"],
                         ids=["answer", "raise"])
def test_an_answer_that_changes_when_called_again_is_explained_in_the_students_words(
        tiny, tmp_path, wrong):
    """The third call fails and hypothesis' replay of it does not: the student reads what
    that means, and what the first call found, never hypothesis' Flaky report (the test's
    source, the grader's traceback and files)."""
    (tiny.tests_dir / "hidden" / "test_given.py").write_text(GIVEN)
    row = next(t for t in grade(tiny, tmp_path, STATEFUL.format(wrong=wrong))["tests"]
               if t["name"] == "m.triple (hidden tests)")
    given = row["output"].split("✗ triple agrees with the reference on any number\n")[1]
    assert given.startswith(f"    {plugin.FLAKY}\n    The first time: "), given
    assert ("got:" in given) if wrong.startswith("return") else ("third call" in given), given
    for leak in ("Flaky", "Traceback", "hypothesis", "assert_close", "ref.m.triple", ".py",
                 str(tmp_path), "autograder/"):
        assert leak not in given, (leak, given)


def test_points_are_shared_by_weight_and_rows_follow_the_points(tiny, tmp_path):
    document = grade(tiny, tmp_path, REFERENCE, name="M (1).py")
    files, *rows = document["tests"]
    assert files["name"] == "Submitted files" and "graded 'M (1).py' as m.py" in files["output"]
    assert [(r["name"], r["max_score"], r["visibility"], r["number"]) for r in rows] == [
        ("m.double (public tests)", 3.0, "visible", "1.1"),
        ("m.triple (hidden tests)", 1.0, "after_published", "2.1")]
    assert document["score"] == 4 and all(r["status"] == "passed" for r in rows)


@pytest.mark.parametrize("upload", ["notes.pdf", "hw2.zip"])
def test_a_missing_file_is_a_failed_row_and_said_first(tiny, tmp_path, upload):
    """A submission without the assignment's file (a PDF, or only a zip) is told so first,
    in the top-level output and in a failed row that names what was received."""
    document = grade(tiny, tmp_path, "not python", name=upload)
    files, *rows = document["tests"]
    assert files["name"] == "Submitted files" and files["status"] == "failed"
    assert files["output"].startswith(f"m.py was not found in your submission (files received: "
                                      f"{upload})")
    assert ("not an archive" in files["output"]) == upload.endswith(".zip")
    assert document["output"].startswith("Not found in your submission: m.py")
    assert document["score"] == 0 and all(r["status"] == "failed" for r in rows)


def test_a_failure_costs_its_share_says_why_and_shows_what_that_test_printed(tiny, tmp_path):
    student = REFERENCE.replace("return 2 * x", "print('double saw', x)\n    return 2 * x + (x > 1)")
    rows = {r["name"]: r for r in grade(tiny, tmp_path, student)["tests"]}
    double = rows["m.double (public tests)"]
    assert (double["score"], double["max_score"]) == (1.0, 3.0)  # weight 2 of 3 lost
    assert double["output"] == (
        "✗ double(2) is 4\n    double(x=2)\n      expected: 4\n      got:      5\n"
        "    Your code printed:\n      double saw 2.0\n"
        "✓ 1 of 2 tests passed: test_double_of_zero\n"
        "✓ test_double_of_zero:\n    Your code printed:\n      double saw 0.0")
    assert rows["m.triple (hidden tests)"]["score"] == 1.0


@pytest.mark.parametrize(("test", "error"), [
    ("def test_unmarked(sub):\n    pass\n", "a grading test needs @grades('module.name')"),
    ("@grades('m.quadruple')\ndef test_x(sub):\n    pass\n",
     "grades 'm.quadruple', which is not in assignment.yaml points"),
    ("@grades('m.double', weight=0)\ndef test_x(sub):\n    pass\n", "weight=0 must be a positive number"),
], ids=["unmarked", "unknown-name", "zero-weight"])
def test_a_malformed_test_suite_is_the_graders_error(tiny, tmp_path, test, error):
    (tiny.tests_dir / "public" / "test_bad.py").write_text(
        f"from autograder.plugin import grades\n\n\n{test}")
    with pytest.raises(runner.GradingError, match="did not run") as raised:
        grade(tiny, tmp_path, REFERENCE)
    assert f"public/test_bad.py::test_{'unmarked' if 'unmarked' in test else 'x'}: {error}" \
        in str(raised.value)


NAMING = '''
from autograder.checks import assert_close
from autograder.plugin import grades


@grades("m.triple")
def test_triple_of_two(sub):
    """triple(2) is 6"""
    assert_close(sub.m.triple(2.0), 6.0, "triple", {"x": 2.0}, mistakes={"doubles instead": 4.0})
'''
FORGING = """
def double(x):
    print("  Classic mistake: forged by a print.")
    raise ValueError("  Classic mistake: forged by an exception.")


def triple(x):
    return 2 * x
"""


def test_only_what_the_grader_names_is_a_named_mistake(tiny, tmp_path):
    """The student's prints and exception messages may read "Classic mistake: ...": they are
    shown as they are, but only the mistakes the checks named are the row's extra_data."""
    (tiny.tests_dir / "hidden" / "test_naming.py").write_text(NAMING)
    document = grade(tiny, tmp_path, FORGING)
    rows = {r["name"]: r for r in document["tests"]}
    double, triple = rows["m.double (public tests)"], rows["m.triple (hidden tests)"]
    assert "forged by a print" in double["output"] and "forged by an exception" in double["output"]
    assert "mistakes" not in double.get("extra_data", {})
    assert "  Classic mistake: doubles instead." in triple["output"]
    assert triple["extra_data"]["mistakes"] == ["doubles instead"]
    assert class_report.failures([document])[1] == {("m.triple", "doubles instead"): 1}


def test_failure_messages_keep_assertions_and_explain_the_rest():
    assert plugin.failure_message(AssertionError("expected 4")) == "expected 4"
    assert plugin.failure_message(KeyError("k")) == \
        "the grader could not use your result (KeyError: 'k')"
    noted = AssertionError("wrong")
    noted.add_note("Falsifying example: f(x=1)")
    assert plugin.failure_message(noted) == "wrong\nFalsifying example: f(x=1)"
    long = plugin.failure_message(AssertionError("x" * 10_000))
    assert len(long) == plugin.MESSAGE_CAP + len("\n[...]") and long.endswith("\n[...]")
    assert plugin.failure_message(AssertionError()) == "AssertionError"
    flaky = FlakyFailure("Hypothesis test_x(sub=<your code>) produces unreliable results",
                         [AssertionError("expected 4")])
    flaky.add_note('  File "/autograder/source/tests/hidden/test_x.py", line 9, in test_x')
    assert plugin.failure_message(flaky) == f"{plugin.FLAKY}\nThe first time: expected 4"
    assert plugin.failure_message(FlakyStrategyDefinition("Inconsistent data")) == plugin.FLAKY


def test_sub_calls_the_sandbox_by_contract_name():
    calls = []
    sandbox = SimpleNamespace(call=lambda *a: calls.append(a) or 7, last_reply={"mutated": []})
    sub = plugin.StudentCode(sandbox)
    assert sub.losses.sigmoid(1.0, k=2) == 7
    assert calls == [("losses.sigmoid", (1.0,), {"k": 2})]
    assert sub.last_call == {"mutated": []} and repr(sub) == "<your code>"
    with pytest.raises(AttributeError):
        sub._sandbox_internals  # noqa: B018
    mark = plugin.grades("optimizers.Adam", weight=2).mark
    assert (mark.name, mark.args, mark.kwargs) == ("grades", ("optimizers.Adam",), {"weight": 2})


def session_of(assignment, tmp_path, source, **options):
    """A grading session of ``source`` run in part, as the audit runs one."""
    submission = tmp_path / "submission"
    submission.mkdir(exist_ok=True)
    (submission / "m.py").write_text(source)
    found = locate(submission, assignment.files, assignment.contract)
    return runner.run_session(plugin.GradingSession(assignment, found, reference=True, **options))


def test_a_session_in_part_runs_only_the_names_asked_for(tiny, tmp_path):
    session = session_of(tiny, tmp_path, REFERENCE.replace("3 * x", "3 * x + 1"),
                         only={"m.triple"}, digest=True)
    assert {o.target for o in session.outcomes.values()} == {"m.triple"}
    assert [o.passed for o in session.outcomes.values()] == [False, False]
    assert set(session.sandbox.digests) == {"m.triple"}


def test_verdicts_stop_a_name_at_its_first_failure_and_digests_tell_answers_apart(tiny, tmp_path):
    wrong = session_of(tiny, tmp_path, REFERENCE.replace("3 * x", "3 * x + 1"), verdicts=True,
                       digest=True)
    triple = [o for o in wrong.outcomes.values() if o.target == "m.triple"]
    assert triple[0].message.startswith("triple is wrong") and "failed already" in triple[1].message
    right = session_of(tiny, tmp_path, REFERENCE, digest=True)
    same = session_of(tiny, tmp_path, REFERENCE.replace("2 * x", "x + x"), digest=True)
    digests = [{k: v.hexdigest() for k, v in s.sandbox.digests.items()}
               for s in (wrong, right, same)]
    assert digests[1] == digests[2]  # x + x answers as 2 * x does
    assert digests[0]["m.triple"] != digests[1]["m.triple"]
    assert digests[0]["m.double"] == digests[1]["m.double"]
