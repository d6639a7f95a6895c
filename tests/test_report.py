"""The student's local report, in-process: the same points as Gradescope's rows, one line
per stub, one short reason per failing name, deselected tests left out; the essay's own
release and check; results.json's formats; frozen vectors that name their parameters."""

import dataclasses
import subprocess
import sys
from types import SimpleNamespace

import numpy as np
import pytest

from autograder import checks, config, packaging, plugin, report, results, runner, written_check

from conftest import ROOT

OPT = config.load("optimization")
SONG = config.load("song_contest")


class _Collect:
    """Collects the outcomes of an assignment's tests, running none."""

    def __init__(self):
        self.outcomes = []

    def pytest_collection_modifyitems(self, items):
        self.outcomes += [plugin.outcome_of(item, OPT) for item in items]


@pytest.fixture(scope="module")
def collected():
    """Not-yet-run outcomes of the public and hidden tests, and the hidden tests' weights."""
    collector = _Collect()
    code, log = runner.run_pytest(OPT, collector, "--collect-only", groups=["hidden", "public"])
    assert code == 0, log
    return collector.outcomes, runner.group_weights(OPT, ["hidden"])


def public_run(collected, **changes):
    """The public outcomes after a run where every test ran and passed, but for ``changes``:
    a contract name -> the fields its tests get."""
    outcomes, _ = collected
    runs = []
    for outcome in outcomes:
        if outcome.group == "public":
            fields = {"ran": True, "passed": True} | changes.get(outcome.target, {})
            runs.append(dataclasses.replace(outcome, **fields))
    return runs


def name_lines(lines):
    return {line.split()[1]: line for line in lines if line[:5] in ("ok   ", "--   ", "FAIL ")}


def test_local_shares_are_gradescope_public_rows(collected):
    outcomes, hidden = collected
    rows = runner.name_rows(OPT, outcomes)
    public = {r.tags[0]: r.max_score for r in rows if r.visibility == "visible"}
    lines = report.local_report(OPT, public_run(collected), hidden, verbose=False)
    shown = name_lines(lines)
    assert list(shown) == list(OPT.points)
    for target, line in shown.items():
        assert line.split()[2:5] == [f"{public[target]:.2f}", "/", f"{public[target]:.2f}"], line
    possible = sum(public.values())
    assert lines[-1] == (f"Public tests: {possible:.2f} of {possible:.2f} points. Hidden tests "
                         f"({100 - possible:.2f} more points) run on Gradescope after you submit.")


def test_a_stub_is_one_line(collected):
    stub = {"passed": False, "stub": True, "message": "x is not implemented yet (it raises "
                                                      "NotImplementedError)\n  File ..."}
    lines = report.local_report(OPT, public_run(collected, **{t: stub for t in OPT.points}), {},
                                verbose=False)
    assert len(lines) == len(OPT.points) + 1 < 60
    assert all(line.startswith("--   ") and line.endswith("not implemented yet")
               for line in lines[:-1])
    assert lines[-1].startswith(f"Public tests: 0.00 of {sum(OPT.points.values()):.2f} points.")


def test_a_failing_name_shows_its_first_failure_short_and_all_with_v(collected):
    long = "mse_loss(y_hat=[1., 2.], y=[0., 4.])\n  expected: 2.5\n  got:      5\n" + \
           "\n".join(f"  detail {i}" for i in range(10))
    bug = {"passed": False, "message": long, "output": "debug: diff\n" * 9}
    runs = public_run(collected, **{"losses.mse_loss": bug})
    lines = report.local_report(OPT, runs, {}, verbose=False)
    at = next(i for i, line in enumerate(lines) if line.startswith("FAIL losses.mse_loss"))
    block = lines[at:at + 13]
    assert "  0.00 /" in block[0] and "3 of 3 tests failed" in block[0]
    assert block[2:5] == ["         mse_loss(y_hat=[1., 2.], y=[0., 4.])",
                          "           expected: 2.5", "           got:      5"]
    assert "-v shows the whole message" in block[8] and "detail 4" not in "\n".join(lines)
    assert "your code printed" in block[9] and block[10].endswith("| debug: diff")
    assert "[... 4 more lines]" in "\n".join(lines)
    others = {t: line for t, line in name_lines(lines).items() if t != "losses.mse_loss"}
    assert all(line.startswith("ok   ") for line in others.values())
    verbose = "\n".join(report.local_report(OPT, runs, {}, verbose=True))
    assert verbose.count("expected: 2.5") == 3 and "detail 9" in verbose
    assert verbose.count("debug: diff") == 27


def test_deselected_tests_are_not_reported(collected):
    runs = public_run(collected)
    for outcome in runs:
        outcome.ran = outcome.passed = "mse" in outcome.nodeid
    lines = report.local_report(OPT, runs, {}, verbose=False)
    assert list(name_lines(lines)) == ["losses.mse_loss", "losses.mse_loss_grad"]
    assert "(only the tests you selected ran)" in lines[-1]
    assert report.local_report(OPT, [dataclasses.replace(o, ran=False) for o in runs], {},
                               verbose=False) == []


def test_a_selection_says_the_hidden_points_of_its_own_names(collected):
    """``pytest -k adam``: the hidden points of Adam, not the whole assignment's."""
    outcomes, hidden = collected
    rows = runner.name_rows(OPT, outcomes)
    runs = public_run(collected)
    for outcome in runs:
        outcome.ran = outcome.passed = "adam" in outcome.nodeid.lower()
    names = {o.target for o in runs if o.ran}
    assert names == {"optimizers.Adam"}
    public, hidden_points = [r.max_score for r in rows if r.tags == ["optimizers.Adam"]]
    assert 0 < hidden_points < 58.2
    lines = report.local_report(OPT, runs, hidden, verbose=False)
    assert lines[-1] == (f"Public tests: {public:.2f} of {public:.2f} points (only the tests you "
                         f"selected ran). Hidden tests ({hidden_points:.2f} more points of these "
                         f"names) run on Gradescope "
                         "after you submit.")


def test_session_fixtures_are_module_level():
    """pytest 10 removes fixtures defined as methods (PytestRemovedIn10Warning)."""
    for name in ("sub", "ref", "vectors"):
        assert not hasattr(plugin.GradingSession, name)
        assert hasattr(getattr(plugin, name), "_pytestfixturefunction") or \
            type(getattr(plugin, name)).__name__ == "FixtureFunctionDefinition"


def test_frozen_vectors_name_parameters_and_constructors():
    cases = {p.id: p.values for p in checks.frozen_cases(str(OPT.tests_dir / "public/vectors.json"))}
    wrong = SimpleNamespace(losses=SimpleNamespace(mse_loss=lambda *args: 5.0),
                            optimizers=SimpleNamespace(Adam=lambda **kwargs: Stuck()))
    with pytest.raises(checks.GradingFailure) as failed:
        checks.check_frozen_case(wrong, *cases["losses.mse_loss-1"])
    assert str(failed.value).splitlines()[0] == "mse_loss(y_hat=[1., 2.], y=[0., 4.])"
    with pytest.raises(checks.GradingFailure) as failed:
        checks.check_frozen_case(wrong, *cases["optimizers.Adam-1"])
    assert str(failed.value).startswith("Adam(lr=0.1).step, call 1, with w=[ 1., -2.], grad=")
    assert "arg1" not in str(failed.value)


class Stuck:
    """An optimizer that never moves."""

    def step(self, w, grad):
        return np.asarray(w)


def test_top_level_output_is_escaped_for_simple_format():
    document = results.build([], None, "a <b> & c\nnext line")
    assert document["output"] == "a &lt;b&gt; &amp; c\nnext line"
    assert document["output_format"] == "simple_format"
    assert (document["test_output_format"], document["test_name_format"]) == ("text", "text")


def test_essay_release_has_its_own_readme_requirements_and_check():
    files = packaging.student_files(SONG)
    readme = files["song_contest/README.md"].decode()
    assert "responses.md" in readme and "10 to 20 sentences" in readme and "23 of the 30" in readme
    assert "NotImplementedError" not in readme and "functions" not in readme
    requirements = [line.split("==")[0] for line in
                    files["song_contest/requirements.txt"].decode().splitlines()
                    if line and not line.startswith("#")]
    assert {"pytest", "pyyaml", "pysbd", "rapidfuzz", "tzdata"} <= set(requirements)
    assert not {"numpy", "hypothesis"} & set(requirements)
    assert "autograder.written_check" in files["song_contest/conftest.py"].decode()
    assert "song_contest/tests/unshipped_weights.json" not in files
    imported = subprocess.run(
        [sys.executable, "-c", "import sys, autograder.written_check; "
                               "print(sorted({'numpy', 'hypothesis'} & set(sys.modules)))"],
        capture_output=True, text=True, cwd=ROOT, check=True)
    assert imported.stdout.strip() == "[]"


def test_essay_check_prints_readable_lines_per_question(tmp_path):
    (tmp_path / "assignment.yaml").write_bytes((SONG.root / "assignment.yaml").read_bytes())
    (tmp_path / "responses.md").write_bytes(
        (ROOT / "student_template/song_contest/responses.md").read_bytes())
    text = "\n".join(written_check.report_lines(tmp_path))
    assert "Q1  0 of 3 automatic points" in text and "Q3  0 of 2 automatic points" in text
    assert "FAIL  No answer found" in text
    assert "Question(" not in text and "<function" not in text
    assert "The other 23 points are graded by hand on Gradescope:" in text
