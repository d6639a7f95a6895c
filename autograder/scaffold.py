"""``autograder new NAME``: scaffold a working programming assignment in the toolkit's
home (``AUTOGRADER_HOME``, else the folder that holds the ``autograder`` package).

The files come from ``templates/new/``, a tree laid out as the home is (``assignments/``,
``solutions/``) with ``@NAME@`` in paths and texts; a ``.in`` suffix keeps a template out
of the linters. The example is a module ``NAME.py`` with a function and a class (whose
method is not ``step``): its solution, points, frozen vectors, one classic mistake, public
and hidden tests. Then the student template and the frozen vectors are generated as by
``autograder stubs``, so that ``autograder check NAME`` passes at once, the reference
scores full marks and the stubs 0.
"""

from __future__ import annotations

import datetime as dt
import importlib.util
import json
import keyword
import re
from pathlib import Path

from autograder import config, stubs

TEMPLATE = Path(__file__).resolve().parent / "templates" / "new"
PARTS = ("assignments", "solutions", "student_template")  # what a home holds per assignment


def check_name(name: str) -> None:
    """A new assignment's name is also its module's: a lowercase Python identifier that
    shadows no importable module and is not taken in the home (ConfigError otherwise)."""
    if not re.fullmatch(r"[a-z][a-z0-9_]*", name) or keyword.iskeyword(name):
        raise config.ConfigError(f"{name!r} is not a valid name: use lowercase letters, digits "
                                 "and _, starting with a letter (it also names the module)")
    if importlib.util.find_spec(name) is not None:
        raise config.ConfigError(f"{name!r} would shadow the Python module {name!r} that "
                                 "students' code and the tests import; choose another name")
    taken = [f"{part}/{name}" for part in PARTS if (config.HOME / part / name).exists()]
    if taken:
        raise config.ConfigError(f"{', '.join(taken)} already exists in {config.HOME}")


def create(name: str, title: str | None = None) -> list[Path]:
    """Write the new assignment ``name`` into the home and generate its student template
    and frozen vectors; return every path written."""
    check_name(name)
    due = dt.date.today() + dt.timedelta(days=14)
    values = {"@NAME@": name, "@TITLE@": json.dumps(title or name),  # JSON is valid YAML
              "@DUE@": f"{due.isoformat()} 23:59"}
    written = []
    for source in sorted(p for p in TEMPLATE.rglob("*") if p.is_file()):
        relative = source.relative_to(TEMPLATE).as_posix().replace("@NAME@", name)
        target = config.HOME / relative.removesuffix(".in")
        text = source.read_text(encoding="utf-8")
        for key, value in values.items():
            text = text.replace(key, value)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
        written.append(target)
    return written + stubs.write_template(config.load(name))
