"""Recorded loss curves as a student sees them: a sparkline in Gradescope's text output
and in the local report, and a PNG next to the student's files where matplotlib is."""

import sys
from pathlib import Path

import pytest

from autograder import config, curves, report, runner
from autograder.plugin import TestOutcome

OPT = config.load("optimization")
KEPT = {"student": [0.7, 0.5, 0.4, None, 0.35], "reference": [0.7, 0.4, 0.2, 0.15, 0.1]}


def test_a_sparkline_spans_the_shared_scale_and_shows_gaps():
    assert curves.sparkline([0.0, 0.5, 1.0], 0.0, 1.0) == "▁▅█"
    assert curves.sparkline([1.0, None, float("nan")], 0.0, 2.0) == "▅  "
    assert len(curves.sparkline(list(range(1000)), 0, 999)) == curves.WIDTH
    assert curves.sparkline([3.0, 3.0], 3.0, 3.0) == "▁▁"


def test_yours_and_the_references_are_drawn_on_one_scale():
    mine, theirs = curves.describe("validation loss", KEPT)
    assert mine.startswith("validation loss, yours:") and mine.endswith("0.7 -> 0.35")
    assert theirs.startswith("validation loss, reference:") and theirs.endswith("0.7 -> 0.1")
    assert mine.index("█") == theirs.index("█")  # both start at the top of the same scale
    assert curves.describe("x", {"student": [None]}) == []


def outcome(passed=True):
    test = TestOutcome("t", "reaches the reference's loss", "training.train_logistic_regression",
                       "hidden", 1.0, passed=passed, message="" if passed else "too high", ran=True)
    test.curves = {"validation loss": KEPT}
    return test


def test_gradescope_rows_show_the_curves_as_text():
    row = next(r for r in runner.name_rows(OPT, [outcome(passed=False)])
               if r.tags == ["training.train_logistic_regression"])
    assert "validation loss, yours:" in row.output and "validation loss, reference:" in row.output
    assert row.extra_data["curves"] == {"validation loss": KEPT}


def test_the_local_report_draws_a_png_next_to_the_students_files(tmp_path):
    pytest.importorskip("matplotlib")
    lines = report.local_report(OPT, [outcome()], {}, verbose=False, plots=tmp_path / "plots")
    plot = [line.split("plot: ", 1)[1] for line in lines if "plot: " in line]
    assert plot == [str(tmp_path / "plots" / "training-train-logistic-regression-validation-loss.png")]
    assert Path(plot[0]).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert any("validation loss, yours:" in line for line in lines)


def test_without_matplotlib_the_report_keeps_its_sparklines(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib fails
    lines = report.local_report(OPT, [outcome()], {}, verbose=False, plots=tmp_path / "plots")
    assert not any("plot: " in line for line in lines)
    assert not (tmp_path / "plots").exists()
    assert any("validation loss, yours:" in line for line in lines)
