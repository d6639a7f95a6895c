"""assignment.yaml is validated at load time, with one-line errors naming the key."""

import textwrap
from pathlib import Path

import pytest
import yaml

from autograder import config

from conftest import ROOT, run_cli

GOOD = yaml.safe_load((ROOT / "assignments/optimization/assignment.yaml").read_text())


def parse(data):
    return config.parse("x", Path("/tmp"), data)


@pytest.mark.parametrize(("change", "message"), [
    ({"pionts": {}}, "unknown key 'pionts'"),
    ({"visibility": {"hidden": "secret"}}, "visibility: hidden: 'secret' is not one of"),
    ({"timezone": "Mars/Olympus"}, "timezone: unknown time zone 'Mars/Olympus'"),
    ({"due": "next friday"}, "due: 'next friday' is not 'YYYY-MM-DD HH:MM'"),
    ({"due": "2024-10-11T23:59:00-04:00"}, "give a local time without an offset"),
    ({"kind": "quiz"}, "kind: 'quiz' is not one of"),
    ({"points": {"losses.sigmoid": -1}}, "points: losses.sigmoid: expected a non-negative"),
    ({"points": {"lossses.sigmoid": 1}}, "'lossses.sigmoid' is not 'module.name'"),
    ({"late_policy": {"points_per_dya": 3}}, "late_policy: unknown key 'points_per_dya'"),
])
def test_bad_values_are_named(change, message):
    with pytest.raises(config.ConfigError, match=None) as info:
        parse(GOOD | change)
    assert message in str(info.value)
    assert "\n" not in str(info.value)


def test_missing_key_is_named():
    data = dict(GOOD)
    del data["due"]
    with pytest.raises(config.ConfigError, match="missing key 'due'"):
        parse(data)


def test_good_file_loads_with_100_points_and_dst_aware_deadline():
    assignment = config.load("optimization")
    assert assignment.total_points == 100
    assert assignment.due.utcoffset().total_seconds() == -4 * 3600  # EDT in October
    assert set(assignment.contract) == {"losses", "optimizers", "schedules", "regularization",
                                        "training", "layers"}


def test_cli_reports_unknown_assignment_in_one_line(tmp_path):
    done = run_cli("grade", "no_such_assignment", str(tmp_path), check=False)
    assert done.returncode == 2
    assert done.stderr.strip().count("\n") == 0
    assert "unknown assignment 'no_such_assignment'" in done.stderr


def test_cli_reports_metadata_without_offset(tmp_path):
    meta = tmp_path / "meta.json"
    meta.write_text('{"created_at": "2024-10-11T23:00:00", "users": []}')
    done = run_cli("grade", "optimization", str(ROOT / "solutions/optimization"),
                   "--metadata", str(meta), "--out", str(tmp_path / "r.json"), check=False)
    assert done.returncode == 2
    assert "has no UTC offset" in done.stderr and done.stderr.strip().count("\n") == 0


def test_cli_reports_broken_yaml(tmp_path, monkeypatch):
    home = tmp_path / "home"
    (home / "assignments" / "bad").mkdir(parents=True)
    (home / "assignments" / "bad" / "assignment.yaml").write_text(textwrap.dedent("""
        title: Bad
        kind: programming
        files: [a.py]
        due: "2024-10-11 23:59"
        timezone: America/New_York
        points: {a.f: 1}
        visibilty: {public: visible}
    """))
    monkeypatch.setenv("AUTOGRADER_HOME", str(home))
    done = run_cli("grade", "bad", str(tmp_path), check=False, env={
        "AUTOGRADER_HOME": str(home), "PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT)})
    assert done.returncode == 2
    assert "unknown key 'visibilty'" in done.stderr
