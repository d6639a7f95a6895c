"""``autograder audit``: are an assignment's tests strong enough, and fair?

The audit grades submissions made from the reference solution against the
assignment's own tests, in the real sandbox, and reports per contract name:

- **mutation score**: mutants generated from the reference's syntax tree
  (:mod:`autograder.mutate`) that the tests kill. A survivor whose answers match the
  reference's on every call the tests made is searched again, deeper, on its own names
  (:func:`plan_deeper`): it is *equivalent* only when no test fails it and it still
  answers as the reference does;
- **collateral**: a mutant that costs points outside its own name breaks "one bug
  costs once";
- **false failures**: correct variants (``variants/``, and those made from the freedoms
  of the contract, :mod:`autograder.freedoms`) and the reference itself must keep full
  marks; a test that a freedom's variant fails depends on the reference's random draws;
- **determinism**: the reference graded twice gives byte-identical results.

The hand-written mutants (``mistakes.yaml``, ``mutants.yaml``) are graded like
the generated ones, in full (their messages are kept: a classic mistake must be
named). A mutant is graded on the tests of its own name and of the names that
called it when the reference was graded (the others are the reference's, and
cannot change): that keeps a mutant to a second or two.
"""

from __future__ import annotations

import ast
import dataclasses
import functools
import json
import multiprocessing
import os
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import Future, ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from autograder import config, freedoms, mistakes, mutate, runner, scoring, spans, variants
from autograder.locate import locate
from autograder.plugin import GradingSession


@dataclass
class Job:
    """One grading of the audit: a submission (file name -> contents) and what to run."""

    kind: str  # reference, variant, freedom, hand-written, generated, deeper (reference)
    id: str
    files: dict[str, bytes]
    target: str | None = None  # a mutant's contract name (None: outside every name)
    module: str | None = None  # a mutant's module
    description: str = ""
    diff: str = ""
    only: set[str] | None = None  # the names whose tests run (None: all)
    verdicts: bool = False  # only pass or fail matters: no shrinking, stop at a failure
    deeper: bool = False  # the deeper search of a survivor (plugin.searched_deeper)


@dataclass
class Graded:
    """What one grading found."""

    lost: dict[str, float] = field(default_factory=dict)  # name -> points lost
    failed: dict[str, str] = field(default_factory=dict)  # name -> its first failure
    failed_tests: dict[str, list[str]] = field(default_factory=dict)  # name -> tests failed
    examples: dict[str, int] = field(default_factory=dict)  # name -> examples searched deeper
    named: list[str] = field(default_factory=list)  # classic mistakes the messages name
    digests: dict[str, str] = field(default_factory=dict)  # name -> hash of its answers
    reached: dict[str, list[str]] = field(default_factory=dict)  # name -> names it called
    document: str = ""  # results.json (the determinism runs)
    error: str = ""  # the grading itself failed


def grade_job(name: str, job: Job) -> Graded:
    """Grade one job in this process (an audit worker)."""
    assignment = config.load(name)
    with tempfile.TemporaryDirectory(prefix="autograder-audit-") as tmp:
        folder = Path(tmp)
        for file, data in job.files.items():
            (folder / file).write_bytes(data)
        try:
            document = ""
            if job.kind == "reference":  # the real grading, whose results.json must not vary
                whole, session = runner.grade_in_session(assignment, folder, digest=True)
                whole.pop("execution_time")
                document = json.dumps(whole, sort_keys=True)
            else:
                session = runner.run_session(GradingSession(
                    assignment, locate(folder, assignment.files, assignment.contract),
                    reference=True, only=job.only, verdicts=job.verdicts, deeper=job.deeper,
                    digest=True))
        except runner.GradingError as exc:
            return Graded(error=str(exc))
    outcomes = list(session.outcomes.values())
    graded = Graded(digests={k: v.hexdigest() for k, v in session.sandbox.digests.items()},
                    reached={k: sorted(v) for k, v in session.sandbox.reached.items()},
                    document=document)
    for part in scoring.group_points(assignment.points, assignment.visibility, outcomes):
        if part.earned < part.share:
            graded.lost[part.target] = round(graded.lost.get(part.target, 0.0)
                                             + float(part.share - part.earned), 2)
    named = set()
    for outcome in outcomes:
        if job.deeper:
            graded.examples[outcome.target] = graded.examples.get(outcome.target, 0) \
                + outcome.examples
        if outcome.ran and not outcome.passed:
            graded.failed.setdefault(outcome.target, f"{outcome.title}: {outcome.message}")
            graded.failed_tests.setdefault(outcome.target, []).append(outcome.nodeid)
            named |= set(outcome.named)
    graded.named = sorted(named)
    return graded


def plan_first(assignment: config.Assignment) -> list[Job]:
    """The reference, graded in full and traced, twice at once: what each name called, the
    digests of its answers (a name whose answers change cannot judge a generated mutant
    equivalent), and its results.json (which must not change)."""
    reference = reference_files(assignment)
    return [Job("reference", "traced", reference), Job("reference", "traced again", reference)]


def plan_rest(assignment: config.Assignment, reached: dict[str, list[str]],
              generated: bool = True) -> list[Job]:
    """Each correct variant (of ``variants/``, and of the freedoms of assignment.yaml), the
    hand-written mutants and (with ``generated``) the generated ones. Each is graded on the
    names it changes, and on the names that called them in the traced grading of the
    reference.

    The reference's whole gradings (:func:`plan_first`) come before these: a worker imports
    the tests once, at its first job, and a test's own ``@settings`` keep the profile of
    that import (a generated mutant's job may then shrink a failing example it needs no
    smaller: the same verdict)."""
    reference = reference_files(assignment)
    jobs = []
    for name, files in variants.load(assignment).items():
        files = reference | files
        changed = {Path(f).stem for f, data in files.items() if data != reference[f]}
        only = set().union(*(affected(assignment, None, m, reached, files) for m in changed))
        jobs.append(Job("variant", name, files, only=only or None))
    for freedom in freedoms.generate(assignment):
        files = reference | {f"{freedom.module}.py": freedom.text.encode()}
        jobs.append(Job("freedom", freedom.id, files, freedom.target, freedom.module,
                        freedom.description, spans.unified_diff(
                            freedom.module, reference[f"{freedom.module}.py"].decode(),
                            freedom.text),
                        affected(assignment, freedom.target, freedom.module, reached, files)))
    for mistake in mistakes.hand_written(assignment):
        module = mistake.target.split(".", 1)[0]
        files = reference | {f: text.encode() for f, text in
                             mistakes.edited_files(assignment, mistake).items()}
        jobs.append(Job("hand-written", mistake.id, files, mistake.target, module, mistake.says,
                        only=affected(assignment, mistake.target, module, reached, files)))
    if generated:
        sources = {Path(f).stem: reference[f].decode() for f in assignment.files}
        for mutant in mutate.generate(sources, assignment.contract):
            files = reference | {f"{mutant.module}.py": mutant.source.encode()}
            jobs.append(Job("generated", mutant.id, files, mutant.target, mutant.module,
                            mutant.description, mutant.diff(sources[mutant.module]),
                            affected(assignment, mutant.target, mutant.module, reached, files),
                            verdicts=True))
    return jobs


def plan_deeper(assignment: config.Assignment, survivors: list[Job]) -> list[Job]:
    """The deeper search (``plugin.searched_deeper``) of each generated survivor whose
    answers matched the reference's, on its own names only; and of the reference on the
    same names, once per set of names: the answers to compare with, and the tests that fail
    even the reference when searched deeper (those kill no mutant)."""
    reference = reference_files(assignment)
    jobs, names = [], {}
    for job in survivors:
        own = own_names(assignment, job.target, job.module)
        names[names_id(own)] = own
        jobs.append(dataclasses.replace(job, kind="deeper", only=own, verdicts=False,
                                        deeper=True))
    return [Job("deeper reference", key, reference, only=own, deeper=True)
            for key, own in names.items()] + jobs


def names_id(names: set[str]) -> str:
    """The id of the reference's deeper search of ``names``."""
    return ", ".join(sorted(names))


def own_names(assignment: config.Assignment, target: str | None, module: str,
              files: dict[str, bytes] | None = None) -> set[str]:
    """The names a mutant may cost: its own, or every name of its module (a change outside
    every name, such as a helper or a constant); for a module with no contract names, every
    name of the files that import it (of every file, when none does)."""
    if target is not None:
        return {target}
    names = {f"{module}.{name}" for name in assignment.contract.get(module, ())}
    if names:
        return names
    files = files or reference_files(assignment)
    users = {Path(f).stem for f, data in files.items() if reaches_into(data, module, frozenset())}
    return {t for t in assignment.points if t.split(".", 1)[0] in users} or set(assignment.points)


def affected(assignment: config.Assignment, target: str | None, module: str,
             reached: dict[str, list[str]], files: dict[str, bytes] | None = None) -> set[str]:
    """The names whose tests can see a change of ``module`` (in ``target``, or outside every
    name): its own names; every name of the files (of the submission ``files``) that can
    run its code past the sandbox's routing (they import more of it than its contract
    names); and, again and again, the names that called any of those when the reference
    was graded (calls between contract names go through the sandbox)."""
    files = files or reference_files(assignment)
    names = own_names(assignment, target, module, files)
    contract = frozenset(assignment.contract.get(module, ()))
    for other, data in files.items():
        if Path(other).stem != module and reaches_into(data, module, contract):
            names |= own_names(assignment, None, Path(other).stem, files)
    while True:
        callers = {name for name, used in reached.items() if names & set(used)}
        if callers <= names:
            return names
        names |= callers


def reference_files(assignment: config.Assignment) -> dict[str, bytes]:
    """The reference's files: file name -> contents."""
    return {f: (assignment.solutions_dir / f).read_bytes() for f in assignment.files}


def run(assignment: config.Assignment, jobs_at_once: int | None = None,
        generated: bool = True) -> dict[str, Any]:
    """Audit ``assignment`` on all cores (or ``jobs_at_once``); the report's data."""
    started = time.monotonic()
    workers = jobs_at_once or os.cpu_count() or 1
    context = multiprocessing.get_context("spawn")  # no pytest or sandbox state inherited
    from autograder import audit_report

    with ProcessPoolExecutor(workers, mp_context=context) as pool:
        first = list(grade_all(pool, assignment, plan_first(assignment), "the reference"))
        traced, again = ({j.id: g for j, g in first}[i] for i in ("traced", "traced again"))
        if traced.error:
            raise runner.GradingError(f"the reference could not be graded: {traced.error}")
        rest = plan_rest(assignment, traced.reached, generated)
        second = list(grade_all(pool, assignment, rest, "mutants and variants"))
        varying = audit_report.answers_vary(traced, again)
        alike = [j for j, g in second
                 if audit_report.answered_alike(assignment, j, g, traced, varying)]
        third = list(grade_all(pool, assignment, plan_deeper(assignment, alike),
                               "the deeper search"))
    return audit_report.summarize(assignment, first + second + third, traced,
                                  time.monotonic() - started, workers)


def grade_all(pool: ProcessPoolExecutor, assignment: config.Assignment, jobs: list[Job],
              title: str) -> Iterator[tuple[Job, Graded]]:
    """Grade ``jobs`` in ``pool``, with a progress bar."""
    from autograder.batch import progress

    futures = {pool.submit(grade_job, assignment.name, job): job for job in jobs}
    done = ((futures[f], outcome(f)) for f in as_completed(futures))
    yield from progress(done, len(jobs), f"audit {assignment.name}: {title}", unit="grading")


def outcome(future: Future) -> Graded:
    """A finished grading's result; an error when its worker failed (it ran out of memory,
    or died)."""
    try:
        return future.result()
    except Exception as exc:  # (BrokenProcessPool, among others)
        return Graded(error=f"the audit's worker failed: {type(exc).__name__}: {exc}")


def write(report: dict[str, Any], out: Path) -> list[Path]:
    """Write ``audit.json`` and ``audit.html`` into ``out``."""
    from autograder import audit_report, results

    out.mkdir(parents=True, exist_ok=True)
    results.write_atomic(out / "audit.json", report)
    html = out / "audit.html"
    html.write_text(audit_report.html(report), encoding="utf-8")
    return [out / "audit.json", html]


@functools.cache  # the audit asks it of the same files for every mutant
def reaches_into(data: bytes, module: str, contract: frozenset[str]) -> bool:
    """Whether the Python source ``data`` imports from ``module`` anything but the names in
    ``contract``: the whole module, ``*``, or another name (what cannot be read counts)."""
    try:
        tree = ast.parse(data)
    except (SyntaxError, ValueError):
        return True
    for node in ast.walk(tree):
        if isinstance(node, ast.Import) and any(a.name.split(".")[0] == module
                                                for a in node.names):
            return True
        if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == module \
                and any(a.name not in contract for a in node.names):
            return True
    return False
