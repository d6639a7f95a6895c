"""The late policy: points off for every started day after the deadline.

The deadline is a wall-clock time in the assignment's time zone (daylight saving
is the zone's business, never a fixed offset). A student's own due date in
Gradescope's ``submission_metadata.json`` (an extension) wins over the
assignment's. Any started 24-hour period counts as a day: 1 second late is 1 day,
exactly 24 h late is 1 day, 24 h + 1 s is 2 days. The penalty never takes a
score below zero.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from dataclasses import dataclass
from typing import Any

from autograder.config import LatePolicy

DAY = 24 * 3600
_RUBY_TIME = re.compile(r"(?P<date>\d{4}-\d\d-\d\d)[ T](?P<time>\d\d:\d\d:\d\d)"
                        r"(?P<fraction>\.\d+)?\s*(?P<offset>[+-]\d\d:?\d\d)?")


class MetadataError(Exception):
    """submission_metadata.json is unusable (e.g. a timestamp without a UTC offset)."""


@dataclass(frozen=True)
class Lateness:
    """How late one submission was and what that costs."""

    submitted: dt.datetime
    deadline: dt.datetime
    days: int
    points_per_day: float

    @property
    def seconds_late(self) -> float:
        return max(0.0, (self.submitted - self.deadline).total_seconds())

    def penalty(self, score: float) -> float:
        """Points deducted from ``score`` (never more than the score itself)."""
        return min(max(score, 0.0), self.days * self.points_per_day)

    def describe(self, penalty: float) -> str:
        """The line the student reads."""
        deadline = self.deadline.strftime("%Y-%m-%d %H:%M %Z")
        if self.days == 0:
            return f"Submitted on time (deadline {deadline})."
        late = dt.timedelta(seconds=round(self.seconds_late))
        return (f"Submitted {_duration(late)} after the deadline ({deadline}): "
                f"{self.days} day{'s' * (self.days != 1)} late at {self.points_per_day:g} "
                f"points per day, {penalty:g} points deducted.")


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


def student_deadline(due: dt.datetime, metadata: dict) -> dt.datetime:
    """The assignment's deadline, or the latest of the submitters' own due dates."""
    own = []
    for i, user in enumerate(metadata.get("users") or []):
        extension = user.get("assignment") if isinstance(user, dict) else None
        if isinstance(extension, dict) and extension.get("due_date"):
            own.append(parse_timestamp(extension["due_date"], f"users[{i}].assignment.due_date"))
    return max(own).astimezone(due.tzinfo) if own else due


def assess(due: dt.datetime, policy: LatePolicy, metadata: dict) -> Lateness:
    """Apply the late policy to one submission's metadata."""
    if not isinstance(metadata, dict) or "created_at" not in metadata:
        raise MetadataError("submission_metadata.json: missing 'created_at'")
    submitted = parse_timestamp(metadata["created_at"], "created_at")
    deadline = student_deadline(due, metadata) + dt.timedelta(minutes=policy.grace_minutes)
    return Lateness(submitted, deadline, days_late(submitted, deadline, policy.max_days),
                    policy.points_per_day)


def days_late(submitted: dt.datetime, deadline: dt.datetime, max_days: int | None = None) -> int:
    """Started 24-hour periods after the deadline (capped at ``max_days`` when set)."""
    seconds = (submitted - deadline).total_seconds()
    days = math.ceil(seconds / DAY) if seconds > 0 else 0
    return days if max_days is None else min(days, max_days)


def _duration(delta: dt.timedelta) -> str:
    hours, rest = divmod(int(delta.total_seconds()), 3600)
    minutes, seconds = divmod(rest, 60)
    days, hours = divmod(hours, 24)
    parts = [(days, "d"), (hours, "h"), (minutes, "min"), (seconds, "s")]
    return " ".join(f"{n} {unit}" for n, unit in parts if n) or "0 s"
