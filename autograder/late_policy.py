"""The late policy: points off the whole assignment for every started day late.

The deadline is a wall-clock time in the assignment's time zone (daylight saving
is the zone's business, never a fixed offset). Gradescope's dates are the truth
when its ``submission_metadata.json`` has them: a submitter's own due date (an
extension) first, then the assignment's due date; ``assignment.yaml`` is the
fallback for local grading, and a disagreement between the two is reported. An
extension from the instructor's extensions file (``grade-batch --extensions``, kept
in a submitter's ``extension`` entry: a ``due_date``, or ``days`` added to the
assignment's deadline) counts where Gradescope gives the submitter no date of their
own. Any started 24-hour period counts as a day: 1 second late is 1 day, exactly 24 h
late is 1 day, 24 h + 1 s is 2 days.

The penalty is days x points per day, off the whole assignment, hand-graded parts
included; the final grade never goes below zero (see :func:`final_score`).
"""

from __future__ import annotations

import datetime as dt
import math
import re
from dataclasses import dataclass
from typing import Any

from autograder.config import LatePolicy
from autograder.words import count

DAY = 24 * 3600
EXTENSIONS = ("extension", "extensions file")  # the sources of a student's own deadline
MAX_EXTENSION_DAYS = 366
_RUBY_TIME = re.compile(r"(?P<date>\d{4}-\d\d-\d\d)[ T](?P<time>\d\d:\d\d:\d\d)"
                        r"(?P<fraction>\.\d+)?\s*(?P<offset>[+-]\d\d:?\d\d)?")


class MetadataError(Exception):
    """submission_metadata.json is unusable (e.g. a timestamp without a UTC offset)."""


@dataclass(frozen=True)
class Deadline:
    """A submission's deadline, where it came from, and any disagreement about it."""

    when: dt.datetime
    source: str  # "extension", "extensions file", "gradescope" or "assignment.yaml"
    disagreement: str = ""


@dataclass(frozen=True)
class Lateness:
    """How late one submission was and what that costs."""

    submitted: dt.datetime
    deadline: dt.datetime
    days: int
    points_per_day: float
    source: str = "assignment.yaml"
    disagreement: str = ""

    @property
    def seconds_late(self) -> float:
        return max(0.0, (self.submitted - self.deadline).total_seconds())

    @property
    def penalty(self) -> float:
        """Points off the whole assignment: days x points per day."""
        return self.days * self.points_per_day

    def describe(self) -> str:
        """The lines the student reads: how late, the days charged, the points off."""
        deadline = self.deadline.strftime("%Y-%m-%d %H:%M %Z")
        whose = "your extended deadline" if self.source in EXTENSIONS else "the deadline"
        if self.days == 0:
            text = f"Submitted on time ({whose}: {deadline})."
        else:
            late = dt.timedelta(seconds=round(self.seconds_late))
            text = (f"Submitted {_duration(late)} after {whose} ({deadline}): "
                    f"{count(self.days, 'day')} late at {count(self.points_per_day, 'point')} "
                    f"per day = {count(self.penalty, 'point')} off the whole assignment.")
        return f"{text}\n{self.disagreement}" if self.disagreement else text

    def to_json(self, applied: str) -> dict[str, Any]:
        """``extra_data.late`` of results.json; ``applied`` says how the penalty is taken."""
        data = {"days": self.days, "points_per_day": self.points_per_day,
                "penalty": self.penalty, "applied": applied,
                "deadline": self.deadline.isoformat(), "deadline_source": self.source,
                "submitted": self.submitted.isoformat()}
        return data | ({"disagreement": self.disagreement} if self.disagreement else {})


def final_score(earned: float, penalty: float) -> float:
    """The assignment's final grade: every point earned, less the penalty, never below 0."""
    return max(0.0, earned - penalty)


def parse_timestamp(text: Any, what: str) -> dt.datetime:
    """An ISO 8601 timestamp (or Ruby's ``2024-09-20 21:10:05.123456000 -04:00``, as in
    Gradescope's export) that carries its UTC offset; anything else is refused."""
    if isinstance(text, dt.datetime):
        text = text.isoformat()
    if not isinstance(text, str):
        raise MetadataError(f"{what}: expected an ISO 8601 timestamp, got {text!r}")
    cleaned = text.strip()
    if cleaned.endswith(("Z", "z")):
        cleaned = cleaned[:-1] + "+00:00"
    ruby = _RUBY_TIME.fullmatch(cleaned)
    if ruby:
        fraction = (ruby["fraction"] or "")[:7].ljust(7, "0") if ruby["fraction"] else ""
        cleaned = f"{ruby['date']}T{ruby['time']}{fraction}{ruby['offset'] or ''}"
    try:
        stamp = dt.datetime.fromisoformat(cleaned)
    except ValueError:
        raise MetadataError(f"{what}: {text!r} is not an ISO 8601 timestamp") from None
    if stamp.tzinfo is None or stamp.utcoffset() is None:
        raise MetadataError(f"{what}: {text!r} has no UTC offset; refusing to guess its time zone")
    return stamp


def student_deadline(due: dt.datetime, metadata: dict) -> Deadline:
    """The deadline that counts: the latest of the submitters' own due dates on
    Gradescope (extensions), else the latest of their extensions from the instructor's
    extensions file, else Gradescope's assignment due date, else ``due``
    (assignment.yaml). A Gradescope due date other than ``due``, and an extensions file
    that Gradescope's own dates overrule, are reported."""
    users = [u if isinstance(u, dict) else {} for u in metadata.get("users") or []]
    own = [parse_timestamp(user["assignment"]["due_date"], f"users[{i}].assignment.due_date")
           for i, user in enumerate(users)
           if isinstance(user.get("assignment"), dict) and user["assignment"].get("due_date")]
    assignment = metadata.get("assignment")
    gradescope = None
    if isinstance(assignment, dict) and assignment.get("due_date"):
        gradescope = parse_timestamp(assignment["due_date"], "assignment.due_date")
    base = (gradescope or due).astimezone(due.tzinfo)
    granted = [extended(base, user["extension"], f"users[{i}].extension")
               for i, user in enumerate(users) if user.get("extension") is not None]
    notes = []
    if gradescope is not None and gradescope != due:
        notes.append(f"Gradescope's due date ({_stamp(gradescope, due)}) differs from "
                     f"assignment.yaml's ({_stamp(due, due)}); Gradescope's counts.")
    if own and granted and max(granted) != max(own):
        notes.append(f"The extensions file's deadline ({_stamp(max(granted), due)}) differs "
                     f"from Gradescope's extension ({_stamp(max(own), due)}); Gradescope's "
                     "counts.")
    note = " ".join(notes)
    if own:
        return Deadline(max(own).astimezone(due.tzinfo), "extension", note)
    if granted:
        return Deadline(max(granted), "extensions file", note)
    if gradescope is not None:
        return Deadline(base, "gradescope", note)
    return Deadline(due, "assignment.yaml")


def extended(base: dt.datetime, extension: Any, what: str) -> dt.datetime:
    """The deadline an extensions file's entry gives: its ``due_date`` (with its UTC
    offset), or ``days`` after ``base`` on the wall clock of ``base``'s time zone."""
    if isinstance(extension, dict) and "due_date" in extension:
        return parse_timestamp(extension["due_date"], f"{what}.due_date").astimezone(base.tzinfo)
    days = extension.get("days") if isinstance(extension, dict) else None
    if isinstance(days, bool) or not isinstance(days, (int, float)) \
            or not 0 <= days <= MAX_EXTENSION_DAYS:
        raise MetadataError(f"{what}: expected {{'due_date': ...}} or {{'days': N}}, got "
                            f"{extension!r}")
    return base + dt.timedelta(days=days)  # an aware time plus days: the same wall-clock time


def assess(due: dt.datetime, policy: LatePolicy, metadata: dict) -> Lateness:
    """Apply the late policy to one submission's metadata."""
    if not isinstance(metadata, dict) or "created_at" not in metadata:
        raise MetadataError("submission_metadata.json: missing 'created_at'")
    submitted = parse_timestamp(metadata["created_at"], "created_at")
    deadline = student_deadline(due, metadata)
    when = deadline.when + dt.timedelta(minutes=policy.grace_minutes)
    return Lateness(submitted, when, days_late(submitted, when, policy.max_days),
                    policy.points_per_day, deadline.source, deadline.disagreement)


def days_late(submitted: dt.datetime, deadline: dt.datetime, max_days: int | None = None) -> int:
    """Started 24-hour periods after the deadline (capped at ``max_days`` when set)."""
    seconds = (submitted - deadline).total_seconds()
    days = math.ceil(seconds / DAY) if seconds > 0 else 0
    return days if max_days is None else min(days, max_days)


def _stamp(when: dt.datetime, zone_of: dt.datetime) -> str:
    return when.astimezone(zone_of.tzinfo).strftime("%Y-%m-%d %H:%M %Z")


def _duration(delta: dt.timedelta) -> str:
    hours, rest = divmod(int(delta.total_seconds()), 3600)
    minutes, seconds = divmod(rest, 60)
    days, hours = divmod(hours, 24)
    parts = [(days, "d"), (hours, "h"), (minutes, "min"), (seconds, "s")]
    return " ".join(f"{n} {unit}" for n, unit in parts if n) or "0 s"
