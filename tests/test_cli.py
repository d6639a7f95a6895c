"""The command line fails loudly: a command that did not do what it said exits non-zero
with one line that names the problem. Fast: no grading runs here."""

import pytest

from autograder import cli, config


def run(capsys, *argv: str) -> tuple[int, str, str]:
    """``autograder ARGV`` in this process: (exit status, stdout, stderr)."""
    code = cli.main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def one_error_line(err: str) -> str:
    """The single line a failed command printed (asserting it printed one)."""
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("autograder: error: "), lines[0]
    return lines[0]


@pytest.fixture
def home(tmp_path, monkeypatch):
    """An empty toolkit home (``AUTOGRADER_HOME``) for assignments made by a test."""
    folder = tmp_path / "home"
    (folder / "assignments").mkdir(parents=True)
    monkeypatch.setattr(config, "HOME", folder)
    return folder


def test_yaml_syntax_error_gives_line_and_column(home, tmp_path, capsys):
    folder = home / "assignments" / "bad"
    folder.mkdir()
    (folder / "assignment.yaml").write_text('title: Bad\nkind: programming\nfiles: [a.py, b.py\n'
                                            'due: "2024-10-11 23:59"\n')
    code, _, err = run(capsys, "grade", "bad", str(tmp_path))
    assert code == 2
    assert one_error_line(err) == ("autograder: error: assignment.yaml:4:4: expected ',' or ']', "
                                   "but got ':' (while parsing a flow sequence at line 3)")
