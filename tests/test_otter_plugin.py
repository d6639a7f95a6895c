"""The late policy as an otter-grader plugin: its parts in-process (no otter needed), then
the real otter-grader (`.venv-otter/`, made by `make test`) grading a tiny notebook: `otter
run`, which passes no metadata, and otter's Gradescope entry point on a copy of the
/autograder layout with Gradescope's metadata."""

import importlib.util
import json
import os
import subprocess
import time
import zipfile
from pathlib import Path

import pytest

from autograder import config, otter_plugin
from autograder.config import ConfigError

OTTER_BIN = Path(__file__).resolve().parents[1] / ".venv-otter" / "bin"
DUE = {"due": "2024-10-01 23:59", "timezone": "America/New_York"}
LATE_YAML = 'due: "2024-10-01 23:59"\ntimezone: America/New_York\nlate_policy:\n  points_per_day: 3\n'
ON_TIME = {"created_at": "2024-10-01T20:00:00.000000-07:00"}  # 23:00 in New York
TWO_DAYS_LATE = {"created_at": "2024-10-03T10:00:00.000000-07:00",
                 "assignment": {"due_date": "2024-10-01T23:59:00.000000-04:00"}}


# -- in-process -----------------------------------------------------------------------
@pytest.mark.skipif(importlib.util.find_spec("otter") is not None, reason="otter is installed")
def test_without_otter_only_the_plugin_class_is_missing_and_says_why():
    with pytest.raises(ImportError, match=r"needs otter-grader: pip install 'autograder\[otter\]'"):
        from autograder.otter_plugin import LatePolicyPlugin  # noqa: F401
    assert otter_plugin.take_penalty({"q1": 1.0}, 1.0) == {"q1": 0.0}


def test_the_penalty_is_taken_in_order_and_never_below_zero():
    assert otter_plugin.take_penalty({"q1": 4, "q2": 10}, 6) == {"q1": 0, "q2": 8}
    assert otter_plugin.take_penalty({"q1": 0, "q2": 5, "q3": 5}, 3) == {"q2": 2}
    assert otter_plugin.take_penalty({"q1": 4, "q2": 10}, 30) == {"q1": 0, "q2": 0}
    assert otter_plugin.take_penalty({"q1": 4}, 0) == {}


def test_settings_inline_or_from_assignment_yaml_read_by_autograder_config(tmp_path):
    (tmp_path / "assignment.yaml").write_text(
        LATE_YAML + "  grace_minutes: 10\n  max_days: 4\n", encoding="utf-8")
    settings = otter_plugin.read_settings({"assignment": str(tmp_path / "assignment.yaml")})
    due, policy = otter_plugin.late_terms(settings)
    assert (due, policy) == config.load_late_terms(tmp_path / "assignment.yaml")
    assert policy == config.LatePolicy(points_per_day=3, grace_minutes=10, max_days=4)
    assert due.isoformat() == "2024-10-01T23:59:00-04:00"
    # the course's own assignment.yaml (every key of it) serves as well
    real = config.load("optimization")
    settings = otter_plugin.read_settings({"assignment": str(real.root / "assignment.yaml")})
    assert otter_plugin.late_terms(settings) == (real.due, real.late_policy)


@pytest.mark.parametrize(("settings", "message"), [
    (DUE | {"points_per_dya": 3}, "unknown key 'points_per_dya'"),
    (DUE | {"timezone": "New York"}, "unknown time zone 'New York'"),
    ({"timezone": "UTC"}, "missing key 'due'"),
    (DUE | {"points_per_day": -3}, "points_per_day: expected a non-negative number"),
    ({"assignment": "a.yaml", "due": "2024-10-01 23:59"}, "'assignment' goes alone"),
    ({"assignment": "/nonexistent/assignment.yaml"}, "cannot read"),
    (["due"], "expected a mapping"),
])
def test_a_mistake_in_the_settings_is_one_line_naming_it(settings, message):
    with pytest.raises(ConfigError, match=message) as error:
        otter_plugin.read_settings(settings)
    assert "\n" not in str(error.value)


def test_without_usable_metadata_no_penalty_and_a_note():
    lateness, note = otter_plugin.assess(DUE, {})
    assert lateness is None and "`otter run`" in note
    lateness, note = otter_plugin.assess(DUE, {"created_at": "2024-10-03 10:00"})
    assert lateness is None and "has no UTC offset" in note


def test_the_report_scales_the_penalty_to_the_tests_points():
    lateness, _ = otter_plugin.assess(DUE | {"points_per_day": 3}, TWO_DAYS_LATE)
    assert lateness.days == 2 and lateness.penalty == 6
    new, text = otter_plugin.late_report(lateness, {"q1": 4, "q2": 10}, scale=0.5)
    assert new == {"q1": 1}
    assert "2 days late at 3 points per day = 6 points off" in text
    assert "14 -> 11 (q1 -3)" in text and "0.5 per point" in text


# -- the real otter-grader --------------------------------------------------------------
def otter_venv_built() -> bool:
    """Whether .venv-otter is there, once the background build that `make test` started
    (the process .venv-otter.pid names) has ended."""
    building = OTTER_BIN.parent.with_suffix(".pid")
    deadline = time.monotonic() + 900
    while time.monotonic() < deadline:
        try:
            os.kill(int(building.read_text()), 0)
        except (OSError, ValueError):  # no build running
            break
        time.sleep(1)
    return (OTTER_BIN / "otter").exists()


def _otter(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    if not otter_venv_built():
        log = OTTER_BIN.parent.with_suffix(".log")
        tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
        if os.environ.get("CI"):
            pytest.fail(f"{OTTER_BIN}/otter is missing: `make test` creates it\n{tail}")
        pytest.skip("no .venv-otter: `make .venv-otter/bin/otter` creates it")
    env = os.environ | {"PATH": f"{OTTER_BIN}{os.pathsep}{os.environ['PATH']}"}
    done = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
    return done


def _doctest(name: str, points: int, call: str, expected: str) -> str:
    case = {"code": f">>> {call}\n{expected}", "hidden": False, "locked": False}
    test = {"name": name, "points": points, "suites": [
        {"cases": [case], "scored": True, "setup": "", "teardown": "", "type": "doctest"}]}
    return f"OK_FORMAT = True\n\ntest = {test!r}\n"


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    """A tiny otter assignment (two tests, 4 and 10 points) whose otter_config.json names
    an assignment.yaml, its autograder zip built by `otter generate`, and a notebook
    that passes both tests."""
    root = tmp_path_factory.mktemp("otter-course")
    (root / "tests").mkdir()
    (root / "tests" / "q1.py").write_text(_doctest("q1", 4, "square(3)", "9"))
    (root / "tests" / "q2.py").write_text(_doctest("q2", 10, "square(-2)", "4"))
    (root / "assignment.yaml").write_text(LATE_YAML, encoding="utf-8")
    (root / "otter_config.json").write_text(json.dumps(
        {"plugins": [{otter_plugin.PLUGIN: {"assignment": "assignment.yaml"}}]}))
    notebook = {"cells": [{"cell_type": "code", "execution_count": None, "id": "a1",
                           "metadata": {}, "outputs": [],
                           "source": ["def square(x):\n", "    return x * x\n"]}],
                "metadata": {"kernelspec": {"display_name": "Python 3", "language": "python",
                                            "name": "python3"}},
                "nbformat": 4, "nbformat_minor": 5}
    (root / "hw.ipynb").write_text(json.dumps(notebook))
    _otter("otter", "generate", cwd=root)
    return root


def _results(path: Path) -> tuple[dict[str, float], str]:
    document = json.loads(path.read_text(encoding="utf-8"))
    scores = {t["name"]: t["score"] for t in document["tests"] if "score" in t}
    return scores, document.get("output", "")


@pytest.mark.slow
def test_otter_generate_writes_the_dates_of_assignment_yaml_into_the_zip(course):
    with zipfile.ZipFile(course / "autograder.zip") as zf:
        written = json.loads(zf.read("otter_config.json"))
    assert written["plugins"] == [{otter_plugin.PLUGIN: {
        "due": "2024-10-01 23:59:00", "timezone": "America/New_York",
        "points_per_day": 3.0, "grace_minutes": 0.0, "max_days": None}}]


@pytest.mark.slow
def test_otter_run_passes_no_metadata_the_plugin_notes_it_and_otter_grades(course, tmp_path):
    _otter("otter", "run", "-a", str(course / "autograder.zip"), "-o", str(tmp_path),
           "--no-logo", str(course / "hw.ipynb"), cwd=course)
    scores, output = _results(tmp_path / "results.json")
    assert scores == {"q1": 4, "q2": 10}
    assert output == ("Late policy not applied: no submission metadata (`otter run` grades "
                      "without Gradescope's metadata).")


@pytest.mark.slow
@pytest.mark.parametrize(("metadata", "scores", "said"), [
    (ON_TIME, {"q1": 4, "q2": 10}, "Submitted on time (the deadline: 2024-10-01 23:59 EDT)."),
    (TWO_DAYS_LATE, {"q1": 0, "q2": 8},
     "2 days late at 3 points per day = 6 points off the whole assignment.\n"
     "Taken off the autograded score, which never goes below 0: 14 -> 8 (q1 -4, q2 -2)."),
])
def test_on_gradescope_otter_applies_our_late_policy(course, tmp_path, metadata, scores, said):
    """otter's own Gradescope entry point (`run_autograder`'s `main`) on a copy of the
    /autograder layout, with Gradescope's submission_metadata.json."""
    for folder in ("source", "submission", "results"):
        (tmp_path / folder).mkdir()
    with zipfile.ZipFile(course / "autograder.zip") as zf:
        zf.extractall(tmp_path / "source")
    (tmp_path / "submission" / "hw.ipynb").write_bytes((course / "hw.ipynb").read_bytes())
    (tmp_path / "submission_metadata.json").write_text(json.dumps(
        metadata | {"users": [{"email": "ada@example.edu", "name": "Ada"}]}))
    _otter(str(OTTER_BIN / "python"), "-c",
           f"from otter.run.run_autograder import main; main({str(tmp_path)!r})", cwd=tmp_path)
    got, output = _results(tmp_path / "results" / "results.json")
    assert got == scores
    assert output.startswith("Late policy: ") and said in output
