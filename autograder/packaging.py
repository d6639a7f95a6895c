"""Release zips: what students download, and what Gradescope runs.

``<name>-student.zip`` holds the generated stubs, the public tests (with the
frozen public vectors), the assignment file, the toolkit (so ``pytest`` runs the
tests through the same sandbox), a README and a requirements file, and the total
weight of the hidden tests per contract name (so the local report shares points as
Gradescope does); never the reference or the hidden tests themselves.
``<name>-gradescope.zip`` holds ``setup.sh`` and ``run_autograder`` at its root and
everything they need offline after setup. Neither holds what only ``autograder audit``
reads: the hand-written mutants (``mutants.yaml``), correct variants (``variants/``) and
the ``audit`` section of assignment.yaml (which names lines of the reference and says how
it draws random numbers).

Both are byte-reproducible: fixed timestamps, sorted entries, fixed permissions.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import tempfile
import zipfile
from pathlib import Path

import yaml

from autograder import config, plugin, runner

PACKAGE = Path(__file__).resolve().parent
TEMPLATES = PACKAGE / "templates"
EPOCH = (1980, 1, 1, 0, 0, 0)
AUDIT_ONLY = ("mutants.yaml", "variants/")  # of an assignment's folder: never in a zip
SYSTEM_PATH = "/usr/bin:/bin:/usr/sbin:/sbin"  # the system python3 and useradd
LOCAL_ROOTS = Path("/var/lib/autograder-tests")  # as root: where install_locally's layouts go
# Both zips install exactly these versions (requirements.in, which pyproject.toml reads,
# gives the ranges they were chosen in).
REQUIREMENTS = (PACKAGE / "requirements.lock").read_bytes()
# What a written assignment's student copy leaves out of the lock: the programming tests'
# libraries (the written check imports pytest, pyyaml, pysbd, rapidfuzz and tzdata).
PROGRAMMING_ONLY = {"numpy", "hypothesis", "sortedcontainers"}
# The toolkit's plugin prints the report: pytest's own tracebacks and summary stay off.
PYTEST_INI = """[pytest]
testpaths = tests
pythonpath = .
addopts = -p no:cacheprovider --import-mode=importlib --tb=no -rN
"""
CONFTEST = {
    "programming": ('"""Runs the public tests against the files in this folder, in a '
                    'sandbox."""\n\npytest_plugins = ["autograder.plugin"]\n'),
    "written": ('"""Checks the answers in this folder, as the autograder will."""\n\n'
                'pytest_plugins = ["autograder.written_check"]\n'),
}


def _files_under(folder: Path, prefix: str) -> dict[str, bytes]:
    entries = {}
    for path in sorted(folder.rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc":
            entries[f"{prefix}{path.relative_to(folder).as_posix()}"] = path.read_bytes()
    return entries


def toolkit_files(prefix: str = "") -> dict[str, bytes]:
    """The ``autograder`` package itself, without the tree that ``autograder new`` copies
    (an instructor's tool, whose example solution a student copy must not hold)."""
    scaffold = f"{prefix}autograder/templates/new/"
    return {name: data for name, data in _files_under(PACKAGE, f"{prefix}autograder/").items()
            if not name.startswith(scaffold)}


def student_files(assignment: config.Assignment) -> dict[str, bytes]:
    """Every entry of the student zip, name -> bytes."""
    root = f"{assignment.name}/"
    entries = _files_under(assignment.template_dir, root)
    public = assignment.tests_dir / "public"
    if public.is_dir():
        entries |= _files_under(public, f"{root}tests/public/")
    entries |= toolkit_files(root)
    entries[f"{root}assignment.yaml"] = shipped_assignment_file(assignment)
    entries[f"{root}conftest.py"] = CONFTEST[assignment.kind].encode()
    entries[f"{root}pytest.ini"] = PYTEST_INI.encode()
    entries[f"{root}requirements.txt"] = student_requirements(assignment)
    readme = "student_README.md" if assignment.kind == "programming" else "student_README_written.md"
    entries[f"{root}README.md"] = _fill(TEMPLATES / readme, assignment).encode()
    unshipped = sorted(g for g in assignment.visibility if g != "public")
    weights = runner.group_weights(assignment, unshipped)
    if weights:
        entries[f"{root}{plugin.UNSHIPPED_WEIGHTS}"] = json.dumps(weights, indent=1,
                                                                 sort_keys=True).encode()
    return entries


def student_requirements(assignment: config.Assignment) -> bytes:
    """What a student installs: the whole lock for a programming assignment; for a written
    one, the lock without the programming tests' libraries."""
    if assignment.kind == "programming":
        return REQUIREMENTS
    lines = REQUIREMENTS.decode().splitlines(keepends=True)
    return "".join(line for line in lines
                   if re.split(r"[<>=!~ ;\[]", line)[0].lower() not in PROGRAMMING_ONLY).encode()


def gradescope_files(assignment: config.Assignment) -> dict[str, bytes]:
    """Every entry of the Gradescope autograder zip, name -> bytes."""
    entries = {
        "setup.sh": (TEMPLATES / "setup.sh").read_bytes(),
        "run_autograder": _fill(TEMPLATES / "run_autograder", assignment).encode(),
        "requirements.txt": REQUIREMENTS,
    }
    entries |= toolkit_files()
    root = f"assignments/{assignment.name}/"
    entries |= {name: data for name, data in _files_under(assignment.root, root).items()
                if not name.removeprefix(root).startswith(AUDIT_ONLY)}
    entries[f"{root}assignment.yaml"] = shipped_assignment_file(assignment)
    if assignment.solutions_dir.is_dir():
        entries |= _files_under(assignment.solutions_dir, f"solutions/{assignment.name}/")
    return entries


def shipped_assignment_file(assignment: config.Assignment) -> bytes:
    """assignment.yaml as both zips ship it: as written, comments included, but without its
    top-level ``audit`` section and the comment lines just above it. A ConfigError when
    the section cannot be cut out as whole lines (an alias, say)."""
    path = assignment.root / "assignment.yaml"
    text = path.read_text(encoding="utf-8")
    document = yaml.compose(text)
    keys = document.value if isinstance(document, yaml.MappingNode) else []
    found = [(key, value) for key, value in keys if key.value == "audit"]
    if not found:
        return text.encode()
    key, value = found[0]
    while isinstance(value, (yaml.MappingNode, yaml.SequenceNode)) and not value.flow_style:
        value = value.value[-1][1] if isinstance(value, yaml.MappingNode) else value.value[-1]
    # from the key's line to the line of the section's last character
    first, last = key.start_mark.line, value.end_mark.line - (value.end_mark.column == 0)
    lines = text.splitlines(keepends=True)
    while first > 0 and lines[first - 1].startswith("#"):
        first -= 1
    shipped = "".join(lines[:first] + lines[last + 1:]).rstrip("\n") + "\n"
    wanted = config.read_yaml(path)
    del wanted["audit"]
    if yaml.safe_load(shipped) != wanted:
        raise config.ConfigError(f"{path.name}: its audit section cannot be left out of the "
                                 "release zips; write it as a block of its own, with no alias")
    return shipped.encode()


def _fill(template: Path, assignment: config.Assignment) -> str:
    files = ", ".join(f"`{f}`" for f in assignment.files)
    values = {
        "@ASSIGNMENT@": assignment.name, "@TITLE@": assignment.title, "@FILES@": files,
        "@UPLOAD@": files, "@DUE@": assignment.due.strftime("%B %d, %Y at %I:%M %p %Z"),
        "@PER_DAY@": f"{assignment.late_policy.points_per_day:g}",
        "@SENTENCES@": "{} to {}".format(*assignment.sentences),
        "@MANUAL@": f"{assignment.manual_points:g}", "@TOTAL@": f"{assignment.total_points:g}",
    }
    text = template.read_text(encoding="utf-8")
    for key, value in values.items():
        text = text.replace(key, value)
    return text


def write_zip(path: Path, entries: dict[str, bytes]) -> Path:
    """Write ``entries`` as a reproducible zip: sorted, fixed time, fixed permissions."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w") as archive:
        for name in sorted(entries):
            info = zipfile.ZipInfo(name, date_time=EPOCH)
            executable = name.endswith((".sh", "run_autograder"))
            info.external_attr = (0o100755 if executable else 0o100644) << 16
            info.create_system = 3
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, entries[name], compresslevel=9)
    return path


def local_roots() -> Path:
    """The folder of the layouts :func:`install_locally` makes, which only root can write
    above: setup.sh refuses a layout under a world-writable folder such as /tmp (pytest, as
    root, would load a planted conftest.py). Without root, a folder in your own cache."""
    if os.geteuid() == 0:
        parent = LOCAL_ROOTS
        parent.mkdir(parents=True, exist_ok=True)
        os.chmod(parent, 0o755)
    else:
        parent = Path.home() / ".cache" / "autograder-tests"
        parent.mkdir(parents=True, exist_ok=True)
    return parent


def local_root(prefix: str) -> Path:
    """A fresh folder for :func:`install_locally`, in :func:`local_roots`."""
    return Path(tempfile.mkdtemp(prefix=prefix, dir=local_roots()))


def install_locally(assignment: config.Assignment, root: Path) -> Path:
    """Lay out ``root`` as Gradescope's /autograder: the autograder zip unpacked into
    ``source/`` and its setup.sh run with the system python3, as on Gradescope's image.
    Tests and benchmarks run the real ``run_autograder`` there (see :func:`local_root`)."""
    root.mkdir(parents=True, exist_ok=True)
    os.chmod(root, 0o755)  # the sandbox users must be able to reach the venv
    (root / "source").mkdir(exist_ok=True)
    os.chmod(root / "source", 0o700)  # private until setup.sh has locked the secrets away
    # The zip holds the reference and the hidden tests: build it where no one else can
    # read it, and leave no copy behind.
    with tempfile.TemporaryDirectory(prefix="autograder-zip-") as private:
        zip_path = write_zip(Path(private) / f"{assignment.name}-gradescope.zip",
                             gradescope_files(assignment))
        with zipfile.ZipFile(zip_path) as archive:
            archive.extractall(root / "source")
    for script in ("setup.sh", "run_autograder"):
        os.chmod(root / "source" / script, 0o755)  # extractall drops the modes
    done = subprocess.run(["bash", str(root / "source" / "setup.sh")], capture_output=True,
                          text=True, timeout=900,
                          env={"PATH": SYSTEM_PATH, "AUTOGRADER_ROOT": str(root)})
    if done.returncode != 0:
        raise RuntimeError(f"setup.sh failed: {(done.stdout + done.stderr)[-2000:]}")
    return root


def build_release(assignment: config.Assignment, out: Path) -> list[Path]:
    """Build both zips into ``out``; return their paths."""
    return [
        write_zip(out / f"{assignment.name}-student.zip", student_files(assignment)),
        write_zip(out / f"{assignment.name}-gradescope.zip", gradescope_files(assignment)),
    ]
