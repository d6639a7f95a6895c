"""The late policy: started days, DST, extensions, offsets, grace, caps, the floor at 0."""

import datetime as dt
import json
from pathlib import Path

import pytest

from autograder import config, late_policy, results
from autograder.config import LatePolicy

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "gradescope"
NY = config.zoneinfo.ZoneInfo("America/New_York")
SEPT_DUE = dt.datetime(2024, 9, 20, 23, 59, tzinfo=NY)
POLICY = LatePolicy(points_per_day=3)


def assess(created_at, due=SEPT_DUE, policy=POLICY, users=()):
    return late_policy.assess(due, policy, {"created_at": created_at, "users": list(users)})


@pytest.mark.parametrize(("fixture", "days"), [
    ("on_time.json", 0), ("late_one_minute.json", 1), ("late_with_extension.json", 0)])
def test_gradescope_fixtures(fixture, days):
    metadata = json.loads((FIXTURES / fixture).read_text())
    assert late_policy.assess(SEPT_DUE, POLICY, metadata).days == days


@pytest.mark.parametrize(("created_at", "days"), [
    ("2024-09-20T23:59:00-04:00", 0),        # exactly at the deadline
    ("2024-09-20T23:59:01-04:00", 1),        # 1 second late
    ("2024-09-21T23:59:00-04:00", 1),        # exactly 24 h late
    ("2024-09-21T23:59:01-04:00", 2),        # 24 h + 1 s
    ("2024-09-21T03:59:00Z", 0),             # the deadline, stamped in UTC
    ("2024-09-21T04:00:00+00:00", 1),        # one minute late, in UTC
    ("2024-09-27T23:59:00-04:00", 7),
])
def test_started_days(created_at, days):
    assert assess(created_at).days == days


def test_dst_is_the_time_zones_business():
    # Due Saturday Nov 2, 2024 23:59 EDT; clocks fall back on Nov 3. The wall clock
    # deadline stays 23:59 New York time whatever the offset.
    due = dt.datetime(2024, 11, 2, 23, 59, tzinfo=NY)
    assert due.utcoffset() == dt.timedelta(hours=-4)
    assert dt.datetime(2024, 11, 9, 23, 59, tzinfo=NY).utcoffset() == dt.timedelta(hours=-5)
    # 24 h after the deadline (wall clock 22:59 EST on Nov 3) is still 1 day
    assert assess("2024-11-03T22:59:00-05:00", due=due).days == 1
    # 23:59 EST on Nov 3 is 25 real hours late: 2 days
    assert assess("2024-11-03T23:59:00-05:00", due=due).days == 2


def test_extension_wins_over_the_assignment_deadline():
    users = [{"name": "A", "assignment": {"due_date": "2024-09-22T23:59:00.000000-04:00"}}]
    assert assess("2024-09-22T10:30:00-04:00", users=users).days == 0
    assert assess("2024-09-23T00:00:00-04:00", users=users).days == 1


def test_timestamp_without_offset_is_rejected():
    with pytest.raises(late_policy.MetadataError, match="no UTC offset"):
        assess("2024-09-21T10:00:00")


def test_ruby_style_export_timestamps_parse():
    stamp = late_policy.parse_timestamp("2024-09-22 09:30:00.000000000 -04:00", "x")
    assert stamp == dt.datetime(2024, 9, 22, 13, 30, tzinfo=dt.timezone.utc)


def test_grace_period_and_cap():
    grace = LatePolicy(points_per_day=3, grace_minutes=15)
    assert assess("2024-09-21T00:10:00-04:00", policy=grace).days == 0
    assert assess("2024-09-21T00:20:00-04:00", policy=grace).days == 1
    capped = LatePolicy(points_per_day=3, max_days=2)
    assert assess("2024-09-30T00:00:00-04:00", policy=capped).days == 2


def test_penalty_never_goes_below_zero_and_shows_as_a_row():
    lateness = assess("2024-09-30T00:00:00-04:00")  # 10 days: 30 points
    document = results.build([results.Row("q", 12.0, 30.0, ["x"])], lateness)
    assert document["score"] == 0
    late_row = document["tests"][-1]
    assert late_row["name"] == "Late penalty" and late_row["score"] == -30.0
    assert "10 days late" in late_row["output"]
    assert document["extra_data"]["late"]["days"] == 10
    assert document["extra_data"]["late"]["penalty"] == 30.0


def test_an_extension_of_days_keeps_the_wall_clock_across_dst():
    due = dt.datetime(2024, 11, 2, 23, 59, tzinfo=NY)  # EDT; clocks fall back on Nov 3
    users = [{"name": "A", "extension": {"days": 2}}]
    lateness = assess("2024-11-04T23:59:00-05:00", due=due, users=users)
    assert (lateness.days, lateness.source) == (0, "extensions file")
    assert lateness.deadline == dt.datetime(2024, 11, 4, 23, 59, tzinfo=NY)
    assert "your extended deadline" in lateness.describe()
    with pytest.raises(late_policy.MetadataError, match=r"users\[0\]\.extension"):
        assess("2024-11-04T23:59:00-05:00", due=due, users=[{"extension": {"days": -1}}])


def test_one_day_and_one_point_are_singular():
    lateness = assess("2024-09-21T00:10:00-04:00", policy=LatePolicy(points_per_day=1))
    assert "11 min after the deadline (2024-09-20 23:59 EDT): 1 day late at 1 point per day = " \
           "1 point off the whole assignment." in lateness.describe()
