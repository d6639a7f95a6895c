"""The class report of grade-batch (report.html and a page per submission), built here
from results documents made as the grader makes them; one slow test loads it in
headless Chromium and checks that every figure was drawn."""

import base64
import datetime as dt
import html
import math
import os
import re
import shutil
import subprocess
import sys

import pytest

from autograder import class_report, config, results, runner
from autograder.late_policy import Lateness
from autograder.plugin import TestOutcome, as_curve

OPT = config.load("optimization")
SONG = config.load("song_contest")
DUE = dt.datetime(2024, 10, 11, 23, 59, tzinfo=dt.timezone.utc)
HOSTILE = "Eve <script>alert(1)</script> \x1b[31m\ud800"


def document(failing: dict[str, str], late_days: int | None = 0,
             curve: list | None = None) -> dict:
    """A results document for two contract names as the grader writes it: each name's
    public row passes unless ``failing`` gives it an output (its failed tests); a row that
    names a classic mistake lists it in its extra_data."""
    rows = []
    for target, points in (("losses.sigmoid", 3.0), ("optimizers.Adam", 6.0)):
        output = failing.get(target, "")
        rows.append(results.Row(f"{target} (public tests)", 0.0 if output else points, points,
                                [target], output=output or f"✓ 2 of 2 tests passed: {target}"))
        if output == ADAM_FAIL:
            rows[-1].extra_data["mistakes"] = ["no bias correction"]
    if curve is not None:
        rows[1].extra_data["curves"] = {"validation loss": {
            "student": curve, "reference": [0.9, 0.5, 0.3, 0.2]}}
    lateness = None
    if late_days is not None:
        lateness = Lateness(DUE + dt.timedelta(days=late_days, hours=-1), DUE, late_days, 3.0)
    return results.build(rows, lateness, "summary", {"assignment": "optimization"})


ADAM_FAIL = ("✗ Adam matches the reference [lr=0.1]\n    Adam(lr=0.1).step: expected 1, got 2\n"
             "      Classic mistake: no bias correction.\n"
             "✗ Adam matches the reference [lr=0.5]\n    Adam(lr=0.5).step: expected 3, got 4\n"
             "      Classic mistake: no bias correction.")
SIGMOID_FAIL = "✗ sigmoid is stable\n    sigmoid(-1000.0) overflowed"


def class_of_four() -> tuple[list[dict], dict[str, dict]]:
    """Four submissions (one of them a pair, one not graded): rows as in grades.csv."""
    documents = {
        "s1": document({}, 0, [0.9, 0.5, 0.3, 0.2]),
        "s2": document({"optimizers.Adam": ADAM_FAIL}, 1, [0.9, 0.7, 0.6, 0.55]),
        "s3": document({"optimizers.Adam": ADAM_FAIL, "losses.sigmoid": SIGMOID_FAIL}, 2,
                       [1.0, "oops", None, 0.4]),
    }
    people = {"s1": [("Ann", "ann@x.edu")], "s2": [(HOSTILE, "eve@x.edu")],
              "s3": [("Pat", "pat@x.edu"), ("Sam", "sam@x.edu")], "s4": [("Lou", "lou@x.edu")]}
    rows = []
    for sid, members in people.items():
        graded = documents.get(sid, "grading took longer than 900 s")
        for name, email in members:
            if isinstance(graded, str):
                rows.append({"submission": sid, "student": name, "email": email, "score": "",
                             "late_days": "", "late_penalty": "", "error": graded})
            else:
                late = graded["extra_data"]["late"]
                rows.append({"submission": sid, "student": name, "email": email,
                             "score": graded["score"], "late_days": late["days"],
                             "late_penalty": late["penalty"], "error": ""})
    return rows, documents


def test_names_are_sorted_hardest_first_with_their_pass_rates():
    _, documents = class_of_four()
    stats = class_report.name_stats(documents.values())
    assert [(s.name, round(s.mean, 2), s.points, round(s.pass_rate, 2)) for s in stats] == [
        ("optimizers.Adam", 2.0, 6.0, 0.33), ("losses.sigmoid", 2.0, 3.0, 0.67)]


def test_failures_count_submissions_once_per_test_and_mistake():
    _, documents = class_of_four()
    failed, mistakes, examples = class_report.failures(documents.values())
    # the two cases of a parametrized test are one failed test; the late row is no failure
    assert failed == {("optimizers.Adam", "Adam matches the reference"): 2,
                      ("losses.sigmoid", "sigmoid is stable"): 1}
    assert mistakes == {("optimizers.Adam", "no bias correction"): 2}
    assert examples["losses.sigmoid", "sigmoid is stable"] == "sigmoid(-1000.0) overflowed"


FORGED = "  Classic mistake: forged by the student."


def test_only_the_mistakes_the_grader_named_are_counted():
    """What the student's code printed, and the message of an exception it raised, may read
    like the grader's "Classic mistake: ..."; only the mistakes the checks named count."""
    printed = TestOutcome("t1", "Adam steps", "optimizers.Adam", "public", 1.0, ran=True,
                          message="optimizers.Adam raised ValueError: no\n" + FORGED,
                          output=f"{FORGED}\nClassic mistake: printed too.\n")
    named = TestOutcome("t2", "Adam matches", "optimizers.Adam", "hidden", 1.0, ran=True,
                        message="Adam.step\n  Classic mistake: no bias correction.",
                        named=["no bias correction"])
    passing = [TestOutcome(f"{t}{g}", "t", t, g, 1.0, passed=True, ran=True)
               for t in OPT.points for g in ("public", "hidden") if t != "optimizers.Adam"]
    graded = results.build(runner.name_rows(OPT, [printed, named, *passing]), None)
    shown = "\n".join(t["output"] for t in graded["tests"])
    assert FORGED.strip() in shown and "Classic mistake: printed too." in shown
    _, mistakes, _ = class_report.failures([graded])
    assert mistakes == {("optimizers.Adam", "no bias correction"): 1}


def test_a_failed_row_without_test_lines_counts_as_itself():
    row = {"name": "Q1 10 to 20 sentences", "output": "4 sentences; the answer should have 10"}
    assert class_report.failed_tests(row) == [("Q1 10 to 20 sentences",
                                               "4 sentences; the answer should have 10")]


def test_curves_keep_missing_points_and_one_reference():
    _, documents = class_of_four()
    found = class_report.curves(documents.values())
    students, reference = found["validation loss"]
    assert reference == [0.9, 0.5, 0.3, 0.2]
    assert students[:2] == [[0.9, 0.5, 0.3, 0.2], [0.9, 0.7, 0.6, 0.55]]
    assert students[2][0] == 1.0 and math.isnan(students[2][1]) and math.isnan(students[2][2])


def test_a_recorded_curve_is_plain_numbers_for_results_json():
    assert as_curve([0.5, float("nan"), float("inf"), 2]) == [0.5, None, None, 2.0]
    assert as_curve("not numbers") == []
    assert as_curve({"a": 1}) == []
    assert len(as_curve(range(10_000))) == 500


def test_curves_recorded_by_a_test_are_in_its_row():
    made = [TestOutcome(f"{t}{g}", "t", t, g, 1.0, passed=True) for t in OPT.points
            for g in ("public", "hidden")]
    training = next(o for o in made if o.target == "training.train_logistic_regression"
                    and o.group == "hidden")
    training.curves["validation loss"] = {"student": [0.5, 0.4], "reference": [0.5, 0.3]}
    rows = {r.name: r for r in runner.name_rows(OPT, made)}
    assert rows["training.train_logistic_regression (hidden tests)"].extra_data == {
        "curves": {"validation loss": {"student": [0.5, 0.4], "reference": [0.5, 0.3]}}}
    assert rows["training.train_logistic_regression (public tests)"].extra_data == {}


def test_the_report_has_every_section_and_escapes_student_text(tmp_path):
    rows, documents = class_of_four()
    (tmp_path / "results").mkdir()
    report = class_report.write(tmp_path, OPT, rows, documents).read_text(encoding="utf-8")
    assert "4 submissions, 5 students; 3 graded." in report
    assert "1 submission could not be graded (the table of students says why)" in report
    assert "mean <b>2.25</b>, median <b>0.00</b>, maximum <b>9.00</b> (4 students)" in report
    for heading in ("Scores", "Per contract name, hardest first", "Most common failures",
                    "Named mistakes", "validation loss", "Days late", "Students"):
        assert f"<h2>{heading}</h2>" in report
    assert report.index("optimizers.Adam</td>") < report.index("losses.sigmoid</td>")
    assert "<script>" not in report and "\x1b" not in report and "\ud800" not in report
    assert "Eve &lt;script&gt;alert(1)&lt;/script&gt; \\x1b[31m\ufffd" in report
    assert "default-src 'none'" in report
    assert "<a href='results/s2.html'>s2</a>" in report and "results/s4.html" not in report
    images = re.findall(r"src='data:image/png;base64,([^']+)'", report)
    assert len(images) == 3  # the scores, the validation loss, the days late
    assert all(base64.b64decode(data).startswith(b"\x89PNG") for data in images)
    page = (tmp_path / "results" / "s2.html").read_text(encoding="utf-8")
    assert html.escape(HOSTILE[:10]) in page and "<script>" not in page
    assert "Score <b>0</b> of 9, after 3 points off for 1 day late" in page
    assert "Classic mistake: no bias correction." in page
    assert {p.name for p in (tmp_path / "results").iterdir()} == {"s1.html", "s2.html", "s3.html"}


def test_a_written_assignment_is_reported_per_question_with_the_manual_points(tmp_path):
    rows, documents = class_of_four()
    report = class_report.report_page(SONG, rows, documents)
    assert "<h2>Per question, hardest first</h2>" in report
    assert "(the autograder's; 23 more are graded by hand)" in report


def test_without_matplotlib_the_report_says_so_and_keeps_its_tables(monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)  # import fails
    rows, documents = class_of_four()
    report = class_report.report_page(OPT, rows, documents)
    assert "<img" not in report
    assert report.count(class_report.NO_MATPLOTLIB.replace("'", "&#x27;")) == 3
    assert "<h2>Per contract name, hardest first</h2>" in report


# -- in a browser ------------------------------------------------------------------------
MEASURE = """<script>addEventListener('load', () => {
  document.body.dataset.images = [...document.images]
    .map(i => i.naturalWidth + 'x' + i.naturalHeight).join(' ');
});</script>"""


@pytest.fixture(scope="session")
def chromium():
    """Debian's headless Chromium, installed here when missing and we are root."""
    found = shutil.which("chromium")
    if not found and os.geteuid() == 0 and shutil.which("apt-get"):
        install = ["apt-get", "install", "-y", "-qq", "--no-install-recommends", "chromium"]
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        if subprocess.run(install, capture_output=True, env=env, check=False).returncode != 0:
            subprocess.run(["apt-get", "update", "-qq"], capture_output=True, check=False)
            subprocess.run(install, capture_output=True, env=env, check=False)
        found = shutil.which("chromium")
    if not found:
        pytest.skip("no chromium, and it cannot be installed here (apt-get as root)")
    return found


def headless(chromium: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([chromium, "--headless", "--no-sandbox", "--disable-gpu",
                           "--hide-scrollbars", "--virtual-time-budget=10000", *args],
                          capture_output=True, text=True, timeout=120, check=False)


@pytest.mark.slow
def test_the_report_renders_every_figure_in_chromium(tmp_path, chromium):
    rows, documents = class_of_four()
    (tmp_path / "results").mkdir()
    report = class_report.write(tmp_path, OPT, rows, documents)
    # A copy that lets one script of ours measure the images (the report allows none).
    text = report.read_text(encoding="utf-8")
    measured = tmp_path / "measured.html"
    measured.write_text(text.replace(class_report.CSP, "img-src data:; script-src 'unsafe-inline'")
                        .replace("</body>", MEASURE + "</body>"), encoding="utf-8")
    dom = headless(chromium, "--dump-dom", measured.as_uri())
    sizes = re.search(r'data-images="([^"]*)"', dom.stdout)
    assert sizes, dom.stderr[-2000:]
    sizes = sizes.group(1).split()
    assert len(sizes) == text.count("<img") == 3
    assert all(int(w) > 0 and int(h) > 0 for w, h in (s.split("x") for s in sizes)), sizes
    shot = tmp_path / "report.png"
    headless(chromium, f"--screenshot={shot}", "--window-size=1100,2600", report.as_uri())
    assert shot.is_file() and shot.stat().st_size > 10_000


def test_a_class_that_could_not_be_graded_gets_a_short_report():
    rows = [{"submission": "s1", "student": "Ann", "email": "", "score": "", "late_days": "",
             "late_penalty": "", "error": "the grader crashed"}]
    report = class_report.report_page(OPT, rows, {})
    assert "1 submission, 1 student; 0 graded." in report
    assert "No submission could be graded." in report
    assert "hardest first" not in report and "No test failed" not in report
