"""One confined process of the sandbox, seen from the grader.

A :class:`Confined` process runs :mod:`autograder.sandbox.worker` in the jail, with a
private scratch folder: ``lib/`` (the worker's own copy of the modules it may
import, so nothing else of the toolkit, nor the reference, is on its path),
``files/`` (the files it serves, readable by its user alone) and ``work/`` (its only
writable folder). It talks over a control socket; :meth:`Confined.fork` gives a
:class:`Child` its own pipes and shared arena, which only that child ever holds, and
:meth:`Confined.end_children` leaves nothing of one child for the next: its processes,
its user's files and IPC, the working folder and the private ``/tmp``.

Whether a process is alive, and which processes are its children, is read from
/proc by the grader, never asked of the process.
"""

from __future__ import annotations

import contextlib
import json
import mmap
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from autograder.sandbox import jail as jails
from autograder.sandbox import protocol as wire
from autograder.sandbox.limits import Limits

PACKAGE = Path(__file__).resolve().parent
ARENA_BYTES = 32 * 1024 * 1024  # argument arrays of one contract name (sparse; unused pages cost nothing)
WORKER_MODULES = ("__init__.py", "protocol.py", "worker.py")


class ProcessGone(Exception):
    """The process died, timed out or broke the protocol; ``reason`` says which."""

    def __init__(self, reason: str, timed_out: bool = False) -> None:
        super().__init__(reason)
        self.timed_out = timed_out


class StartFailed(Exception):
    """The process could not be started, or ended before it answered: a problem of the
    grader's installation (nothing of the submission has run in it yet)."""


@dataclass
class Child:
    """A process forked from the zygote for one contract name."""

    pid: int
    channel: wire.Channel
    arena: mmap.mmap
    generation: int
    used: int = 0  # bytes of the arena handed out (reused only when full: a stored view stays valid)

    def alive(self) -> bool:
        return self.pid < 0 or is_alive(self.pid)  # unknown pid: rely on EOF and time-outs

    def ask(self, message: dict, timeout: float) -> dict:
        """One request and its reply, serving nothing in between (an import)."""
        return ask(self.channel, self.alive, message, timeout)

    def close(self) -> None:
        for fd in (self.channel.read_fd, self.channel.write_fd):
            with contextlib.suppress(OSError):
                os.close(fd)
        with contextlib.suppress(BufferError, ValueError):
            self.arena.close()


class Confined:
    """A sandboxed worker process in one role (``worker`` or ``reference``)."""

    def __init__(self, jail: jails.Jail, role: str, files: dict[str, bytes],
                 contract: dict[str, list[str]], limits: Limits, scratch: Path) -> None:
        self.jail = jail
        self.role = role
        self.contract = contract
        self.limits = limits
        self.root = scratch / role
        self.lib = self.root / "lib"
        self.files_dir = self.root / "files"
        self.workdir = self.root / "work"
        self.proc: subprocess.Popen | None = None
        self.control: wire.Channel | None = None
        self.socket: socket.socket | None = None
        self.pid = 0  # the worker's own pid (under bubblewrap, below bwrap's)
        self.lineage: list[int] = []  # from the started process down to the worker
        self.unavailable: dict[str, str] = {}  # module -> why it is not imported again
        self._prepare(files)

    def _prepare(self, files: dict[str, bytes]) -> None:
        user = self.jail.users.get(self.role)
        package = self.lib / "autograder" / "sandbox"
        package.mkdir(parents=True)
        (self.lib / "autograder" / "__init__.py").write_text("")
        for name in WORKER_MODULES:
            shutil.copyfile(PACKAGE / name, package / name)
        self.files_dir.mkdir()
        self.workdir.mkdir()
        self.paths = {}
        for module, source in files.items():
            self.paths[module] = self.files_dir / f"{module}.py"
            self.paths[module].write_bytes(source)
        os.chmod(self.root, 0o711)
        for folder in (self.lib, *self.lib.rglob("*")):
            os.chmod(folder, 0o755 if folder.is_dir() else 0o644)
        if user is not None:  # only this role's user may read its files and write its work/
            os.chown(self.workdir, user.pw_uid, user.pw_gid)
            for path in (self.files_dir, *self.paths.values()):  # read through its group:
                os.chown(path, 0, user.pw_gid)  # it cannot change them, nor their mode
            for path in self.paths.values():
                os.chmod(path, 0o440)
        os.chmod(self.files_dir, 0o550 if user is not None else 0o700)
        os.chmod(self.workdir, 0o700)

    # -- lifecycle -----------------------------------------------------------------
    def start(self) -> None:
        """Start the process and tell it what it serves; :class:`StartFailed` when it cannot
        start (the interpreter cannot be run as the sandbox user, say)."""
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        own_user = self.role in self.jail.users
        python = os.path.normpath(os.path.abspath(sys.executable))  # no "..": not in the view
        argv = [python, "-s", "-m", "autograder.sandbox.worker", str(theirs.fileno()),
                json.dumps(self.limits.rlimits(own_user))]
        argv, kwargs, env = self.jail.command(self.role, argv, [self.lib, self.files_dir],
                                              self.workdir)
        env |= {
            "PATH": "/usr/local/bin:/usr/bin:/bin",
            "PYTHONPATH": str(self.lib),
            "PYTHONDONTWRITEBYTECODE": "1",
            "PYTHONHASHSEED": "0",
            "PYTHONNOUSERSITE": "1",
            "LANG": "C.UTF-8",
            **{k: "1" for k in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")},
        }
        for key in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE"):
            if key in os.environ:
                env[key] = os.environ[key]
        log = self.root / "stderr.log"  # for the toolkit's developers, and a failed start
        logged = log.stat().st_size if log.exists() else 0
        with open(log, "ab", opener=private) as stderr:
            try:
                self.proc = subprocess.Popen(
                    argv, pass_fds=(theirs.fileno(),), stdin=subprocess.DEVNULL,
                    stdout=subprocess.DEVNULL, stderr=stderr, env=env,
                    start_new_session=True, **kwargs)
            except OSError as exc:
                ours.close()
                raise StartFailed(f"{exc.strerror}: {exc.filename or argv[0]}") from None
            finally:
                theirs.close()
        self.socket = ours
        self.control = wire.Channel(ours.fileno(), ours.fileno())
        files = {name: str(path) for name, path in self.paths.items()}
        mode = "student" if self.role == "worker" else "reference"
        try:
            self.ask(wire.request(wire.INIT, files=files, contract=self.contract, mode=mode,
                                  unavailable=self.unavailable,
                                  private_ipc=self.jail.bwrap is not None),
                     self.limits.import_timeout)
        except ProcessGone as exc:
            if exc.timed_out:
                raise StartFailed(f"it {exc}") from None
            said = log.read_bytes()[logged:].decode("utf-8", "replace").strip().splitlines()
            raise StartFailed(said[-1][:300] if said else "it ended before it answered") from None
        self.lineage = self._lineage(self.proc.pid)
        self.pid = self.lineage[-1]
        self.jail.confine([self.proc.pid, *jails.descendants(self.proc.pid)])

    def ask(self, message: dict, timeout: float) -> dict:
        """One request on the control channel and its reply (no callbacks are served:
        nothing reaches the grader from a process outside a graded call)."""
        try:
            return ask(self.control, self.alive, message, timeout)
        except ProcessGone:
            self.stop()
            raise

    def fork(self, timeout: float) -> Child:
        """A fresh child of the zygote with pipes and an arena of its own. The caller has
        ended the previous child (or the imports' strays) with :meth:`end_children`."""
        to_child_r, to_child_w = os.pipe()
        from_child_r, from_child_w = os.pipe()
        arena_fd = os.memfd_create("arena", 0)
        try:
            os.ftruncate(arena_fd, ARENA_BYTES)
            self.control.write(wire.dump(wire.request(wire.FORK)), time.monotonic() + timeout,
                               self.alive)
            socket.send_fds(self.socket, [b"F"], [to_child_r, from_child_w, arena_fd])
            arena = mmap.mmap(arena_fd, ARENA_BYTES)
        except (OSError, wire.ChannelTimeout, EOFError) as exc:
            for fd in (to_child_r, to_child_w, from_child_r, from_child_w):
                os.close(fd)
            self.stop()
            raise ProcessGone(death_reason(exc)) from None
        finally:
            os.close(arena_fd)
        os.close(to_child_r)
        os.close(from_child_w)
        child = Child(0, wire.Channel(from_child_r, to_child_w), arena, 0)
        try:
            answer = child.channel.receive(time.monotonic() + timeout, self.alive)
            if answer["op"] != wire.REPLY or "error" in answer:
                raise wire.ProtocolError("the fork was not acknowledged")
        except (wire.ChannelTimeout, EOFError, OSError, wire.ProtocolError) as exc:
            child.close()
            self.stop()
            raise ProcessGone(death_reason(exc)) from None
        children = [pid for pid, ppid, _ in jails.processes() if ppid == self.pid]
        child.pid = children[0] if len(children) == 1 else -1
        return child

    def end_children(self) -> None:
        """Kill every process below the zygote (the current child and all it started) and,
        with a pool user of its own, every other process of that user; then remove what
        they wrote: the working folder, the private ``/tmp`` and ``/dev/shm`` (under
        bubblewrap, reached through the zygote's root; the zygote empties its private
        System V IPC itself), and that user's files and IPC objects wherever anyone may
        write (POSIX message queues cannot be made at all). Nothing one context leaves
        reaches the next."""
        if not self.pid:
            return
        user = self.jail.users.get(self.role)

        def strays() -> list[int]:
            found = jails.descendants(self.pid)
            if user is not None:  # escaped the tree (the zygote's subreaper flag was cleared)
                found += [p for p in jails.owned_by(user.pw_uid) if p not in self.lineage]
            return found

        jails.kill_until_gone(strays)
        jails.empty(self.workdir)
        if self.jail.bwrap is not None:  # its view holds our folders: those are kept
            root = Path(f"/proc/{self.pid}/root")
            kept = {root / p.relative_to("/")
                    for p in self.jail.bound([self.lib, self.files_dir])}
            for folder in ("tmp", "dev/shm"):
                jails.empty(root / folder, kept)
        if user is not None:
            jails.remove_files_of(user.pw_uid)
            jails.remove_ipc_of(user.pw_uid)

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None and is_alive(self.pid or
                                                                               self.proc.pid)

    def stop(self, graceful: bool = False) -> None:
        """Kill the process and everything below it. ``graceful``: first close its channel
        and give it a second to exit by itself (so its CPU time is accounted to us)."""
        if self.proc is None:
            return
        if graceful:
            self.end_children()
            self.socket.close()
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.proc.wait(timeout=1.0)
        root = self.proc.pid
        jails.kill_until_gone(lambda: [root, *jails.descendants(root)]
                              if is_alive(root) else jails.descendants(root))
        with contextlib.suppress(ProcessLookupError):
            self.proc.kill()
        self.proc.wait()
        self.socket.close()
        self.proc = self.control = self.socket = None
        self.pid = 0

    @staticmethod
    def _lineage(pid: int) -> list[int]:
        """The started process and its single children down to the worker (bubblewrap
        runs two processes of its own above it)."""
        chain = [pid]
        for _ in range(5):
            children = [p for p, ppid, _ in jails.processes() if ppid == chain[-1]]
            if len(children) != 1:
                break
            chain.append(children[0])
        return chain


def ask(channel: wire.Channel, alive: Callable[[], bool], message: dict,
        timeout: float) -> dict:
    """Send ``message`` and return the reply; :class:`ProcessGone` when none comes in time,
    the process dies, or it asks the grader for something instead."""
    deadline = time.monotonic() + timeout
    try:
        channel.write(wire.dump(message), deadline, alive)
        answer = channel.receive(deadline, alive)
    except wire.ChannelTimeout:
        raise ProcessGone(f"did not finish within {timeout:.0f} s", timed_out=True) from None
    except (EOFError, OSError, wire.ProtocolError) as exc:
        raise ProcessGone(death_reason(exc)) from None
    if answer["op"] != wire.REPLY:
        raise ProcessGone("asked the grader for something outside a graded call")
    return answer


def private(path: str, flags: int) -> int:
    """Open ``path`` as only the grader may read it (``open``'s opener)."""
    return os.open(path, flags, 0o600)


def is_alive(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie does not)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            return f.read().rsplit(b")", 1)[-1].split()[0] != b"Z"
    except (OSError, IndexError):
        return False


def death_reason(exc: BaseException) -> str:
    """What happened to a process, as read from the exception its channel raised."""
    if isinstance(exc, wire.FrameTooLarge):
        return f"sent the grader more data than it accepts ({exc})"
    if isinstance(exc, wire.ProtocolError):
        return f"wrote garbage to the grader's channel ({exc})"
    return "ended the Python process (os._exit, a crash, or the memory limit?)"
