"""Finding submitted files however they were uploaded."""

from autograder.locate import Located, as_utf8, candidates, locate, read_sources

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


def test_clutter_hidden_files_and_symlinks_are_not_candidates(tmp_path):
    make(tmp_path, "a.py", ".hidden/b.py", "__pycache__/c.py", "sub/.d.py", "sub/e.py")
    (tmp_path / "link.py").symlink_to(tmp_path / "a.py")
    assert [p.relative_to(tmp_path).as_posix() for p in candidates(tmp_path)] == ["a.py", "sub/e.py"]


def test_a_file_over_the_cap_is_not_read(tmp_path):
    make(tmp_path, "losses.py")
    (tmp_path / "big.py").write_bytes(b"#" * 3000)
    found = Located(files={"losses": tmp_path / "losses.py", "big": tmp_path / "big.py"})
    sources, problems = read_sources(found, 2)
    assert sources == {"losses": b"x = 1\n"}
    assert problems["big"].startswith("big.py is 0.0 MB; source files over 2 KB are not graded")


def test_source_saved_as_windows_1252_becomes_utf8():
    assert as_utf8("# café\n".encode("cp1252")) == "# café\n".encode()
    assert as_utf8("# café\n".encode()) == "# café\n".encode()
    declared = b"# -*- coding: latin-1 -*-\n# caf\xe9\n"
    assert as_utf8(declared) == declared  # Python reads its declared encoding itself
