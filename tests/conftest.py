"""Shared fixtures for the toolkit's own tests.

Tests marked ``slow`` run the toolkit end to end in subprocesses (gradings, setup.sh,
a student's pytest); ``pytest -m "not slow"`` is the fast layer. ``make test`` runs
everything with pytest-xdist, the longest tests first: the corpus is audited once, in one
worker, as each module with an expensive fixture is (see ``pytest_xdist_make_scheduler``),
and the workers share one fake /autograder per test run (see ``shared_install``).

With ``AUTOGRADER_TESTS_NO_SKIP=1`` (``.ci/run`` sets it as root) a skipped test fails: CI runs
as root, so the privilege-separation tests, which skip without root, must run there."""

import contextlib
import fcntl
import os
import pwd
import shutil
import subprocess
import sys
import textwrap
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from autograder import config, packaging
from autograder.sandbox import jail

ROOT = Path(__file__).resolve().parent.parent
PATH = packaging.SYSTEM_PATH
SANDBOX_POOL, POOL_SIZE = "autograder-sb", 16  # setup.sh's users autograder-sb0..15
NO_SKIP = os.environ.get("AUTOGRADER_TESTS_NO_SKIP") == "1"
# Modules whose tests share an expensive fixture (an audit, a setup.sh run, a release): each
# goes to one worker, or every worker would build the fixture.
ONE_WORKER = {"tests/test_corpus.py", "tests/test_install.py", "tests/test_release.py",
              "tests/test_otter_plugin.py", "tests/test_isolation.py"}
# The modules of the longest tests, started first under xdist (the longest first): a long
# test started last would leave the other worker idle at the end. The otter tests come
# last: `make test` builds their venv meanwhile.
LONGEST_FIRST = ("tests/test_corpus.py", "tests/test_trust_boundary.py", "tests/test_hostile.py")
LAST = "tests/test_otter_plugin.py"


def write_home(home: Path, name: str, files: dict[str, str]) -> Path:
    """A toolkit home holding the assignment ``name``: ``files`` maps a path under
    ``assignments/<name>/`` (``solutions/...`` for the reference's) to its text. Returns
    the assignment's folder."""
    for relative, text in files.items():
        under = home if relative.startswith("solutions/") else home / "assignments" / name
        path = under / relative.replace("solutions/", f"solutions/{name}/", 1)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))
    return home / "assignments" / name


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


def can_pin_oom_scores() -> bool:
    """Whether this process may lower OOM scores, and so fix the lowest one a process may
    set itself (CAP_SYS_RESOURCE: root has it, but not in Docker's default capabilities)."""
    status = Path("/proc/self/status").read_text()
    effective = int(status.split("CapEff:")[1].split()[0], 16)
    return bool(effective >> 24 & 1)


def pool_users() -> list[pwd.struct_passwd]:
    """The sandbox pool users that exist on this machine (none before setup.sh)."""
    pool = {f"{SANDBOX_POOL}{i}" for i in range(POOL_SIZE)}
    return [user for user in pwd.getpwall() if user.pw_name in pool]


def pool_uids() -> set[int]:
    """The uids of the sandbox pool users that exist on this machine."""
    return {user.pw_uid for user in pool_users()}


@contextlib.contextmanager
def idle_pool_uids() -> Iterator[set[int]]:
    """The uids of the pool users that no running grading has leased (another test's, or
    someone else's on this machine), held like a grading holds them (``flock``) until the
    block ends, so that none of them is leased meanwhile. What a user that is leased now
    owns belongs to a grading still running, not to one that has ended."""
    jail.LOCK_DIR.mkdir(parents=True, exist_ok=True, mode=0o700)
    idle, locks = set(), []
    try:
        for user in pool_users():
            lock = open(jail.LOCK_DIR / user.pw_name, "w")  # noqa: SIM115 - held for the block
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                lock.close()
                continue
            locks.append(lock)
            idle.add(user.pw_uid)
        yield idle
    finally:
        for lock in locks:
            lock.close()


def fake_autograder(name: str) -> Path:
    """A fake /autograder: the release zip unpacked into source/ and the real setup.sh run,
    in a folder only root can write above (as root: under /var/lib/autograder-tests). One
    setup.sh at a time (xdist workers build their own): two would race to create the pool."""
    root = packaging.local_root("fake-autograder-")
    parent = os.open(root.parent, os.O_RDONLY)
    try:
        with _locked(parent):
            return packaging.install_locally(config.load(name), root)
    finally:
        os.close(parent)


def skip_unless_root() -> None:
    if not can_run_as_root():
        pytest.skip("needs root and useradd to create the sandbox users")


def layout_beside(installed: Path, kind: str) -> Path:
    """Another fake /autograder beside ``installed``: its own copy of source/, the same venv."""
    root = packaging.local_root(f"fake-autograder-{kind}-")
    os.chmod(root, 0o755)
    shutil.copytree(installed / "source", root / "source", symlinks=True)
    (root / "venv").symlink_to((installed / "venv").resolve())
    return root


@contextlib.contextmanager
def shared_install(name: str) -> Iterator[Path]:
    """``fake_autograder(name)``, built once per test run: the xdist workers of one run share
    it. Each holds a shared lock on it while it uses it; the last one out removes it."""
    run = os.environ.get("PYTEST_XDIST_TESTRUNUID") or uuid.uuid4().hex
    parent = packaging.local_roots()
    root = parent / f"fake-autograder-{name}-{run}"
    ready = root.with_name(f"{root.name}.ready")  # beside it: the layout holds what setup.sh left
    guard = os.open(parent, os.O_RDONLY)
    user = None
    try:
        with _locked(guard):
            if not ready.exists():
                shutil.rmtree(root, ignore_errors=True)
                packaging.install_locally(config.load(name), root)
                ready.touch()
            user = open(ready)  # noqa: SIM115 - held while this worker uses the install
            fcntl.flock(user, fcntl.LOCK_SH)
        yield root
    finally:
        with _locked(guard):
            if user is not None:
                user.close()
            try:
                with open(ready) as last:
                    fcntl.flock(last, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    shutil.rmtree(root, ignore_errors=True)
                    ready.unlink()
            except OSError:  # another worker still uses it, or it is gone
                pass
        os.close(guard)


@contextlib.contextmanager
def _locked(fd: int) -> Iterator[None]:
    fcntl.flock(fd, fcntl.LOCK_EX)
    try:
        yield
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)


@pytest.fixture(scope="session")
def gradescope_root() -> Iterator[Path]:
    """A fake /autograder, built by unzipping the release and running the real setup.sh
    (as root, with the pool of sandbox users) once per test run; each xdist worker grades
    in a layout of its own beside it (its own source/, the same venv), one submission at a
    time, for the modules that grade through it."""
    skip_unless_root()
    with shared_install("optimization") as installed:
        root = layout_beside(installed, "worker")
        yield root
        shutil.rmtree(root, ignore_errors=True)


def run_autograder(root: Path, build_submission, metadata: Path | None = None,
                   as_user: str | None = None, env: dict | None = None,
                   cgroup: Path | None = None) -> tuple[Path, float]:
    """Run the real run_autograder on a fresh submission; (results path, wall seconds).
    With ``cgroup``, it starts in that cgroup."""
    shutil.rmtree(root / "submission", ignore_errors=True)
    shutil.rmtree(root / "results", ignore_errors=True)
    (root / "submission_metadata.json").unlink(missing_ok=True)
    build_submission(root / "submission")
    if metadata is not None:
        shutil.copy(metadata, root / "submission_metadata.json")
    command = ["bash", str(root / "source" / "run_autograder")]
    if cgroup is not None:
        command = ["sh", "-c", 'echo $$ > "$0/cgroup.procs" && exec "$@"', str(cgroup), *command]
    start = time.monotonic()
    subprocess.run(command, timeout=900,
                   env={"PATH": PATH, "AUTOGRADER_ROOT": str(root), **(env or {})},
                   capture_output=True,
                   user=as_user, check=False)
    return root / "results" / "results.json", time.monotonic() - start


def process_table() -> dict[int, tuple[int, int, str]]:
    """pid -> (parent pid, owner uid, command line) of every live process (the uid as
    jail.processes reads it: a non-dumpable process's /proc folder is root's)."""
    table = {}
    for pid, parent, owner in jail.processes():
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ")
        except OSError:
            continue
        table[pid] = (parent, owner, cmdline.decode(errors="replace"))
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



def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Say how many tests were skipped, even none: the root-only tests skip without root."""
    if terminalreporter.config.option.collectonly:
        return
    skipped = len(terminalreporter.stats.get("skipped", []))
    reasons = " (reasons in the short test summary: pytest -rs)" if skipped else ""
    terminalreporter.write_sep("-", f"{skipped} tests skipped{reasons}")


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> pytest.TestReport:
    """Under ``AUTOGRADER_TESTS_NO_SKIP=1``, a skip is a failure that gives its reason."""
    report = yield
    if NO_SKIP and report.skipped and not hasattr(report, "wasxfail"):
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else report.longrepr
        report.outcome = "failed"
        report.longrepr = f"skipped, but every test must run here (AUTOGRADER_TESTS_NO_SKIP=1): {reason}"
    return report


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Run the modules of ``LONGEST_FIRST`` first, then the other slow tests, then the fast
    layer, then ``LAST`` (each in its own order)."""
    def rank(item: pytest.Item) -> int:
        module = item.nodeid.split("::", 1)[0]
        if module in LONGEST_FIRST:
            return LONGEST_FIRST.index(module)
        if module == LAST:
            return len(LONGEST_FIRST) + 2
        return len(LONGEST_FIRST) + (item.get_closest_marker("slow") is None)

    items.sort(key=rank)


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: object) -> object:
    """Under ``-n`` (``--dist load``), each test goes to whichever worker is free, but the
    tests of a module in ``ONE_WORKER`` go together, to one worker. xdist's ``--dist
    loadgroup`` would do it with marks, but it renames node ids, which pytest 9 no longer
    lets a plugin do."""
    from xdist.scheduler import LoadScopeScheduling

    class Scheduler(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            module = nodeid.split("::", 1)[0]
            return module if module in ONE_WORKER else nodeid

    return Scheduler(config, log) if config.getvalue("dist") == "load" else None
