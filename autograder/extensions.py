"""The instructor's extensions file (``grade-batch --extensions FILE``): a CSV, UTF-8 with a
header line, one row per student with

- a key column: ``email`` (case ignored) or ``sid`` (the student's ID, as in Gradescope's
  roster and export); a row gives one of them;
- ``due`` (that student's own deadline, a date-time with its zone:
  ``2026-03-02 23:59 America/New_York``, or ISO 8601 with a UTC offset) or ``days`` (extra
  days after the assignment's deadline, on its wall clock); a row gives one of them.

Other columns are ignored. Each row becomes the ``extension`` entry of the matching
submitter in their submission's metadata, which the late policy reads
(:func:`autograder.late_policy.student_deadline`: Gradescope's own per-student due date,
where the export carries one, wins). A problem with the file is one :class:`ConfigError`
that names the file and the line.
"""

from __future__ import annotations

import csv
import datetime as dt
import math
import re
import zoneinfo
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from autograder import late_policy
from autograder.config import ConfigError

KEYS = ("email", "sid")
_ZONE = re.compile(r"[A-Za-z][A-Za-z0-9_+\-]*(/[A-Za-z0-9_+\-]+)*")  # America/New_York, UTC


@dataclass(frozen=True)
class Extension:
    """One row of the file: whose (``key`` is ``email`` or ``sid``) and the ``extension``
    entry the late policy reads (``{"due_date": ISO}`` or ``{"days": N}``)."""

    line: int
    key: str
    who: str
    extension: dict[str, Any]

    def matches(self, user: dict[str, Any]) -> bool:
        """Whether ``user`` (a submitter of Gradescope's metadata) is this row's student."""
        theirs = str(user.get(self.key) or "").strip()
        return theirs.lower() == self.who.lower() if self.key == "email" else theirs == self.who


def read(path: Path) -> list[Extension]:
    """The rows of the extensions file at ``path``, each checked."""
    try:
        with open(path, newline="", encoding="utf-8-sig") as f:
            reader = csv.DictReader(f)
            columns = [(c or "").strip().lower() for c in reader.fieldnames or []]
            rows = [(reader.line_num, row) for row in reader]
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise ConfigError(f"{path}: cannot read the extensions: {exc}") from None
    if not {"email", "sid"} & set(columns) or not {"due", "days"} & set(columns):
        raise ConfigError(f"{path.name}: line 1: the columns are 'email' or 'sid', and 'due' or "
                          f"'days' (found: {', '.join(columns) or 'none'})")
    found: list[Extension] = []
    first: dict[tuple[str, str], int] = {}
    for line, row in rows:
        cells = {(k or "").strip().lower(): (v or "").strip() for k, v in row.items()
                 if isinstance(v, str)}
        extension = parse_row(cells, f"{path.name}: line {line}")
        if extension is None:  # a row of empty cells
            continue
        key = next(k for k in KEYS if cells.get(k))
        ident = (key, cells[key].lower() if key == "email" else cells[key])
        if ident in first:
            raise ConfigError(f"{path.name}: line {line}: a second row for {key} "
                              f"'{cells[key]}' (the first is line {first[ident]})")
        first[ident] = line
        found.append(Extension(line, key, cells[key], extension))
    return found


def parse_row(cells: dict[str, str], where: str) -> dict[str, Any] | None:
    """The ``extension`` entry of one row (None when every cell is empty)."""
    if not any(cells.values()):
        return None
    if not any(cells.get(k) for k in KEYS):
        raise ConfigError(f"{where}: no email or sid")
    due, days = cells.get("due", ""), cells.get("days", "")
    if bool(due) == bool(days):
        raise ConfigError(f"{where}: give 'due' or 'days', " + ("not both" if due else "one"))
    if due:
        return {"due_date": parse_due(due, where).isoformat()}
    try:
        number = float(days)
    except ValueError:
        number = math.nan
    if not 0 <= number <= late_policy.MAX_EXTENSION_DAYS:
        raise ConfigError(f"{where}: days: '{days}' is not a number of days from 0 to "
                          f"{late_policy.MAX_EXTENSION_DAYS}")
    return {"days": int(number) if number.is_integer() else number}


def parse_due(text: str, where: str) -> dt.datetime:
    """A deadline as the file gives it: a local date-time and its time zone
    (``2026-03-02 23:59 America/New_York``), or ISO 8601 with a UTC offset."""
    stamp, _, zone = text.rpartition(" ")
    if stamp and _ZONE.fullmatch(zone):
        try:
            tz = zoneinfo.ZoneInfo(zone)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            raise ConfigError(f"{where}: due: unknown time zone '{zone}'") from None
        try:
            local = dt.datetime.fromisoformat(stamp.strip())
        except ValueError:
            local = None
        if local is None or local.tzinfo is not None or ":" not in stamp:
            raise ConfigError(f"{where}: due: '{text}' is not 'YYYY-MM-DD HH:MM ZONE'")
        return local.replace(tzinfo=tz)
    try:
        return late_policy.parse_timestamp(text, "due")
    except late_policy.MetadataError:
        raise ConfigError(f"{where}: due: '{text}' is neither 'YYYY-MM-DD HH:MM ZONE' (e.g. "
                          "'2026-03-02 23:59 America/New_York') nor ISO 8601 with a UTC "
                          "offset") from None


def apply(extensions: list[Extension], metadata: dict[str, dict]) -> list[str]:
    """Give each matching submitter of ``metadata`` (submission -> Gradescope's metadata)
    their row's ``extension`` entry; return a line for each row that matched no one."""
    unmatched = []
    for row in extensions:
        users = [user for meta in metadata.values() for user in meta.get("users") or []
                 if isinstance(user, dict) and row.matches(user)]
        for user in users:
            user["extension"] = row.extension
        if not users:
            unmatched.append(f"line {row.line}: no submission by {row.key} '{row.who}'")
    return unmatched
