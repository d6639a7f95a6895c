"""setup.sh and the installed layout: the trust boundary around the grader.

setup.sh refuses (instantly, before building anything) a layout where pytest, running
as root, could load a conftest.py that someone else planted above the tests; it makes
the pool of sandbox users; and afterwards only the venv is readable by others: never the
source tree (the reference, the hidden tests) or a copy of the Gradescope zip."""

import grp
import json
import os
import pwd
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from autograder import config, packaging

from conftest import (
    PATH,
    POOL_SIZE,
    ROOT,
    SANDBOX_POOL,
    can_run_as_root,
    pool_uids,
    shared_install,
    skip_unless_root,
)

NOBODY = 65534  # the uid of nobody and the gid of nogroup on Debian and Ubuntu
TEST_POOL = "autograder-testsb"  # a pool of the tests' own, deleted afterwards
needs_root = pytest.mark.skipif(not can_run_as_root(), reason="needs root and useradd")


def unpack(root: Path, name: str = "song_contest") -> Path:
    """``root/source`` as Gradescope unpacks the autograder zip there (no setup run)."""
    for entry, data in packaging.gradescope_files(config.load(name)).items():
        path = root / "source" / entry
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return root


def run_setup(root: Path, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(["bash", str(root / "source" / "setup.sh")], capture_output=True,
                          text=True, timeout=900,
                          env={"PATH": PATH, "AUTOGRADER_ROOT": str(root), **env})


def assert_refused(done: subprocess.CompletedProcess, folder: Path, root: Path) -> None:
    """setup.sh stopped with one line naming ``folder``, before building anything."""
    lines = done.stderr.strip().splitlines()
    assert done.returncode != 0, done.stdout + done.stderr
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith(f"setup.sh: refusing to install: {folder} is writable by "), lines[0]
    assert "conftest.py" in lines[0]
    assert not (root / "venv").exists()  # refused first: no venv, no pip, no users


def writable_by_others(folder: Path) -> bool:
    """setup.sh's rule: someone other than root can create a file in ``folder``."""
    st = folder.stat()
    return bool(st.st_mode & 0o002 or st.st_mode & 0o020 and st.st_gid != 0 or st.st_uid != 0)


# -- refusal: fast, no venv is built ---------------------------------------------------
UNSAFE = {  # how a folder above the tests becomes writable by others: mode, owner, group
    "world-writable": (0o777, None, None),
    "world-writable with the sticky bit, like /tmp": (0o1777, None, None),
    "group-writable by a group other than root": (0o775, None, NOBODY),
    "owned by a user other than root": (0o755, NOBODY, None),
}


@pytest.mark.parametrize("how", UNSAFE)
def test_setup_refuses_tests_below_a_folder_others_can_write(tmp_path, how):
    mode, owner, group = UNSAFE[how]
    if (owner or group) and os.geteuid() != 0:
        pytest.skip("needs root to give the folder away")
    unsafe = tmp_path / "shared"
    root = unpack(unsafe / "autograder")
    if owner or group:
        shutil.chown(unsafe, owner, group)
    os.chmod(unsafe, mode)
    assert_refused(run_setup(root), unsafe, root)


def test_setup_refuses_a_tests_subfolder_others_can_write(tmp_path):
    root = unpack(tmp_path / "autograder")
    public = root / "source" / "assignments" / "song_contest" / "tests" / "public"
    os.chmod(public, 0o777)
    assert_refused(run_setup(root), public, root)


@needs_root
def test_setup_looks_where_symlinks_lead(tmp_path):
    """A root in a safe folder that is a symlink to a layout under a world-writable one."""
    unsafe = tmp_path / "shared"
    real = unpack(unsafe / "autograder")
    os.chmod(unsafe, 0o777)
    safe = packaging.local_root("symlink-")
    try:
        (safe / "autograder").symlink_to(real)
        assert_refused(run_setup(safe / "autograder"), unsafe, real)
    finally:
        shutil.rmtree(safe)


# -- an installed layout, as root (one real setup.sh run) -------------------------------
@pytest.fixture(scope="module")
def installed():
    """A fake /autograder just as setup.sh left it: the test run's shared install, which
    nothing grades in (each worker's ``gradescope_root`` is a layout beside it)."""
    skip_unless_root()
    with shared_install("optimization") as root:
        yield root


@pytest.mark.slow
def test_no_folder_above_the_fake_root_is_writable_by_others(installed):
    assert [p for p in (installed, *installed.parents) if writable_by_others(p)] == []


@pytest.mark.slow
def test_install_leaves_no_gradescope_zip_behind(installed):
    assert sorted(installed.iterdir()) == [installed / "source", installed / "venv"]
    assert not list(installed.rglob("*.zip"))


@pytest.mark.slow
def test_only_the_venv_is_readable_by_others(installed):
    source = installed / "source"
    secrets = [source / "solutions", source / "assignments" / "optimization" / "tests" / "hidden"]
    assert all(any(s.iterdir()) for s in secrets)  # there is something to protect
    exposed = []
    for folder, dirs, files in os.walk(installed):
        for path in (Path(folder) / name for name in dirs + files):
            st = path.lstat()
            if path.is_symlink():
                continue  # the venv's python -> /usr/bin/python3
            open_to_others = st.st_mode & 0o007 or st.st_gid != 0 and st.st_mode & 0o070
            if open_to_others and path.relative_to(installed).parts[0] != "venv":
                exposed.append(f"{oct(st.st_mode)} {path}")
    assert exposed == []
    # And as a pool user: the venv works; the source tree, the secrets in it, do not open.
    user = f"{SANDBOX_POOL}0"
    done = subprocess.run([str(installed / "venv" / "bin" / "python"), "-c", "import numpy"],
                          cwd="/", user=user, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    for secret in (source, source / "solutions" / "optimization" / "losses.py", secrets[1]):
        done = subprocess.run(["cat" if secret.is_file() else "ls", str(secret)], user=user,
                              capture_output=True, text=True, timeout=60)
        assert done.returncode != 0 and "Permission denied" in done.stderr


def delete_pool(prefix: str) -> None:
    for i in range(POOL_SIZE + 1):
        subprocess.run(["userdel", f"{prefix}{i}"], capture_output=True, env={"PATH": PATH})


@pytest.mark.slow
def test_setup_makes_the_pool_of_sandbox_users_and_can_run_twice(installed):
    delete_pool(TEST_POOL)
    try:
        for _ in range(2):  # the second run finds the users and leaves them be
            done = run_setup(installed, AUTOGRADER_SANDBOX_POOL=TEST_POOL)
            assert done.returncode == 0, done.stdout + done.stderr
        users = [pwd.getpwnam(f"{TEST_POOL}{i}") for i in range(POOL_SIZE)]
        assert len({u.pw_uid for u in users}) == POOL_SIZE
        for user in users:
            assert 0 < user.pw_uid < 1000  # system users
            assert grp.getgrgid(user.pw_gid).gr_name == user.pw_name  # a group of its own
            assert user.pw_shell.endswith("/nologin")
            assert not Path(user.pw_dir).exists()
        with pytest.raises(KeyError):
            pwd.getpwnam(f"{TEST_POOL}{POOL_SIZE}")
    finally:
        delete_pool(TEST_POOL)


@pytest.mark.slow
def test_run_autograder_hands_the_pool_to_the_grader(installed, tmp_path):
    """As root, run_autograder passes --sandbox-pool when the pool exists, and only then.
    A stand-in python records the grader's arguments."""
    assert len(pool_uids()) == POOL_SIZE
    root = tmp_path / "autograder"
    (root / "source").mkdir(parents=True)
    shutil.copy(installed / "source" / "run_autograder", root / "source")
    python = root / "venv" / "bin" / "python"
    python.parent.mkdir(parents=True)
    python.write_text(f'#!/bin/bash\necho "$*" >> {root / "calls"}\n')
    python.chmod(0o755)
    (root / "submission").mkdir()
    grade_args = {}
    for pool in (SANDBOX_POOL, "autograder-nosuchpool"):
        (root / "calls").unlink(missing_ok=True)
        subprocess.run(["bash", str(root / "source" / "run_autograder")], capture_output=True,
                       timeout=60, env={"PATH": PATH, "AUTOGRADER_ROOT": str(root),
                                        "AUTOGRADER_SANDBOX_POOL": pool})
        grade_args[pool] = (root / "calls").read_text().splitlines()[0]
    assert grade_args[SANDBOX_POOL].endswith(f" --sandbox-pool {SANDBOX_POOL}")
    assert " grade optimization " in grade_args[SANDBOX_POOL]
    assert "--sandbox" not in grade_args["autograder-nosuchpool"]


# -- a sandbox user who cannot run the venv's python --------------------------------------
@pytest.fixture(scope="module")
def unreachable_python(installed):
    """A fake /autograder whose venv runs a python3 in a folder only root may enter (as when
    python3 is installed under /root), after the real setup.sh ran there: (root, setup.sh).
    The venv is a copy of an installed one: setup.sh finds nothing to install, and fails at
    its last step, the check that the sandbox users can start Python."""
    root = unpack(packaging.local_root("unreachable-python-"), "optimization")
    os.chmod(root, 0o755)
    private = root / "private"
    private.mkdir(mode=0o700)
    (private / "python3").symlink_to("/usr/bin/python3")
    shutil.copytree(installed / "venv", root / "venv", symlinks=True)
    python = root / "venv" / "bin" / "python3"
    python.unlink()
    python.symlink_to(private / "python3")  # the venv reaches python3 through the private folder
    yield root, run_setup(root)
    shutil.rmtree(root, ignore_errors=True)


@pytest.mark.slow
def test_setup_fails_when_the_sandbox_users_cannot_start_python(unreachable_python):
    _, done = unreachable_python
    assert done.returncode == 1, done.stdout + done.stderr
    assert "setup complete" not in done.stdout
    ours = [line for line in done.stderr.splitlines() if line.startswith("setup.sh")]
    assert ours == [done.stderr.strip().splitlines()[-1]]  # one line, the last
    assert re.fullmatch(r"setup\.sh: installation failed: the grader could not start Python as user "
                        rf"{SANDBOX_POOL}\d+ to run the submission's code \(.+\): the autograder's "
                        r"installation is at fault, not the submission", ours[0]), ours[0]


@pytest.mark.slow
@pytest.mark.parametrize("bwrap", [True, False], ids=["bubblewrap", "no bubblewrap"])
def test_run_autograder_reports_a_worker_that_cannot_start_as_a_grader_error(unreachable_python,
                                                                            bwrap):
    """Not a score of 0 with every function charged: a results.json that says the grader
    failed, with no row per function, and a non-zero exit."""
    root, _ = unreachable_python
    shutil.rmtree(root / "submission", ignore_errors=True)
    (root / "submission").mkdir()
    for path in (ROOT / "solutions" / "optimization").glob("*.py"):
        shutil.copy(path, root / "submission")
    env = {"PATH": PATH, "AUTOGRADER_ROOT": str(root)} | ({} if bwrap else {"AUTOGRADER_NO_BWRAP": "1"})
    done = subprocess.run(["bash", str(root / "source" / "run_autograder")], capture_output=True,
                          text=True, timeout=600, env=env)
    assert done.returncode == 1, done.stdout + done.stderr
    result = json.loads((root / "results" / "results.json").read_text())
    assert result["score"] == 0
    why = r"bwrap: execvp .+" if bwrap else rf"Permission denied: {root}/venv/bin/python"
    assert re.fullmatch(r"The autograder could not grade this submission: the grader could not "
                        rf"start Python as user {SANDBOX_POOL}\d+ to run the submission's code "
                        rf"\({why}\): the autograder's installation is at fault, not the "
                        r"submission\. Please tell your instructor\.", result["output"]), result["output"]
    assert [test["tags"] for test in result["tests"]] == [["autograder"]]
