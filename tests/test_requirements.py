"""The grading environment is pinned: autograder/requirements.in says what the toolkit
needs (pyproject.toml reads it), autograder/requirements.lock pins it with everything it
pulls in, and the release zips install exactly that lock."""

import importlib.metadata as metadata
import zipfile

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from autograder import config, packaging

PACKAGE = packaging.PACKAGE
# Gradescope's image and the machines students and CI use.
ENVIRONMENTS = [{"python_version": v, "python_full_version": f"{v}.0", "sys_platform": p,
                 "platform_system": s, "extra": ""}
                for v in ("3.10", "3.11", "3.12") for p, s in (("linux", "Linux"), ("win32", "Windows"))]


def read(name: str) -> list[Requirement]:
    lines = (PACKAGE / name).read_text(encoding="utf-8").splitlines()
    return [Requirement(line) for line in lines if line.strip() and not line.startswith("#")]


LOCK = read("requirements.lock")
PINS = {canonicalize_name(r.name): r for r in LOCK}


def pinned_version(requirement: Requirement) -> str:
    (spec,) = requirement.specifier
    assert spec.operator == "==", f"{requirement} is not pinned exactly"
    return spec.version


def test_every_requirement_is_pinned_exactly_once_within_its_range():
    assert len(PINS) == len(LOCK), "a package is pinned twice"
    for requirement in read("requirements.in"):
        pin = PINS.get(canonicalize_name(requirement.name))
        assert pin is not None and pin.marker is None, f"{requirement.name} is not pinned for all"
        assert requirement.specifier.contains(pinned_version(pin)), f"{pin} is outside {requirement}"


def test_whatever_a_pinned_package_needs_is_pinned_too():
    """Read from the installed packages' metadata, for each Python and platform above
    (a package that only an older Python needs is not installed here)."""
    for name, pin in PINS.items():
        try:
            requires = metadata.requires(name) or []
        except metadata.PackageNotFoundError:
            assert pin.marker is not None, f"{name} is pinned for every Python but not installed"
            continue
        for line in requires:
            needed = Requirement(line)
            for environment in ENVIRONMENTS:
                if needed.marker is not None and not needed.marker.evaluate(environment):
                    continue
                if pin.marker is not None and not pin.marker.evaluate(environment):
                    continue
                other = PINS.get(canonicalize_name(needed.name))
                assert other is not None, f"{name} needs {needed}, which is not pinned"
                assert other.marker is None or other.marker.evaluate(environment), \
                    f"{name} needs {needed} where its pin does not apply: {environment}"
                assert needed.specifier.contains(pinned_version(other), prereleases=True), \
                    f"{name} needs {needed}, but {other} is pinned"


def test_this_venv_runs_the_pinned_versions():
    """The toolkit's own tests run with what Gradescope installs (`make` installs the venv
    with the lock as constraints)."""
    wrong = [f"{name}: installed {metadata.version(name)}, pinned {pinned_version(pin)}"
             for name, pin in PINS.items() if (pin.marker is None or pin.marker.evaluate())
             and metadata.version(name) != pinned_version(pin)]
    assert not wrong, "rebuild the venv (make clean test): " + "; ".join(wrong)


@pytest.mark.parametrize("name", config.assignment_names())
def test_both_zips_install_the_lock(tmp_path, name):
    lock = (PACKAGE / "requirements.lock").read_bytes()
    assignment = config.load(name)
    student_zip, gradescope_zip = packaging.build_release(assignment, tmp_path)
    for path, expected in ((gradescope_zip, lock),
                           (student_zip, packaging.student_requirements(assignment))):
        with zipfile.ZipFile(path) as archive:
            requirements = [n for n in archive.namelist() if n.endswith("requirements.txt")]
            assert [archive.read(n) for n in requirements] == [expected], path.name
    if assignment.kind == "programming":
        assert packaging.student_requirements(assignment) == lock
    else:  # the essay's copy: the lock's own lines, without the programming tests' libraries
        kept = packaging.student_requirements(assignment).decode().splitlines()
        assert set(kept) < set(lock.decode().splitlines())
        assert not [line for line in kept if line.startswith(("numpy", "hypothesis"))]


def test_setup_installs_python_without_recommended_packages():
    setup = (packaging.TEMPLATES / "setup.sh").read_text(encoding="utf-8")
    installs = [line for line in setup.splitlines() if "apt-get install" in line]
    assert installs and all("--no-install-recommends" in line for line in installs)
    assert not [line for line in installs if "python3-pip" in line or "python3-dev" in line]
