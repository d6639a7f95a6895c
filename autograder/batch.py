"""Grade a whole class: a folder of submission folders, or Gradescope's
"Export Submissions" zip (one ``submission_<id>/`` folder each, and a
``submission_metadata.yml`` mapping folders to submitters and times).

Each submission is graded by its own ``autograder grade`` process, in a session of its
own, so no state leaks from one student to the next, and a submission that hangs,
crashes or exhausts memory costs only its own row: past the timeout, the process is
killed with every process it started. Gradings run in parallel, one per core by
default, on this machine or on a Dask cluster. As root, student code runs as the users
of the sandbox pool, as on Gradescope, never as the instructor.

Memory: the kernel kills sandboxed processes before any grader, and as root each
grading's sandboxed processes share one cap (a cgroup per run of ``limits.run_memory_mb``,
where cgroups are writable), so one submission cannot take the machine or the other
gradings down. Without root, only each sandboxed process's own limits bound a submission
(address space, CPU time, file size): many processes of one submission may together still
exhaust the machine's memory.

The output folder gets, per submission, ``results/<id>.json`` with its
``<id>.metadata.json``, its ``<id>.key`` and a readable ``<id>.html``; then
``grades.csv`` (one row per student, with the deadline that applied) and ``report.html``
(:mod:`autograder.class_report`). Extensions (:mod:`autograder.extensions`) go into each
submission's metadata, so the late penalty of results.json, grades.csv, the report and
``rubric --merge`` all count them.
A rerun grades again only the submissions whose key changed: a hash of the submission's
files, its metadata and the grader (the toolkit, the assignment with its tests and
reference, Python and the libraries that decide a grading).
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import dataclasses
import functools
import hashlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
import zipfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from importlib import metadata as installed
from pathlib import Path
from typing import Any, TypeVar

from autograder import class_report, config, extensions, late_policy, packaging, results, runner
from autograder.sandbox import jail
from autograder.sandbox.jail import DEFAULT_POOL
from autograder.sandbox.limits import SUBMISSION_TIMEOUT

DASK_CONNECT_TIMEOUT = 30  # seconds to reach a Dask scheduler
DECIDING_LIBRARIES = ("numpy", "pytest", "hypothesis")  # their versions change gradings
T = TypeVar("T")
Outcome = dict | str  # a results.json document, or why the submission could not be graded


@dataclass(frozen=True)
class Settings:
    """How each grading runs, wherever it runs: the assignment, the seconds it may take,
    the sandbox pool (used as root; None for a written assignment, which runs no code)
    and the grader's version (:func:`grader_version`)."""

    assignment: str
    timeout: float
    pool: str | None
    grader: str


@dataclass(frozen=True)
class Job:
    """One submission to grade and where its results go."""

    sid: str
    folder: Path
    metadata: dict | None
    key: str
    results: Path  # the folder of results/<sid>.json

    @property
    def target(self) -> Path:
        return self.results / f"{self.sid}.json"

    @property
    def metadata_path(self) -> Path | None:
        return self.results / f"{self.sid}.metadata.json" if self.metadata is not None else None


def discover(source: Path, workdir: Path) -> tuple[dict[str, Path], dict[str, dict]]:
    """Submission folders by id, and Gradescope-style metadata by id where known."""
    if source.is_file() and zipfile.is_zipfile(source):
        with zipfile.ZipFile(source) as archive:
            archive.extractall(workdir)
        tops = [p for p in workdir.iterdir() if p.is_dir() and not p.name.startswith("__")]
        source = tops[0] if len(tops) == 1 and not (workdir / "submission_metadata.yml").exists() \
            else workdir
    if not source.is_dir():
        raise config.ConfigError(f"{source} is neither a folder nor a zip file")
    folders = {p.name: p for p in sorted(source.iterdir())
               if p.is_dir() and not p.name.startswith((".", "__"))}
    metadata = {}
    index = source / "submission_metadata.yml"
    if index.is_file():
        data = config.read_yaml(index, outside=True) or {}
        if not isinstance(data, dict) or not all(isinstance(e, dict) for e in data.values()):
            raise config.ConfigError(f"{index.name}: not Gradescope's export index (a mapping "
                                     "of submission folders to their submitters)")
        for folder, entry in data.items():
            metadata[str(folder)] = export_to_metadata(entry)
    return folders, metadata


def export_to_metadata(entry: dict) -> dict:
    """Convert one entry of the export's YAML (Ruby-style ``:keys``) to the shape of
    Gradescope's submission_metadata.json."""
    def plain(value: Any) -> Any:
        if isinstance(value, dict):
            return {str(k).lstrip(":"): plain(v) for k, v in value.items()}
        if isinstance(value, list):
            return [plain(v) for v in value]
        return value.isoformat() if hasattr(value, "isoformat") else value

    entry = plain(entry)
    metadata = {"created_at": entry.get("created_at"), "users": entry.get("submitters", [])}
    # Gradescope's due dates, where the export carries them (a submitter's own is kept with
    # the submitter): the late policy's truth, as in submission_metadata.json.
    return metadata | ({"assignment": entry["assignment"]}
                       if isinstance(entry.get("assignment"), dict) else {})


def grade_all(assignment: config.Assignment, source: Path, out: Path, jobs: int | None = None,
              executor: str = "local", timeout: float = SUBMISSION_TIMEOUT,
              pool: str | None = None, extended: Path | None = None) -> list[dict[str, Any]]:
    """Grade every submission into ``out`` (results, grades.csv and report.html) with
    ``jobs`` gradings at once (default: one per core) and return the rows of grades.csv
    (a row whose ``error`` is not empty could not be graded). Submissions graded before
    with the same key are not graded again. ``executor`` is ``local``, ``dask-local`` (a
    Dask cluster on this machine) or ``dask://HOST:PORT`` (a running Dask scheduler).
    As root, ``pool`` (a prefix; "" for none) must work; without one, the default pool is
    used where it works, else bubblewrap alone, with a warning. ``extended``: the
    extensions file (read before anything is graded)."""
    granted = extensions.read(extended) if extended is not None else []
    settings = Settings(assignment.name, timeout,
                        (DEFAULT_POOL if pool is None else pool)
                        if assignment.kind == "programming" else None,
                        grader_version(assignment.name))
    if executor not in ("local", "dask-local") and not executor.startswith("dask://"):
        raise config.ConfigError(f"--executor: {executor!r} is not local, dask-local or "
                                 "dask://HOST:PORT")
    local = executor in ("local", "dask-local")
    if local and pool_here(settings.pool):
        try:
            check_sandbox(settings.pool)
        except runner.GradingError as exc:
            if pool is not None:  # asked for by name: the pool is required
                raise
            print(f"warning: {exc}; grading with bubblewrap alone instead (give --sandbox-pool "
                  "to require the pool)", file=sys.stderr)
            settings = dataclasses.replace(settings, pool=None)
    workers = parallel_gradings(jobs, pool_here(settings.pool) if local else None)
    results_dir = out / "results"
    results_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="grade-batch-") as tmp:
        folders, metadata = discover(source, Path(tmp))
        if not folders:
            raise config.ConfigError(f"no submission folders found in {source}")
        if granted and not metadata:
            print(f"warning: {extended.name}: not used: {source} has no submission_metadata.yml "
                  "(no submission times, so no late penalty)", file=sys.stderr)
        for unmatched in extensions.apply(granted, metadata) if metadata else []:
            print(f"warning: {extended.name}: {unmatched}", file=sys.stderr)
        todo, graded = plan(folders, metadata, settings.grader, results_dir)
        run = grade_locally if executor == "local" else functools.partial(grade_on_dask, executor)
        title = f"grading {assignment.name}" + (f" ({len(graded)} unchanged, kept)" if graded
                                                else "")
        for job, outcome in progress(run(todo, settings, workers), len(todo), title):
            graded[job.sid] = outcome
            if isinstance(outcome, dict):
                finish(job, outcome)
    rows = [row for sid in folders for row in grade_rows(sid, graded[sid], metadata.get(sid))]
    results.write_csv(out / "grades.csv", rows)
    class_report.write(out, assignment, rows,
                       {sid: d for sid, d in graded.items() if isinstance(d, dict)})
    return rows


# -- what a grading depends on ------------------------------------------------------
@functools.cache
def grader_version(assignment: str) -> str:
    """A hash of everything that decides a grading of ``assignment``: the files of its
    Gradescope zip (the toolkit, the assignment and its tests, the reference), Python's
    version and the versions of the libraries in DECIDING_LIBRARIES."""
    versions = [sys.version, *(f"{lib} {installed.version(lib)}" for lib in DECIDING_LIBRARIES)]
    return digest(packaging.gradescope_files(config.load(assignment)), *versions)


def submission_key(folder: Path, metadata: dict | None, grader: str) -> str:
    """The key of a grading: a hash of the submission's files, its metadata and the grader."""
    return digest(files_of(folder), grader, json.dumps(metadata, sort_keys=True, default=str))


def digest(files: dict[str, bytes], *texts: str) -> str:
    """A SHA-256 of named files (names and contents) and of some texts."""
    hasher = hashlib.sha256()
    for name in sorted(files):
        hasher.update(f"{len(name)}:{name}:".encode() + hashlib.sha256(files[name]).digest())
    for text in texts:
        hasher.update(f"{len(text)}:{text}".encode())
    return hasher.hexdigest()


def files_of(folder: Path) -> dict[str, bytes]:
    """Every file under ``folder`` by its relative path (``/``-separated)."""
    return {path.relative_to(folder).as_posix(): path.read_bytes()
            for path in sorted(folder.rglob("*")) if path.is_file()}


def plan(folders: dict[str, Path], metadata: dict[str, dict], grader: str, results_dir: Path,
         ) -> tuple[list[Job], dict[str, Outcome]]:
    """The submissions to grade (made ready: see :func:`prepare`), and the results of the
    others, graded before with the same key."""
    todo, kept = [], {}
    for sid, folder in folders.items():
        job = Job(sid, folder, metadata.get(sid),
                  submission_key(folder, metadata.get(sid), grader), results_dir)
        document = cached(job)
        if document is None:
            prepare(job)
            todo.append(job)
        else:
            kept[sid] = document
    return todo, kept


def cached(job: Job) -> dict | None:
    """The results of an earlier grading of this submission with the same key, if any."""
    with contextlib.suppress(OSError, ValueError):
        if (job.results / f"{job.sid}.key").read_text(encoding="utf-8").strip() == job.key:
            return json.loads(job.target.read_text(encoding="utf-8"))
    return None


def prepare(job: Job) -> None:
    """Forget an earlier grading of the submission (a grading that now fails must leave no
    results behind for ``rubric --merge``) and write its metadata for this one."""
    for suffix in (".key", ".json", ".metadata.json", ".html"):
        (job.results / f"{job.sid}{suffix}").unlink(missing_ok=True)
    if job.metadata_path is not None:
        job.metadata_path.write_text(json.dumps(job.metadata), encoding="utf-8")


def finish(job: Job, document: dict) -> None:
    """Keep a successful grading: its results (when graded elsewhere), then its key."""
    if not job.target.is_file():
        results.write_atomic(job.target, document)
    (job.results / f"{job.sid}.key").write_text(job.key + "\n", encoding="utf-8")


# -- running gradings ---------------------------------------------------------------
def pool_here(pool: str | None) -> str | None:
    """The sandbox pool a grading on this machine uses: ``pool`` when we are root, since
    student code must never run as root (nor as the instructor); None otherwise, where
    ``grade`` uses bubblewrap, or warns."""
    return pool if pool and os.geteuid() == 0 else None


def check_sandbox(pool: str) -> None:
    """Start and stop a sandboxed Python as a user of ``pool`` (setup.sh's last check), in
    a fresh process: a one-line GradingError when it cannot, before anything is graded."""
    done = subprocess.run([sys.executable, "-m", "autograder.cli", "check-sandbox",
                           "--sandbox-pool", pool], capture_output=True, text=True,
                          errors="replace", timeout=300, check=False)
    if done.returncode != 0:
        reason = last_line(done.stderr).removeprefix("autograder: error: ")
        raise runner.GradingError(f"as root, grade-batch runs student code as the users of the "
                                  f"sandbox pool {pool!r}, and cannot: {reason} (README.md, "
                                  "'Grading a class', says how to set the pool up)")


def parallel_gradings(jobs: int | None, pool: str | None) -> int:
    """How many gradings run at once here: ``jobs``, else one per core this process may use;
    at most as many as the sandbox pool can serve (a grading leases one user per role)."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    wanted = jobs or cores or 1
    if pool:
        wanted = min(wanted, max(1, len(jail.pool_members(pool)) // len(jail.ROLES)))
    return max(1, wanted)


def grade_locally(todo: list[Job], settings: Settings, workers: int,
                  ) -> Iterator[tuple[Job, Outcome]]:
    """Grade on this machine, ``workers`` at a time; each outcome as it comes. Gradings
    still running when the batch stops (Ctrl-C) are killed."""
    pool = concurrent.futures.ThreadPoolExecutor(max_workers=workers)
    try:
        futures = {pool.submit(grade_folder, settings, job.folder, job.metadata_path,
                               job.target): job for job in todo}
        yield from outcomes(futures, concurrent.futures.as_completed)
    finally:
        pool.shutdown(wait=False, cancel_futures=True)
        RUNNING.kill_all()


def grade_on_dask(executor: str, todo: list[Job], settings: Settings, workers: int,
                  ) -> Iterator[tuple[Job, Outcome]]:
    """Grade on a Dask cluster: ``dask-local`` starts one on this machine (``workers``
    single-threaded workers); ``dask://HOST:PORT`` uses a running scheduler. Each task
    carries the submission's files, so the workers need no shared folder, only the same
    checkout of the toolkit (checked: see :func:`grade_shipped`)."""
    try:
        from dask.distributed import Client, LocalCluster, as_completed
    except ImportError:
        raise config.ConfigError("--executor dask needs dask[distributed]: pip install "
                                 "'autograder[instructor]'") from None
    with contextlib.ExitStack() as stack:
        if executor == "dask-local":
            cluster = stack.enter_context(LocalCluster(
                n_workers=workers, threads_per_worker=1, host="127.0.0.1", dashboard_address=None))
            client = stack.enter_context(Client(cluster))
        else:
            address = "tcp://" + executor.removeprefix("dask://")
            try:
                client = stack.enter_context(Client(address, timeout=DASK_CONNECT_TIMEOUT))
            except OSError as exc:
                raise config.ConfigError(f"--executor: no Dask scheduler at {address}: {exc}") \
                    from None
        futures = {client.submit(grade_shipped, settings, files_of(job.folder), job.metadata,
                                 pure=False): job for job in todo}
        yield from outcomes(futures, as_completed)


def outcomes(futures: dict[Any, Job], as_completed: Callable[[Iterable[Any]], Iterable[Any]],
             ) -> Iterator[tuple[Job, Outcome]]:
    """Each job with its outcome, as its future completes; a future that failed (a lost
    Dask worker) is that submission's error, never the batch's."""
    for future in as_completed(futures):
        try:
            outcome = future.result()
        except Exception as exc:  # whatever went wrong, it is this submission's row's
            outcome = f"the grading could not run: {type(exc).__name__}: {exc}"
        yield futures[future], outcome


def grade_shipped(settings: Settings, files: dict[str, bytes], metadata: dict | None) -> Outcome:
    """Grade a submission sent as its files (on a Dask worker), in a scratch folder; refuse
    when this worker's grader is not the instructor's."""
    if grader_version(settings.assignment) != settings.grader:
        return ("this Dask worker runs another version of the grader than grade-batch's "
                "(install the same checkout on every worker)")
    with tempfile.TemporaryDirectory(prefix="grade-batch-") as tmp:
        folder = Path(tmp) / "submission"
        for name, data in files.items():
            (folder / name).parent.mkdir(parents=True, exist_ok=True)
            (folder / name).write_bytes(data)
        meta_path = None
        if metadata is not None:
            meta_path = Path(tmp) / "metadata.json"
            meta_path.write_text(json.dumps(metadata), encoding="utf-8")
        return grade_folder(settings, folder, meta_path, Path(tmp) / "results.json")


def grade_folder(settings: Settings, folder: Path, metadata_path: Path | None,
                 target: Path) -> Outcome:
    """Grade one folder in a fresh ``autograder grade`` process (killed, with everything
    it started, past the timeout); the results document, or why it could not be graded."""
    command = [sys.executable, "-m", "autograder.cli", "grade", settings.assignment,
               str(folder), "--out", str(target), "--quiet"]
    if metadata_path is not None:
        command += ["--metadata", str(metadata_path)]
    if pool_here(settings.pool):
        command += ["--sandbox-pool", settings.pool]
    code, stderr = run_killable(command, settings.timeout)
    if code is None:
        return (f"grading took longer than {settings.timeout:g} s; it was stopped, with every "
                "process it started")
    if code < 0:
        name = signal.Signals(-code).name
        return (f"the grading process was killed by {name}"
                + (" (out of memory?)" if -code == signal.SIGKILL else ""))
    if code != 0 or not target.is_file():
        return last_line(stderr)
    return json.loads(target.read_text(encoding="utf-8"))


def last_line(text: str) -> str:
    """The last line of a process's output that says something."""
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return lines[-1] if lines else "no output"


class Running:
    """The grading processes running now, so that a stopped batch can kill them all."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.processes: set[subprocess.Popen] = set()

    def add(self, process: subprocess.Popen) -> None:
        with self.lock:
            self.processes.add(process)

    def discard(self, process: subprocess.Popen) -> None:
        with self.lock:
            self.processes.discard(process)

    def kill_all(self) -> None:
        with self.lock:
            running = list(self.processes)
        for process in running:
            kill_session(process)


RUNNING = Running()


def run_killable(command: list[str], timeout: float) -> tuple[int | None, str]:
    """Run ``command`` in a session of its own: (its exit status, what it wrote to stderr).
    The status is None when it ran past ``timeout`` seconds: then it is killed with every
    process below it. When it ends by itself, what it left in its process group is killed
    (``autograder grade`` ends what left the group itself: its jail kills every process
    of its pool users). stderr goes to a file, so that a process left holding a pipe
    cannot keep the batch waiting."""
    with tempfile.TemporaryFile("w+", encoding="utf-8", errors="replace") as err:
        process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                   stderr=err, start_new_session=True)
        RUNNING.add(process)
        try:
            code: int | None = process.wait(timeout)
        except subprocess.TimeoutExpired:
            code = None
        finally:
            kill_session(process)
            RUNNING.discard(process)
        err.seek(0)
        return code, err.read()


def kill_session(process: subprocess.Popen, rounds: int = 20) -> None:
    """SIGKILL ``process``, its process group (its session: it started one) and every process
    below it, also those that left the group (``setsid``), then reap it. The processes below
    are listed before anything is killed: once their parent dies, they leave the tree."""
    below = jail.descendants(process.pid)
    for attempt in range(rounds):
        group_alive = True
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except ProcessLookupError:
            group_alive = False
        except PermissionError:
            pass
        alive = {pid for pid, _, _ in jail.processes()}
        for pid in below:
            if pid in alive:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.kill(pid, signal.SIGKILL)
        below = [pid for pid in below if pid in alive]
        if not group_alive and not below:
            break
        time.sleep(min(0.001 * 2**attempt, 0.05))
        process.poll()  # reaped, the leader leaves the group, which ends with its last member
    process.wait()


def progress(items: Iterator[T], total: int, title: str, unit: str = "submission",
             ) -> Iterable[T]:
    """``items`` with a progress bar on stderr (tqdm, from the ``[instructor]`` extra), or
    a line per item where tqdm is not installed."""
    try:
        from tqdm import tqdm
    except ImportError:
        return _progress_lines(items, total)
    return tqdm(items, total=total, desc=title, unit=unit, file=sys.stderr)


def _progress_lines(items: Iterator[T], total: int) -> Iterator[T]:
    for done, item in enumerate(items, start=1):
        print(f"graded {done} of {total}", file=sys.stderr, flush=True)
        yield item


# -- grades.csv -----------------------------------------------------------------------
def grade_rows(sid: str, graded: Outcome, metadata: dict | None) -> list[dict[str, Any]]:
    """The lines of grades.csv for one submission: one per submitter (each member of a
    group gets one, with the same scores), or one without a name when the submitters are
    unknown. The score is results.json's top-level score (Gradescope's: for an assignment
    with hand-graded parts it may be below 0, so that they pay the late penalty too); the
    final grade is every point earned less the penalty, never below 0, as ``rubric --merge``
    computes it (with no hand-graded points). The deadline is the one that applied, and where
    it came from (``deadline_source``: extension, extensions file, gradescope or
    assignment.yaml)."""
    if isinstance(graded, str):
        row: dict[str, Any] = {"score": "", "final": "", "late_days": "", "late_penalty": "",
                               "deadline": "", "deadline_source": "", "error": graded}
    else:
        late = graded.get("extra_data", {}).get("late", {})
        final = late_policy.final_score(results.earned(graded), late.get("penalty", 0.0))
        row = {"score": graded["score"], "final": round(final, 4), "late_days": late.get("days", ""),
               "late_penalty": late.get("penalty", ""), "deadline": late.get("deadline", ""),
               "deadline_source": late.get("deadline_source", ""), "error": ""}
        row |= {tag: round(score, 4) for tag, (score, _) in results.scores_by_tag(graded).items()}
    users = [u if isinstance(u, dict) else {} for u in (metadata or {}).get("users") or [{}]]
    return [{"submission": sid, "student": str(user.get("name", "")),
             "email": str(user.get("email", "")), **row} for user in users]
