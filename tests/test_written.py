"""The written assignment: sentence counting, finding answers, malformed submissions,
the rubric, and merging manual scores."""

import csv
import io
import json
import zipfile
from pathlib import Path

import pytest
import yaml

from autograder import config, rubric, runner, written

from conftest import ROOT, run_cli

CORPUS = yaml.safe_load((Path(__file__).with_name("sentences.yaml")).read_text())
SONG = config.load("song_contest")
EXEMPLAR = (ROOT / "solutions/song_contest/responses.md").read_text()
FIXTURES = ROOT / "tests" / "fixtures" / "gradescope"


def test_sentence_corpus_accuracy():
    counts = [(case["count"], written.count_sentences(case["text"]), case) for case in CORPUS]
    assert len(counts) >= 25
    off_by_more = [(want, got, case["text"]) for want, got, case in counts if abs(want - got) > 1]
    assert not off_by_more
    wrong_clean = [(want, got) for want, got, case in counts if case.get("clean") and want != got]
    assert not wrong_clean
    exact = sum(want == got for want, got, _ in counts) / len(counts)
    assert exact >= 0.9, f"exact on {exact:.0%} of the corpus"


def grade_text(tmp_path, text=None, name="responses.md", raw=None, metadata=None):
    folder = tmp_path / "submission"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(raw if raw is not None else text.encode("utf-8"))
    return runner.grade(SONG, folder, metadata)


def rows_by(document, prefix):
    return [t for t in document["tests"] if t["name"].startswith(prefix)]


def test_exemplar_gets_every_auto_point(tmp_path):
    document = grade_text(tmp_path, EXEMPLAR)
    assert document["score"] == 7
    lengths = [t for t in document["tests"] if "sentences" in t.get("extra_data", {})]
    assert [t["extra_data"]["sentences"] for t in lengths] == [12, 11, 11]



def test_hand_graded_items_are_listed_in_the_top_level_output(tmp_path):
    """A pending item is no green "passed" row of 0 points: Gradescope shows the top-level
    output neutrally (simple_format: each line break kept)."""
    document = grade_text(tmp_path, EXEMPLAR)
    assert all(t["max_score"] > 0 for t in document["tests"]), [t["name"] for t in document["tests"]]
    manual = [item for q in SONG.questions for item in q.rubric if item.kind == "manual"]
    assert len(manual) == 9
    lines = document["output"].splitlines()
    assert lines[0] == ("Automatic checks: 7 of 7 points. The other 23 points are graded by hand "
                        "on Gradescope:")
    for item in manual:
        assert any(item.description in line for line in lines[1:]), item.description
    assert "(1 point)" in document["output"] and "(3 points)" in document["output"]
    assert (document["output_format"], document["test_output_format"]) == ("simple_format", "text")


def test_one_sentence_is_one_sentence(tmp_path):
    head, rest = EXEMPLAR.split("\n## 2.", 1)
    q1_heading = head.split("\n## 1.", 1)[1].split("\n", 1)[0]
    document = grade_text(tmp_path, f"{head.split('## 1.')[0]}## 1.{q1_heading}\n"
                                    f"I liked Sudamérica best.\n\n## 2.{rest}")
    assert rows_by(document, "Q1 Answered")[0]["output"] == "Answered (1 sentence)."
    assert any(t["output"].startswith("1 sentence; the answer should have 10 to 20.")
               for t in rows_by(document, "Q1"))


def test_template_scores_zero_with_clear_messages(tmp_path):
    document = grade_text(tmp_path, (ROOT / "student_template/song_contest/responses.md").read_text())
    assert document["score"] == 0
    assert "No answer found" in rows_by(document, "Q1 Answered")[0]["output"]


def test_late_penalty_applies(tmp_path):
    metadata = json.loads((FIXTURES / "late_one_minute.json").read_text())
    document = grade_text(tmp_path, EXEMPLAR, metadata=metadata)
    assert document["score"] == 4
    late = document["extra_data"]["late"]
    assert {key: late[key] for key in ("days", "penalty", "deadline", "submitted")} == {
        "days": 1, "penalty": 3.0, "deadline": "2024-09-20T23:59:00-04:00",
        "submitted": "2024-09-21T04:00:00+00:00"}


@pytest.mark.parametrize(("case", "expected_score", "message"), [
    ("empty", 0, "is empty"),
    ("no_headings", 0, "no question headings were found"),
    ("renamed_headings", 7, "taken in order"),
    ("numbered_headings", 7, None),
    ("swapped_order", 7, None),
    ("all_under_q1", 2, "did this answer end up under another heading"),
    ("pdf", 0, "a PDF"),
    ("docx", 7, "read the text of"),
    ("latin1", 7, "not UTF-8"),
    ("huge_paste", None, "only the first"),
    ("wrong_name", 7, "graded 'answers.md' as responses.md"),
])
def test_malformed_submissions_get_a_result(tmp_path, case, expected_score, message):
    sections = EXEMPLAR.split("\n## ")
    body = [s.split("\n", 1)[1] for s in sections[1:]]
    text, name, raw = None, "responses.md", None
    if case == "empty":
        text = ""
    elif case == "no_headings":
        text = "\n\n".join(body)
    elif case == "renamed_headings":
        text = "\n".join(f"## Part {c}\n{b}" for c, b in zip("ABC", body))
    elif case == "numbered_headings":
        text = "\n".join(f"### Question {i}\n{b}" for i, b in enumerate(body, start=1))
    elif case == "swapped_order":
        text = "\n## ".join([sections[0], sections[3], sections[1], sections[2]])
    elif case == "all_under_q1":
        text = "## " + sections[1].split("\n", 1)[0] + "\n" + "\n".join(body)
    elif case == "pdf":
        name, raw = "responses.pdf", b"%PDF-1.4 ..."
    elif case == "docx":
        name, raw = "responses.docx", make_docx(EXEMPLAR)
    elif case == "latin1":
        raw = EXEMPLAR.replace("Sudamérica", "Sudamérica café").encode("cp1252")
    elif case == "huge_paste":
        text = EXEMPLAR + ("La la la. " * 600_000)  # 6 MB
    elif case == "wrong_name":
        name, text = "answers.md", EXEMPLAR
    document = grade_text(tmp_path, text, name, raw)
    if expected_score is not None:
        assert document["score"] == expected_score, [(t["name"], t["output"]) for t in document["tests"]]
    if message:
        assert message in json.dumps(document), [t["output"] for t in document["tests"]][:3]
    assert len(json.dumps(document)) < 1_000_000


def make_docx(markdown):
    paragraphs = []
    for line in markdown.splitlines():
        if line.startswith("#"):
            paragraphs.append(f'<w:p><w:pPr><w:pStyle w:val="Heading2"/></w:pPr><w:r><w:t>'
                              f'{line.lstrip("# ")}</w:t></w:r></w:p>')
        elif line.strip() and not line.startswith("<!--"):
            paragraphs.append(f"<w:p><w:r><w:t>{line.replace('&', '&amp;')}</w:t></w:r></w:p>")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("word/document.xml", "<w:document><w:body>" + "".join(paragraphs)
                         + "</w:body></w:document>")
    return buffer.getvalue()


def test_rubric_prints_for_gradescope_and_as_csv():
    text = rubric.render(SONG)
    assert "Question 1 (10 points)" in text and "+3\tWhat the team did well" in text
    rows = list(csv.DictReader(rubric.render(SONG, "csv").splitlines()))
    assert sum(float(r["points"]) for r in rows) == 30
    assert {r["column"] for r in rows if r["kind"] == "manual"} == set(rubric.manual_items(SONG))


def test_merge_manual_scores(tmp_path):
    graded = tmp_path / "graded"
    (graded / "results").mkdir(parents=True)
    for sid, fixture, text in [("s1", "on_time.json", EXEMPLAR),
                               ("s2", "late_one_minute.json", EXEMPLAR),
                               ("s3", "late_with_extension.json", "")]:
        metadata = json.loads((FIXTURES / fixture).read_text())
        document = grade_text(tmp_path / sid, text, metadata=metadata)
        (graded / "results" / f"{sid}.json").write_text(json.dumps(document))
        (graded / "results" / f"{sid}.metadata.json").write_text(json.dumps(metadata))
    points = rubric.manual_items(SONG)
    items = list(points)
    manual = tmp_path / "manual.csv"
    with open(manual, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["email", *items[:-1]])  # the last item's column is missing
        writer.writerow(["student1@example.edu"] + ["1"] * (len(items) - 1))
        writer.writerow(["STUDENT2@example.edu"] + [f"{points[i]:g}" for i in items[:-1]])
        writer.writerow(["nobody@example.edu"] + ["1"] * (len(items) - 1))
        writer.writerow(["student3@example.edu", "9"] + ["1"] * (len(items) - 2))
    out = tmp_path / "final.csv"
    problems = rubric.merge(SONG, manual, graded, out)
    assert any("line 1: missing column" in p for p in problems)
    assert any("line 4: unknown student 'nobody@example.edu'" in p for p in problems)
    assert any("line 5:" in p and "outside 0 to 3" in p for p in problems)
    with open(out, newline="") as f:
        final = {row["submission"]: row for row in csv.DictReader(f)}
    assert float(final["s1"]["total"]) == 7 + (len(items) - 1)
    assert float(final["s2"]["total"]) == 7 + sum(points[i] for i in items[:-1]) - 3  # 1 day late
    assert final["s3"]["manual"] == ""  # its row was skipped
    assert float(final["s3"]["total"]) == 0


def test_cli_rubric_and_merge(tmp_path):
    done = run_cli("rubric", "song_contest", "--format", "csv")
    assert done.stdout.startswith("question,item,column,points,kind,description")
