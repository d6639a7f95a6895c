"""How sandboxed processes are confined, and how everything they leave is removed.

One :class:`Jail` serves one grading run. From strongest to weakest:

- **root with a user pool** (Gradescope, ``--sandbox-pool``): each run leases its own
  unprivileged users from the pool (``autograder-sb0`` ...), one for the student's
  worker and one for the reference process, locked with ``flock`` so that concurrent
  runs never share a uid. Killing "every process of the uid" and removing "every file
  of the uid" then only ever touches this run.
- **a namespace sandbox** (bubblewrap, where it works; also under the pooled users):
  no network, a read-only view of only the interpreter, the toolkit's worker and the
  files to grade, a private ``/tmp`` and ``/dev/shm``, no home directory.
- **neither**: one warning per run, and a private TMPDIR in the run's scratch.

In every mode the kernel is told whom to kill first when memory runs out: every sandboxed
process has ``oom_score_adj`` 1000 and, as root where permitted, the grader -500 (see
:meth:`Jail.confine`). As root, where a memory cgroup can be made (cgroup v2, or v1's
memory hierarchy, writable), the run's sandboxed processes also share one memory cap
(:class:`Cgroup`), below what the machine gives the whole grading: many processes, each
within its own limits, cannot together take the grader's memory. Without root, only each
process's own limits bound them.
"""

from __future__ import annotations

import contextlib
import ctypes
import fcntl
import os
import pwd
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

PR_SET_CHILD_SUBREAPER = 36
SANDBOX_OOM_SCORE = 1000  # oom_score_adj of sandboxed processes: the first the kernel kills
GRADER_OOM_SCORE = -500  # the root grader's: after everything else of the run
CGROUPS = Path("/sys/fs/cgroup")
PROC_CGROUP = Path("/proc/self/cgroup")  # this process's cgroups, one line per hierarchy
LOCK_DIR = Path("/run/lock/autograder")  # one lock file per pool user, shared by all runs
LITTER_DIRS = (Path("/tmp"), Path("/var/tmp"), Path("/dev/shm"), Path("/run/lock"),
               Path("/dev/mqueue"))  # where anyone may write
ROLES = ("worker", "reference")  # a grading run leases one pool user for each
DEFAULT_POOL = "autograder-sb"  # setup.sh's users autograder-sb0..15
PRIVATE_TMP_BYTES = 64 << 20  # the private /tmp under bubblewrap (memory-backed, so capped)
SYSTEM_DIRS = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/etc")
NO_SANDBOX_WARNING = ("warning: no sandbox is available (not root, and bubblewrap is missing "
                      "or cannot create namespaces): student code runs as you, with your files "
                      "readable. Install bubblewrap, or grade as root with a sandbox pool.")


class JailError(Exception):
    """The jail cannot be set up as asked (a bad pool name, no free user)."""


@dataclass
class Jail:
    """The confinement of one grading run: leased users, bubblewrap, and clean-up."""

    users: dict[str, pwd.struct_passwd] = field(default_factory=dict)  # role -> pool user
    bwrap: str | None = None
    warning: str | None = None
    cgroup: Cgroup | None = None  # the memory cap all the run's sandboxed processes share
    _locks: list[Any] = field(default_factory=list)

    def command(self, role: str, argv: list[str], visible: list[Path], workdir: Path,
                ) -> tuple[list[str], dict[str, Any], dict[str, str]]:
        """The confined form of ``argv``: (argv, Popen keyword arguments, environment).

        ``visible`` are the folders the process may read; ``workdir`` is its private,
        writable working folder (under bubblewrap, a private, size-capped ``/tmp`` instead,
        gone with the process)."""
        kwargs: dict[str, Any] = {}
        user = self.users.get(role)
        if user is not None:
            kwargs = {"user": user.pw_uid, "group": user.pw_gid, "extra_groups": []}
        if self.bwrap is None:
            return argv, kwargs | {"cwd": workdir}, {"HOME": str(workdir), "TMPDIR": str(workdir)}
        args = [self.bwrap, "--die-with-parent", "--new-session", "--unshare-all",
                "--cap-drop", "ALL", "--proc", "/proc", "--dev", "/dev",
                "--size", str(PRIVATE_TMP_BYTES), "--tmpfs", "/tmp",
                "--size", str(PRIVATE_TMP_BYTES // 4), "--tmpfs", "/dev/shm",
                "--chdir", "/tmp"]
        if os.geteuid() == 0 and user is None:  # root without a pool: be nobody inside
            args += ["--unshare-user", "--uid", "65534", "--gid", "65534"]
        for folder in SYSTEM_DIRS:
            if os.path.islink(folder):
                args += ["--symlink", os.readlink(folder), folder]
            elif os.path.isdir(folder):
                args += ["--ro-bind", folder, folder]
        for path in self.bound(visible):
            args += ["--ro-bind", str(path), str(path)]
        # Last: the root and /dev bubblewrap made are read-only (only /tmp and /dev/shm,
        # emptied between contexts, stay writable).
        args += ["--remount-ro", "/dev", "--remount-ro", "/"]
        return args + ["--", *argv], kwargs | {"cwd": "/"}, {"HOME": "/tmp", "TMPDIR": "/tmp"}

    def confine(self, pids: list[int]) -> None:
        """Make the kernel kill the sandboxed processes ``pids`` first when memory runs out,
        and put them under the run's memory cap. Called as soon as a process answers, before
        any student code runs in it; its children inherit both. Written by a grader with
        CAP_SYS_RESOURCE (root, but not in Docker's default capabilities), the score is also
        the lowest the process may set itself (the kernel's ``oom_score_adj_min``); set in
        the process itself, after the switch to the pool user, student code could lower it
        to the grader's. Without that capability the grader stays at 0, and student code
        may lower its own score back to 0: then only the run's cgroup protects the grader."""
        for pid in pids:
            with contextlib.suppress(OSError):
                Path(f"/proc/{pid}/oom_score_adj").write_text(str(SANDBOX_OOM_SCORE))
            if self.cgroup is not None:
                self.cgroup.add(pid)

    @staticmethod
    def bound(visible: list[Path]) -> list[Path]:
        """The folders bubblewrap shows a process besides the system's: the interpreter's
        and ``visible`` (a venv or a scratch folder under /tmp sits in its private /tmp)."""
        return _interpreter_dirs() + [Path(p) for p in visible]

    def close(self, scratch: Path | None = None) -> None:
        """Kill what the run's cgroup and the leased users still run, remove the cgroup, the
        users' files and the run's ``scratch``, then release the lease (not before: a user
        free again owns nothing)."""
        if self.cgroup is not None:
            self.cgroup.remove()
        for user in self.users.values():
            kill_until_gone(lambda uid=user.pw_uid: owned_by(uid))
            remove_files_of(user.pw_uid)
            remove_ipc_of(user.pw_uid)
        if scratch is not None:
            shutil.rmtree(scratch, ignore_errors=True)
        for lock in self._locks:
            lock.close()
        self._locks.clear()


def open_jail(pool: str | None, memory_mb: int, roles: tuple[str, ...] = ROLES) -> Jail:
    """Lease one pool user per role (as root with a pool), and find a working bubblewrap.
    The grader becomes a subreaper: orphans of sandboxed processes come back to it. As
    root, the grader is among the last the kernel kills when memory runs out, and the
    run's sandboxed processes share a cgroup of ``memory_mb`` where one can be made."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
    jail = Jail(bwrap=working_bwrap(pool))
    if pool:
        if os.geteuid() != 0:
            raise JailError("--sandbox-pool needs root (the grader switches to the pool's users)")
        _lease(jail, pool, roles)
    elif jail.bwrap is None:
        jail.warning = NO_SANDBOX_WARNING
    if os.geteuid() == 0:
        with contextlib.suppress(OSError):
            Path("/proc/self/oom_score_adj").write_text(str(GRADER_OOM_SCORE))
        jail.cgroup = make_cgroup(memory_mb << 20)
    return jail


@dataclass
class Cgroup:
    """A memory cgroup of one grading run (or a test's): the processes moved into it, and
    all they start, share its cap; when they exceed it, the kernel kills within it."""

    path: Path

    def add(self, pid: int) -> None:
        with contextlib.suppress(OSError):
            (self.path / "cgroup.procs").write_text(str(pid))

    def members(self) -> list[int]:
        try:
            return [int(pid) for pid in (self.path / "cgroup.procs").read_text().split()]
        except OSError:
            return []

    def remove(self) -> None:
        """Kill what still runs in it, and remove it."""
        kill_until_gone(self.members)
        with contextlib.suppress(OSError):
            self.path.rmdir()


def make_cgroup(memory_bytes: int) -> Cgroup | None:
    """A new cgroup capped at ``memory_bytes``, inside this process's own where the memory
    controller allows (cgroup v2: below the nearest cgroup that hands the controller to
    its children; v1: in the memory hierarchy); None where none can be made (not root,
    cgroups read-only, no memory controller). It also removes the cgroups that runs now
    dead left there (their grader was killed)."""
    try:
        table = PROC_CGROUP.read_text()
    except OSError:
        return None
    for line in table.splitlines():
        _, controllers, own = line.split(":", 2)
        if not controllers and (CGROUPS / "cgroup.controllers").exists():  # v2
            mine = CGROUPS / own.lstrip("/")
            handing = [folder for folder in (mine, *mine.parents) if folder.is_relative_to(CGROUPS)
                       and "memory" in _words(folder / "cgroup.subtree_control")]
            if not handing:
                continue
            parent, cap = handing[0], "memory.max"
        elif "memory" in controllers.split(","):  # v1
            parent, cap = CGROUPS / "memory" / own.lstrip("/"), "memory.limit_in_bytes"
        else:
            continue
        _remove_dead_cgroups(parent)
        try:
            folder = Path(tempfile.mkdtemp(prefix=f"autograder-{os.getpid()}-", dir=parent))
        except OSError:
            continue
        try:
            (folder / cap).write_text(str(memory_bytes))
        except OSError:
            folder.rmdir()
            continue
        return Cgroup(folder)
    return None


def _words(path: Path) -> list[str]:
    try:
        return path.read_text().split()
    except OSError:
        return []


def _remove_dead_cgroups(parent: Path) -> None:
    """Remove the run cgroups in ``parent`` whose grader is gone (and so are their
    processes: a cgroup with a process in it cannot be removed)."""
    for folder in parent.glob("autograder-*-*"):
        grader = folder.name.split("-")[1]
        if grader.isdigit() and not os.path.exists(f"/proc/{grader}"):
            with contextlib.suppress(OSError):
                folder.rmdir()


def pool_members(pool: str) -> list[pwd.struct_passwd]:
    """The users of the sandbox pool ``pool`` (``pool0``, ``pool1``, ...), in order."""
    return sorted((p for p in pwd.getpwall()
                   if p.pw_name.startswith(pool) and p.pw_name[len(pool):].isdigit()),
                  key=lambda p: int(p.pw_name[len(pool):]))


def _lease(jail: Jail, pool: str, roles: tuple[str, ...]) -> None:
    members = pool_members(pool)
    if not members:
        raise JailError(f"--sandbox-pool: no users named {pool}0, {pool}1, ... "
                        "(setup.sh creates them)")
    LOCK_DIR.mkdir(parents=True, exist_ok=True, mode=0o700)
    deadline = time.monotonic() + 600
    wanted = list(roles)
    while wanted:
        for member in members:
            if not wanted:
                break
            if member.pw_name in {u.pw_name for u in jail.users.values()}:
                continue
            lock = open(LOCK_DIR / member.pw_name, "w")  # noqa: SIM115 - held for the run
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                lock.close()
                continue
            jail._locks.append(lock)
            jail.users[wanted.pop(0)] = member
            # A previous run that died may have left processes or files: clear them first,
            # its scratch folders too (they may hold the reference, readable by this user).
            kill_until_gone(lambda uid=member.pw_uid: owned_by(uid))
            remove_files_of(member.pw_uid)
            remove_ipc_of(member.pw_uid)
            remove_stale_scratch(member.pw_uid)
        if wanted:
            if time.monotonic() > deadline:
                raise JailError(f"every user of the sandbox pool {pool!r} stayed busy for 600 s")
            time.sleep(0.2)


def working_bwrap(pool: str | None) -> str | None:
    """bubblewrap's path, if it can really create a sandbox here (it cannot in many
    containers); checked as the user the sandbox would run as."""
    if os.environ.get("AUTOGRADER_NO_BWRAP"):
        return None
    path = shutil.which("bwrap") or (os.path.exists("/usr/bin/bwrap") and "/usr/bin/bwrap")
    if not path:
        return None
    kwargs: dict[str, Any] = {}
    if pool and os.geteuid() == 0:
        kwargs = {"user": "nobody"}
    probe = [path, "--unshare-all", "--ro-bind", "/", "/", "--proc", "/proc", "--dev", "/dev",
             "true"]
    try:
        done = subprocess.run(probe, capture_output=True, timeout=10, **kwargs)
    except (OSError, subprocess.SubprocessError, KeyError):
        return None
    return path if done.returncode == 0 else None


def _interpreter_dirs() -> list[Path]:
    """The folders the Python interpreter and its libraries live in."""
    found = []
    for prefix in {sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix}:
        path = Path(prefix)
        if not any(str(path).startswith(d + "/") for d in SYSTEM_DIRS):
            found.append(path)
    return sorted(found)


def processes() -> list[tuple[int, int, int]]:
    """(pid, parent pid, real uid) of every live process we can see. The uid is read from
    ``status``: a process that made itself non-dumpable shows its /proc folder as root's."""
    found = []
    for entry in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{entry}/status", "rb") as f:
                status = f.read()
            state, parent, owner = (_field(status, key) for key in (b"State", b"PPid", b"Uid"))
        except (OSError, ValueError):
            continue
        if state != b"Z":
            found.append((int(entry), int(parent), int(owner)))
    return found


def _field(status: bytes, key: bytes) -> bytes:
    """The first word of line ``key:`` of a /proc status file."""
    start = status.index(b"\n" + key + b":") + len(key) + 2
    return status[start:status.index(b"\n", start)].split()[0]


def descendants(root: int) -> list[int]:
    """Every live process below ``root`` (not ``root`` itself)."""
    children: dict[int, list[int]] = {}
    for pid, ppid, _ in processes():
        children.setdefault(ppid, []).append(pid)
    found, stack = [], list(children.get(root, []))
    while stack:
        pid = stack.pop()
        found.append(pid)
        stack.extend(children.get(pid, []))
    return found


def owned_by(uid: int) -> list[int]:
    """Every live process of ``uid``."""
    return [pid for pid, _, owner in processes() if owner == uid]


def kill_until_gone(find: Callable[[], list[int]], rounds: int = 200) -> None:
    """SIGKILL the processes ``find`` lists until it lists none, reaping our own children
    (the grader is a subreaper, so orphans come back to it)."""
    me = os.getpid()
    for attempt in range(rounds):
        chosen = [pid for pid in find() if pid != me]
        for pid in chosen:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)
        reap()
        if not chosen:
            return
        time.sleep(min(0.0005 * 2**attempt, 0.02))  # a killed process is usually gone at once


def reap() -> None:
    """Collect every child of ours that has ended."""
    while True:
        try:
            if os.waitpid(-1, os.WNOHANG)[0] == 0:
                return
        except ChildProcessError:
            return


def remove_ipc_of(uid: int) -> None:
    """Delete the System V shared memory, semaphores and message queues ``uid`` owns:
    memory a process detached from outlives it, outside every resource limit."""
    for kind, flag in (("shm", "-m"), ("sem", "-s"), ("msg", "-q")):
        with contextlib.suppress(OSError):
            lines = Path(f"/proc/sysvipc/{kind}").read_text().splitlines()
            header = lines[0].split()
            ids = [row.split()[1] for row in lines[1:]
                   if len(row.split()) == len(header)
                   and int(row.split()[header.index("uid")]) == uid]
            for ipc_id in ids:
                subprocess.run(["ipcrm", flag, ipc_id], capture_output=True, check=False)


def remove_stale_scratch(uid: int) -> None:
    """Delete scratch folders of dead runs (``autograder-*`` in the temp folder) that hold
    files of ``uid``: a live run would still hold the lease on it."""
    for scratch in Path(tempfile.gettempdir()).glob("autograder-*"):
        with contextlib.suppress(OSError):
            if any(p.stat().st_uid == uid for p in scratch.glob("*/*")):
                shutil.rmtree(scratch, ignore_errors=True)


def empty(folder: Path, kept: set[Path] = frozenset()) -> None:
    """Remove everything inside ``folder`` but the ``kept`` paths and the folders that lead
    to them (never following a link); nothing when it is gone. (Removing a mount point
    from outside its namespace would detach what is mounted there.)"""
    with contextlib.suppress(OSError):
        for entry in os.scandir(folder):
            path = Path(entry.path)
            with contextlib.suppress(OSError):
                if path in kept:
                    continue
                if any(path in k.parents for k in kept):
                    empty(path, kept)
                else:
                    remove(entry)


def remove(entry: os.DirEntry) -> None:
    """Delete a file, a link or a whole folder (never following a link)."""
    if entry.is_dir(follow_symlinks=False):
        shutil.rmtree(entry.path, ignore_errors=True)
    else:
        os.unlink(entry.path)


def remove_files_of(uid: int, folders: tuple[Path, ...] = LITTER_DIRS, depth: int = 3) -> None:
    """Delete what ``uid`` created in the world-writable folders (and in world-writable
    folders inside them), never following a link."""
    for top in folders:
        with contextlib.suppress(OSError):
            for entry in os.scandir(top):
                with contextlib.suppress(OSError):
                    info = entry.stat(follow_symlinks=False)
                    if info.st_uid == uid:
                        remove(entry)
                    elif depth > 1 and entry.is_dir(follow_symlinks=False) \
                            and info.st_mode & 0o002:
                        remove_files_of(uid, (Path(entry.path),), depth - 1)
