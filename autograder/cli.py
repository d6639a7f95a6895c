"""The ``autograder`` command. Each subcommand is a thin layer over one module.

Everything it prints goes through :func:`say`, so no text from a submission (a
file name, an error message) can drive the terminal or fail to encode."""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import signal
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TextIO

from autograder import config, late_policy, locate, results, runner, sanitize
from autograder.sandbox.broker import SandboxError
from autograder.sandbox.jail import DEFAULT_POOL, JailError
from autograder.sandbox.limits import SUBMISSION_TIMEOUT
from autograder.words import count


def say(text: object, file: TextIO | None = None) -> None:
    """Print ``text`` (to stdout by default) with control characters and invalid
    Unicode made visible and harmless."""
    print(sanitize.clean(text), file=file)


def cmd_grade(args: argparse.Namespace) -> int:
    """Grade one submission (a folder, or a zip as uploaded to Gradescope) and write
    results.json."""
    assignment = config.load(args.assignment)
    metadata = runner.read_metadata(args.metadata)
    with locate.submission_folder(Path(args.submission)) as folder:
        document = runner.grade(assignment, folder, metadata, pool=args.sandbox_pool)
    results.write_atomic(Path(args.out), document)
    if not args.quiet:
        say(results.table(document, f"{assignment.title}: {args.submission}", full=args.full))
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    """Grade the reference solution and a sample buggy submission, and print both."""
    from autograder import demo

    return demo.run(Path(args.out), full=args.full)


def cmd_audit(args: argparse.Namespace) -> int:
    """Grade mutants of the reference and correct variants: are the tests strong and fair?"""
    from autograder import audit, audit_report

    assignment = config.load(args.assignment)
    report = audit.run(assignment, args.jobs, generated=not args.hand_written_only)
    for line in audit_report.text(report):
        say(line)
    for path in audit.write(report, Path(args.out)):
        say(f"wrote {path}")
    return 1 if report["problems"] else 0


def cmd_stubs(args: argparse.Namespace) -> int:
    """Regenerate student_template/ (and the frozen public vectors) from solutions/."""
    from autograder import stubs

    for path in stubs.write_template(config.load(args.assignment)):
        say(f"wrote {path}")
    return 0


def cmd_release(args: argparse.Namespace) -> int:
    """Check the assignment, then build the student zip and the Gradescope autograder zip."""
    from autograder import packaging, validate

    assignment = config.load(args.assignment)
    report = validate.check(assignment)
    for finding in report.findings:
        say(finding, file=sys.stderr)
    if report.errors:
        raise config.ConfigError(f"{assignment.name}: {report.tally()}, listed above; nothing "
                                 "was built")
    for path in packaging.build_release(assignment, Path(args.out)):
        say(f"built {path}")
    return 0


def cmd_check(args: argparse.Namespace) -> int:
    """Say what a graded name is missing (solution, stub, frozen vector, tests), and check
    that the tests grade exactly the names in points and the declared total."""
    from autograder import validate

    report = validate.check(config.load(args.assignment))
    for finding in report.findings:
        say(finding)
    if report.errors:
        say(f"autograder: error: {args.assignment}: {report.tally()}, listed above",
            file=sys.stderr)
        return 1
    say(f"ok: {report.summary}")
    return 0


def cmd_new(args: argparse.Namespace) -> int:
    """Scaffold a working assignment (solution, points, vectors, tests, stubs) in the
    toolkit's home, to edit into your own."""
    from autograder import scaffold

    for path in scaffold.create(args.name, args.title):
        say(f"wrote {path}")
    say(f"next: edit solutions/{args.name}/ and assignments/{args.name}/, run `autograder stubs "
        f"{args.name}`, and `autograder check {args.name}` says what is missing")
    return 0


def cmd_grade_batch(args: argparse.Namespace) -> int:
    """Grade every submission of a folder or a Gradescope export zip."""
    from autograder import batch  # the class report and the batch: this command only

    out = Path(args.out)
    rows = batch.grade_all(config.load(args.assignment), Path(args.submissions), out,
                           jobs=args.jobs, executor=args.executor, timeout=args.timeout,
                           pool=args.sandbox_pool,
                           extended=Path(args.extensions) if args.extensions else None)
    say(f"wrote {out / 'grades.csv'} and {out / 'report.html'}")
    failed = [row["submission"] for row in rows if row["error"]]
    if failed:
        say(f"autograder: error: {len(failed)} of {len(rows)} submissions could not be graded "
            f"(the error column of grades.csv says why): {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


def cmd_rubric(args: argparse.Namespace) -> int:
    """Print the rubric, or merge manual scores into final grades."""
    from autograder import rubric

    assignment = config.load(args.assignment)
    if not args.merge:
        if args.results_dir or args.out:
            raise config.ConfigError("--results-dir and --out go with --merge")
        say(rubric.render(assignment, args.format))
        return 0
    if not args.results_dir:
        raise config.ConfigError("--merge needs --results-dir, the --out folder of grade-batch")
    out = Path(args.out or "final_grades.csv")
    problems = rubric.merge(assignment, Path(args.merge), Path(args.results_dir), out)
    if problems:
        for problem in problems:
            say(problem, file=sys.stderr)
        say(f"autograder: error: the merge had {count(len(problems), 'problem')}, listed above; {out} "
            "holds only what merged cleanly", file=sys.stderr)
        return 1
    say(f"wrote {out}")
    return 0


def cmd_fallback(args: argparse.Namespace) -> int:
    """Write a results.json that says grading failed (run_autograder's last resort)."""
    document = results.build([results.Row("Autograder", 0.0, 0.0, ["autograder"],
                                          output=args.reason, status="failed")], None,
                             "The autograder could not grade this submission: "
                             f"{args.reason}. Please tell your instructor.")
    results.write_atomic(Path(args.out), document)
    return 0


def cmd_check_sandbox(args: argparse.Namespace) -> int:
    """Start a sandboxed Python and stop it (setup.sh's last check)."""
    from autograder.sandbox import broker

    broker.check_start(args.sandbox_pool)
    say("ok: the sandbox starts Python")
    return 0


FULL_HELP = ("print every failed test's whole message (the call, expected and got, the classic "
             "mistake), line by line, not its first words")
DESCRIPTION = """Grade the course's assignments: one submission, or a whole class with the late
policy; check an assignment and build its student and Gradescope zips; merge the rubric's
hand-graded scores into final grades."""
EPILOG = """Run 'autograder COMMAND --help' for the options of a command. Exit status: 0 when
the command did what it said; 1 when it did, but lists problems (check: what an assignment
is missing; grade-batch: submissions that could not be graded; rubric --merge: rows that
could not be merged; audit: thresholds of assignment.yaml not met); 2, with a one-line
error, when it could not; 141, quietly, when the reader of its output went away (| head)."""


def version() -> str:
    """The toolkit's version (the Gradescope zip runs it from source, not installed)."""
    from importlib import metadata  # only for --version: finding it costs every run 40 ms

    try:
        return metadata.version("autograder")
    except metadata.PackageNotFoundError:
        return "unknown (not installed)"


class Version(argparse.Action):
    """``--version``: prints the version, looked up only when asked for."""

    def __init__(self, option_strings: list[str], dest: str = argparse.SUPPRESS,
                 default: str = argparse.SUPPRESS, help: str = "show the version and exit") -> None:
        super().__init__(option_strings, dest, nargs=0, default=default, help=help)

    def __call__(self, parser: argparse.ArgumentParser, *args: object) -> None:
        print(f"{parser.prog} {version()}")
        parser.exit()


def build_parser() -> argparse.ArgumentParser:
    """The command line: the user's commands, and two that only the Gradescope scripts run
    (``fallback``, ``check-sandbox``), which the help does not list."""
    parser = argparse.ArgumentParser(prog="autograder", description=DESCRIPTION, epilog=EPILOG)
    parser.add_argument("--version", action=Version)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND",
                                title="commands")
    names = ", ".join(config.assignment_names()) or f"none in {config.home()}"

    def command(name: str, func: Callable[[argparse.Namespace], int],
                assignment: bool = True) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=func.__doc__, description=func.__doc__)
        if assignment:
            p.add_argument("assignment", metavar="ASSIGNMENT", help=f"the assignment: {names}")
        p.set_defaults(func=func)
        return p

    p = command("demo", cmd_demo, assignment=False)
    p.add_argument("--out", default="demo-results", metavar="DIR",
                   help="folder for the two results.json files (default: %(default)s)")
    p.add_argument("--full", action="store_true", help=FULL_HELP)

    p = command("grade", cmd_grade)
    p.add_argument("submission", metavar="SUBMISSION",
                   help="the folder of the submission's files, or a zip of them, unpacked as "
                        "Gradescope does (nested folders and renamed files are found)")
    p.add_argument("--metadata", metavar="JSON",
                   help="Gradescope's submission_metadata.json, for the late penalty (default: "
                        "none, no penalty)")
    p.add_argument("--out", default="results.json", metavar="JSON",
                   help="where to write results.json (default: %(default)s)")
    p.add_argument("--sandbox-pool", metavar="PREFIX",
                   help="as root: run student code as users PREFIX0, PREFIX1, ... (one per "
                        "concurrent run; setup.sh creates them)")
    p.add_argument("--quiet", action="store_true", help="do not print the table")
    p.add_argument("--full", action="store_true", help=FULL_HELP)

    p = command("grade-batch", cmd_grade_batch)
    p.add_argument("submissions", metavar="SUBMISSIONS",
                   help="a folder of submission folders, or a Gradescope export zip")
    p.add_argument("--out", required=True, metavar="DIR",
                   help="folder for the results, grades.csv and report.html")
    p.add_argument("--jobs", type=int, metavar="N",
                   help="submissions graded at once (default: one per core; as root, at most "
                        "half the sandbox pool's users)")
    p.add_argument("--timeout", type=float, default=SUBMISSION_TIMEOUT,
                   metavar="SECONDS",
                   help="a grading still running after this long is killed, with every process "
                        "it started, and its row is an error (default: %(default)g)")
    p.add_argument("--executor", default="local", metavar="WHERE",
                   help="local (this machine), dask-local (a Dask cluster on this machine) or "
                        "dask://HOST:PORT (a running Dask scheduler; every worker needs the same "
                        "checkout of the toolkit) (default: %(default)s)")
    p.add_argument("--sandbox-pool", metavar="PREFIX",
                   help="as root, student code runs as users PREFIX0, PREFIX1, ... (checked "
                        "before grading, and required when given; setup.sh's way to create "
                        "them is in README.md); an empty PREFIX gives up the pool: bubblewrap "
                        f"alone, with a warning (default: {DEFAULT_POOL} where it works, "
                        "else bubblewrap alone, with a warning)")
    p.add_argument("--extensions", metavar="CSV",
                   help="students' own deadlines: a CSV with a column email or sid, and due (e.g. "
                        "'2026-03-02 23:59 America/New_York', or ISO 8601 with its offset) or "
                        "days (extra days); Gradescope's own per-student due dates win")

    command("check", cmd_check)

    p = command("audit", cmd_audit)
    p.add_argument("--out", default="audit", metavar="DIR",
                   help="folder for audit.json and audit.html (default: %(default)s)")
    p.add_argument("--jobs", type=int, metavar="N",
                   help="gradings at once (default: one per core)")
    p.add_argument("--hand-written-only", action="store_true",
                   help="grade only the hand-written mutants (mistakes.yaml, mutants.yaml) and "
                        "the correct variants (variants/ and the freedoms of assignment.yaml), "
                        "no generated mutants")

    p = command("release", cmd_release)
    p.add_argument("--out", default="dist", metavar="DIR",
                   help="folder for the two zips (default: %(default)s)")

    command("stubs", cmd_stubs)

    p = command("new", cmd_new, assignment=False)
    p.add_argument("name", metavar="NAME",
                   help="the new assignment's name, also its module's (lowercase, e.g. hw3); "
                        f"written under {config.HOME} (set AUTOGRADER_HOME to choose)")
    p.add_argument("--title", help="its title for students and Gradescope (default: NAME)")

    p = command("rubric", cmd_rubric)
    p.add_argument("--format", choices=["text", "csv"], default="text",
                   help="text for Gradescope's rubric editor, or csv (default: %(default)s)")
    p.add_argument("--merge", metavar="CSV",
                   help="merge these manual scores (the format is in README.md) into final grades")
    p.add_argument("--results-dir", metavar="DIR",
                   help="with --merge: the graded results (the --out folder of grade-batch)")
    p.add_argument("--out", metavar="CSV",
                   help="with --merge: the final grades (default: final_grades.csv)")

    p = sub.add_parser("fallback")  # run_autograder's last resort: no help, not listed
    p.add_argument("--out", required=True)
    p.add_argument("--reason", required=True)
    p.set_defaults(func=cmd_fallback)

    p = sub.add_parser("check-sandbox")  # setup.sh's last check: no help, not listed
    p.add_argument("--sandbox-pool", metavar="PREFIX")
    p.set_defaults(func=cmd_check_sandbox)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the command line; a toolkit error is one line on stderr and exit status 2. When
    the reader of our output goes away (``autograder rubric song_contest | head``), the
    command stops quietly, with the status of a process that SIGPIPE ended."""
    for stream in (sys.stdout, sys.stderr):
        if isinstance(stream, io.TextIOWrapper):  # a terminal that cannot show ✗ or é
            stream.reconfigure(errors="backslashreplace")
    try:
        try:
            return run(build_parser().parse_args(argv))
        finally:  # (--help and --version too) a closed pipe shows here, not at Python's exit
            sys.stdout.flush()
    except BrokenPipeError:
        silence_output()
        return 128 + signal.SIGPIPE


def run(args: argparse.Namespace) -> int:
    """Run the command ``args`` names; a toolkit error is one line and exit status 2."""
    try:
        return args.func(args)
    except (config.ConfigError, late_policy.MetadataError, runner.GradingError,
            JailError, SandboxError) as exc:
        say(f"autograder: error: {exc}", file=sys.stderr)
        return 2


def silence_output() -> None:
    """Send what is still to be written to stdout and stderr to /dev/null: their reader is
    gone, and Python would otherwise complain as it flushes them on exit."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):
            os.dup2(devnull, stream.fileno())
    os.close(devnull)


if __name__ == "__main__":
    sys.exit(main())
