"""Shared fixtures for the toolkit's own tests."""

import os
import pwd
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from autograder import config, packaging

ROOT = Path(__file__).resolve().parent.parent
PATH = packaging.SYSTEM_PATH
SANDBOX_POOL, POOL_SIZE = "autograder-sb", 16  # setup.sh's users autograder-sb0..15


def run_cli(*args: str, check: bool = True, **kwargs) -> subprocess.CompletedProcess:
    """Run ``autograder ARGS`` in a fresh process, as a user would."""
    done = subprocess.run([sys.executable, "-m", "autograder.cli", *args], capture_output=True,
                          text=True, cwd=kwargs.pop("cwd", ROOT), **kwargs)
    if check and done.returncode != 0:
        raise AssertionError(f"autograder {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
    return done


@pytest.fixture(scope="session")
def jobs() -> int:
    return os.cpu_count() or 1


def can_run_as_root() -> bool:
    """Whether this machine lets the tests create the sandbox users (root, useradd)."""
    return (os.geteuid() == 0 and shutil.which("useradd", path=PATH) is not None
            and Path("/usr/bin/python3").exists())


def pool_uids() -> set[int]:
    """The uids of the sandbox pool users that exist on this machine."""
    pool = {f"{SANDBOX_POOL}{i}" for i in range(POOL_SIZE)}
    return {user.pw_uid for user in pwd.getpwall() if user.pw_name in pool}


def fake_autograder(name: str) -> Path:
    """A fake /autograder: the release zip unpacked into source/ and the real setup.sh run,
    in a folder only root can write above (as root: under /var/lib/autograder-tests)."""
    return packaging.install_locally(config.load(name), packaging.local_root("fake-autograder-"))


@pytest.fixture(scope="module")
def gradescope_root():
    """A fake /autograder, built by unzipping the release and running the real setup.sh
    (as root, with the pool of sandbox users)."""
    if not can_run_as_root():
        pytest.skip("needs root and useradd to create the sandbox users")
    root = fake_autograder("optimization")
    yield root
    shutil.rmtree(root, ignore_errors=True)


def run_autograder(root: Path, build_submission, metadata: Path | None = None,
                   as_user: str | None = None, env: dict | None = None) -> tuple[Path, float]:
    """Run the real run_autograder on a fresh submission; (results path, wall seconds)."""
    shutil.rmtree(root / "submission", ignore_errors=True)
    shutil.rmtree(root / "results", ignore_errors=True)
    (root / "submission_metadata.json").unlink(missing_ok=True)
    build_submission(root / "submission")
    if metadata is not None:
        shutil.copy(metadata, root / "submission_metadata.json")
    start = time.monotonic()
    subprocess.run(["bash", str(root / "source" / "run_autograder")], timeout=900,
                   env={"PATH": PATH, "AUTOGRADER_ROOT": str(root), **(env or {})},
                   capture_output=True,
                   user=as_user, check=False)
    return root / "results" / "results.json", time.monotonic() - start


def process_table() -> dict[int, tuple[int, int, str]]:
    """pid -> (parent pid, owner uid, command line) of every live process."""
    table = {}
    for entry in filter(str.isdigit, os.listdir("/proc")):
        try:
            owner = os.stat(f"/proc/{entry}").st_uid
            fields = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
            cmdline = Path(f"/proc/{entry}/cmdline").read_bytes().replace(b"\0", b" ")
        except (OSError, IndexError):
            continue
        if fields[0] != "Z":  # a zombie is already dead
            table[int(entry)] = (int(fields[1]), owner, cmdline.decode(errors="replace"))
    return table


def orphans(suspect, grace: float = 5.0) -> list[str]:
    """Live processes that ``suspect(owner, cmdline)`` selects and that nothing alive owns:
    every ancestor up to init is a suspect too. A grading (or a test) running beside this
    one owns its sandbox processes; what a finished grading left is re-parented to init.
    Waits up to ``grace`` seconds for them to go."""
    deadline = time.monotonic() + grace
    while True:
        table = process_table()
        found = [f"{pid}: {cmd[:200]}" for pid, (_, owner, cmd) in table.items()
                 if suspect(owner, cmd) and not _owned(pid, table, suspect)]
        if not found or time.monotonic() > deadline:
            return found
        time.sleep(0.25)


def _owned(pid: int, table: dict, suspect) -> bool:
    """Whether a live process that is not a suspect is an ancestor of ``pid``."""
    while pid in table and pid > 1:
        if not suspect(table[pid][1], table[pid][2]):
            return True
        pid = table[pid][0]
    return False

