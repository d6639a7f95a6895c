"""Finding submitted files however they were uploaded."""

from autograder.locate import locate

FILES = ["losses.py", "optimizers.py"]


def make(tmp_path, *names):
    for name in names:
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("x = 1\n")
    return tmp_path


def test_nested_copy_and_case(tmp_path):
    make(tmp_path, "hw/sub/Losses (1).py", "hw/OPTIMIZERS.PY", "__MACOSX/hw/._losses.py")
    found = locate(tmp_path, FILES)
    assert found.files["losses"].name == "Losses (1).py"
    assert found.files["optimizers"].name == "OPTIMIZERS.PY"
    assert not found.missing
    assert any("Losses (1).py' as losses.py" in n for n in found.notes)


def test_exact_name_wins_over_copies(tmp_path):
    make(tmp_path, "losses (2).py", "deep/losses.py", "optimizers-copy.py")
    found = locate(tmp_path, FILES)
    assert found.files["losses"].relative_to(tmp_path).as_posix() == "deep/losses.py"
    assert any("ignored 'losses (2).py'" in n for n in found.notes)


def test_missing_file_lists_what_was_received(tmp_path):
    make(tmp_path, "losses.txt", "notes.txt")
    found = locate(tmp_path, FILES)
    assert "losses.py was not found" in found.missing["losses"]
    assert "found 'losses.txt' instead: upload it as losses.py" in found.missing["losses"]
    assert "files received: losses.txt, notes.txt" in found.missing["optimizers"]
