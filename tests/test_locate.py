"""Finding submitted files however they were uploaded, a zip unpacked as Gradescope does."""

import stat
import zipfile

import pytest

from autograder import locate as locating
from autograder.config import ConfigError
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


# -- a zip given as the submission ------------------------------------------------------------
def zipped(path, entries):
    """A zip of ``entries``: name -> text (or a ZipInfo -> text)."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, text in entries.items():
            archive.writestr(name, text)
    return path


def test_a_zip_is_graded_from_a_temporary_folder_as_gradescope_unpacks_it(tmp_path):
    archive = zipped(tmp_path / "hw2.zip", {"hw2/losses.py": "x = 1\n", "hw2/optimizers.py": "",
                                            "__MACOSX/hw2/._losses.py": ""})
    with locating.submission_folder(archive) as folder:
        found = locate(folder, FILES)
        assert not found.missing and found.notes == ["graded 'hw2/losses.py' as losses.py",
                                                     "graded 'hw2/optimizers.py' as optimizers.py"]
        assert found.files["losses"].read_text() == "x = 1\n"
    assert not folder.exists()
    with locating.submission_folder(tmp_path) as folder:  # a folder is graded where it is
        assert folder == tmp_path


@pytest.mark.parametrize("name", ["../losses.py", "hw2/../../losses.py", "/etc/losses.py",
                                  "..\\losses.py", "C:/losses.py"])
def test_a_zip_entry_outside_its_folder_is_refused(tmp_path, name):
    archive = zipped(tmp_path / "hw2.zip", {"losses.py": "", name: "x = 1\n"})
    with pytest.raises(ConfigError, match="would be unpacked outside its folder"), \
            locating.submission_folder(archive):
        pass
    assert not (tmp_path / "losses.py").exists()


def test_a_zip_is_bounded_in_bytes_and_entries(tmp_path, monkeypatch):
    monkeypatch.setattr(locating, "MAX_UNZIPPED", 1000)
    bomb = zipped(tmp_path / "bomb.zip", {"a.py": "#" * 600, "b.py": "#" * 600})
    with pytest.raises(ConfigError, match="bomb.zip: unpacks to more than"), \
            locating.submission_folder(bomb):
        pass
    monkeypatch.setattr(locating, "MAX_FILES", 3)
    many = zipped(tmp_path / "many.zip", {f"{i}.py": "" for i in range(4)})
    with pytest.raises(ConfigError, match="many.zip: 4 entries; a submission may hold at most 3"), \
            locating.submission_folder(many):
        pass


def test_a_lying_zip_header_does_not_lift_the_bound(tmp_path, monkeypatch):
    """An entry whose header declares fewer bytes than it holds fails its check, unpacked no
    further than the bound."""
    monkeypatch.setattr(locating, "MAX_UNZIPPED", 1000)
    archive = zipped(tmp_path / "liar.zip", {"a.py": "#" * 5000})
    data = bytearray(archive.read_bytes())
    for header, offset in ((b"PK\x03\x04", 22), (b"PK\x01\x02", 24)):  # uncompressed size
        at = data.index(header) + offset
        data[at:at + 4] = (10).to_bytes(4, "little")
    archive.write_bytes(bytes(data))
    with pytest.raises(ConfigError, match="liar.zip: cannot unpack"), \
            locating.submission_folder(archive):
        pass


def test_a_symbolic_link_in_a_zip_is_left_out(tmp_path):
    link = zipfile.ZipInfo("losses.py")
    link.external_attr = (stat.S_IFLNK | 0o777) << 16
    with zipfile.ZipFile(tmp_path / "hw2.zip", "w") as archive:
        archive.writestr(link, "/etc/passwd")
        archive.writestr("optimizers.py", "")
    with locating.submission_folder(tmp_path / "hw2.zip") as folder:
        assert sorted(p.name for p in folder.iterdir()) == ["optimizers.py"]


def test_neither_a_folder_nor_a_zip_is_one_error(tmp_path):
    (tmp_path / "losses.py").write_text("")
    for path, message in ((tmp_path / "nothing", "submission not found"),
                          (tmp_path / "losses.py", "a submission is a folder or a zip file")):
        with pytest.raises(ConfigError, match=message), locating.submission_folder(path):
            pass
