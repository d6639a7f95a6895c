"""The engine holds no assignment: what is particular to the shipped assignments (the
finalists' names, question ids, the optimizers' ``step``, the demo's sample) is data in
assignments/ and samples/, and the same code serves any other assignment."""

import ast
import re
import sys
import textwrap
from pathlib import Path
from types import SimpleNamespace

import pytest
import yaml

from autograder import checks, config, demo, late_policy, stubs, written
from autograder.sandbox.protocol import decode

from conftest import ROOT


def assignment_words() -> set[str]:
    """Names only the shipped assignments give meaning to: their names, modules, contract
    names, question ids, the operations on their grader objects, their subject."""
    words = {"song", "songs", "finalist", "finalists"}
    for name in config.assignment_names():
        assignment = config.load(name)
        words |= {name, *(q.id for q in assignment.questions)}
        words |= {part for target in assignment.points for part in target.split(".")}
        allowed = assignment.grader_objects
        words |= set(allowed.methods | allowed.attributes | allowed.settable)
    return words


def code_words(path: Path) -> list[tuple[int, str]]:
    """(line, word) of every name and string of a module's code, docstrings left out."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    docstrings = {id(node.body[0].value) for node in ast.walk(tree)
                  if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef))
                  and node.body and isinstance(node.body[0], ast.Expr)
                  and isinstance(node.body[0].value, ast.Constant)}
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            found.append((node.lineno, node.id))
        elif isinstance(node, ast.Attribute):
            found.append((node.lineno, node.attr))
        elif isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            found.append((node.lineno, node.name))
        elif isinstance(node, ast.arg):
            found.append((node.lineno, node.arg))
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) \
                and id(node) not in docstrings:
            found += [(node.lineno, w) for w in re.findall(r"\w+", node.value)]
    return found


def test_the_engine_names_no_assignment():
    words = assignment_words()
    assert {"optimizers", "Adam", "step", "q1", "song_contest"} <= words
    hits = [f"{path.relative_to(ROOT)}:{line}: {word}"
            for path in sorted((ROOT / "autograder").rglob("*.py"))
            for line, word in code_words(path) if word in words]
    assert hits == []


# -- a written assignment of another course ----------------------------------------------
ESSAY = {
    "title": "Essay", "kind": "written", "files": ["essay.md"], "due": "2025-01-10 12:00",
    "timezone": "Europe/Paris", "sentences": {"min": 2, "max": 3},
    "questions": [
        {"id": "intro", "heading": "Who inspires you?", "rubric": [
            {"id": "answered", "points": 1, "kind": "auto", "check": "answered",
             "description": "Answered"},
            {"id": "names", "points": 2, "kind": "auto",
             "check": {"mentions_any": ["Ada Lovelace", "Alan Turing"]},
             "description": "Names a pioneer"}]},
        {"id": "outro", "heading": "What would you build?", "rubric": [
            {"id": "length", "points": 1, "kind": "auto", "check": "length",
             "description": "2 to 3 sentences"}]},
    ],
}


def grade_essay(tmp_path: Path, text: str, data: dict = ESSAY):
    assignment = config.parse("essay", tmp_path, data)
    (tmp_path / "essay.md").write_text(text, encoding="utf-8")
    rows, _ = written.grade(assignment, tmp_path)
    return {row.name: row for row in rows}


def test_mentions_any_reads_names_as_a_reader_would(tmp_path):
    rows = grade_essay(tmp_path, "# Who inspires you?\nI admire alan turring. He was brave.\n"
                                 "# What would you build?\nA robot. It sings. It dances.\n")
    row = rows["Q1 Names a pioneer"]
    assert (row.score, row.output) == (2, "Names 'Alan Turing' (read 'alan turring' as "
                                          "'Alan Turing').")
    assert rows["Q2 2 to 3 sentences"].score == 1


def test_mentions_any_says_its_message_when_nothing_is_mentioned(tmp_path):
    rows = grade_essay(tmp_path, "# Who inspires you?\nMy grandmother.\n")
    assert rows["Q1 Names a pioneer"].output == "Mention one of 'Ada Lovelace', 'Alan Turing'."
    data = yaml.safe_load(yaml.safe_dump(ESSAY))
    data["questions"][0]["rubric"][1]["check"]["message"] = "Name a computing pioneer."
    rows = grade_essay(tmp_path, "# Who inspires you?\nMy grandmother.\n", data)
    assert rows["Q1 Names a pioneer"].output == "Name a computing pioneer."


def test_questions_are_numbered_by_position_not_by_id(tmp_path):
    long = " ".join(f"Sentence {i} is here." for i in range(6))
    rows = grade_essay(tmp_path, f"# What would you build?\n{long}\n")
    assert "Question 2's section has 6 sentences" in rows["Q1 Answered"].output
    rows = grade_essay(tmp_path, "# Who inspires you?\nAda.\n# Who inspires you?\nAlan.\n")
    assert "the heading of question 1 appears twice" in rows["Submitted file"].output
    rows = grade_essay(tmp_path, "Just some text. No headings.\n")
    assert "Keep the two headings from the template" in rows["Submitted file"].output


@pytest.mark.parametrize(("check", "message"), [
    ("mentions_any", "mentions_any needs its terms"),
    ({"mentions_any": []}, "mentions_any: give at least one term"),
    ({"mentions_any": ["x"], "says": "y"}, "unknown key 'says'"),
    ("names_song", "'names_song' is not one of answered, length, mentions_any"),
])
def test_a_wrong_check_is_named(tmp_path, check, message):
    data = yaml.safe_load(yaml.safe_dump(ESSAY))
    data["questions"][0]["rubric"][1]["check"] = check
    with pytest.raises(config.ConfigError, match=re.escape(message)):
        config.parse("essay", tmp_path, data)


def test_songs_are_no_longer_a_key_of_the_engine(tmp_path):
    with pytest.raises(config.ConfigError, match="unknown key 'songs'"):
        config.parse("essay", tmp_path, {**ESSAY, "songs": ["x"]})


# -- frozen vectors of a class whose method is not step --------------------------------------
COUNTER = '''
class Counter:
    """Counts what it is given."""

    def __init__(self, start=0):
        self.total = start

    def add(self, amount):
        """Add amount; return the new total."""
        self.total += amount
        return self.total
'''


@pytest.fixture
def counter(tmp_path, monkeypatch):
    """An assignment whose one contract name is a class with an ``add`` method."""
    module = "generic_counter_module"  # imported by name: unlike any other test's
    monkeypatch.setattr(config, "HOME", tmp_path)
    (tmp_path / "solutions" / "count").mkdir(parents=True)
    (tmp_path / "solutions" / "count" / f"{module}.py").write_text(COUNTER)
    monkeypatch.delitem(sys.modules, module, raising=False)
    yield config.parse("count", tmp_path, {
        "title": "Count", "kind": "programming", "files": [f"{module}.py"],
        "due": "2025-01-10 12:00", "timezone": "UTC", "points": {f"{module}.Counter": 1}})
    sys.modules.pop(module, None)


def test_a_class_case_calls_the_method_it_names(counter):
    target = next(iter(counter.points))
    frozen = decode(stubs.freeze_vectors(counter, {target: [
        {"kwargs": {"start": 1}, "method": "add", "calls": [[2], [3]], "attrs": ["total"]}]}),
        lambda handle: None)
    case = frozen[target][0]
    assert case["method"] == "add" and case["method_params"] == ["amount"]
    assert [e["return"] for e in case["expected"]] == [3, 6]

    class Wrong:
        def __init__(self, start=0):
            self.total = start

        def add(self, amount):
            return amount

    sub = SimpleNamespace(generic_counter_module=SimpleNamespace(Counter=Wrong))
    with pytest.raises(checks.GradingFailure) as failed:
        checks.check_frozen_case(sub, target, case)
    assert str(failed.value).startswith("Counter(start=1).add, call 1, with amount=2")


@pytest.mark.parametrize("case", [{"calls": [[1]]}, {"method": "add"},
                                  {"method": "step", "calls": [[1]]}])
def test_a_class_case_needs_a_method_the_reference_has(counter, case):
    target = next(iter(counter.points))
    with pytest.raises(config.ConfigError, match="vectors.yaml: generic_counter_module.Counter"):
        stubs.freeze_vectors(counter, {target: [case]})


# -- the demo's sample -------------------------------------------------------------------------
def test_the_demo_counts_what_the_sample_holds():
    spec = {"title": "a broken copy", "folder": "hw", "rename": {"a.py": "a (1).py"},
            "edits": [{"file": "a.py", "old": "1", "new": "2", "bug": "one"},
                      {"file": "a.py", "old": "3", "new": "4", "bug": "one"},
                      {"file": "b.py", "old": "5", "new": "6"}]}
    lateness = late_policy.Lateness(submitted=None, deadline=None, days=2, points_per_day=3)
    assert demo.describe(spec, lateness) == "a broken copy (2 bugs, a nested folder, 'a (1).py', " \
                                            "2 days late)"
    assert demo.describe({"edits": spec["edits"][2:]}, None) == "a sample buggy submission (1 bug)"


def test_the_demo_grades_the_samples_there_are(tmp_path, monkeypatch):
    assert [p.parent.name for p in demo.samples()] == ["optimization"]
    monkeypatch.setattr(config, "HOME", tmp_path)
    assert demo.samples() == []
    with pytest.raises(config.ConfigError, match="no sample submission to grade"):
        demo.run(tmp_path / "out")


def test_the_shipped_sample_says_what_it_is():
    spec = yaml.safe_load((ROOT / "samples/optimization/buggy.yaml").read_text())
    assignment = config.load("optimization")
    metadata = yaml.safe_load((ROOT / "samples/optimization" / spec["metadata"]).read_text())
    lateness = late_policy.assess(assignment.due, assignment.late_policy, metadata)
    assert demo.describe(spec, lateness) == textwrap.dedent("""\
        a sample buggy submission (4 bugs, a nested folder, 'losses (1).py', 1 day late)""")
