"""The course's late policy for otter-grader: an otter plugin (the ``[otter]`` extra).

Courses that grade notebooks with otter list the plugin in ``otter_config.json``::

    {"plugins": [{"autograder.otter_plugin.LatePolicyPlugin": {
        "due": "2024-10-01 23:59", "timezone": "America/New_York",
        "points_per_day": 3, "grace_minutes": 0, "max_days": null}}]}

or ``{"assignment": "assignment.yaml"}``, whose ``due``, ``timezone`` and ``late_policy``
``otter generate`` reads (relative to where it runs) and writes into the zip's
``otter_config.json``, so that grading never reads a file a submission could replace.

After otter has graded (``after_grading``), the plugin calls :mod:`autograder.late_policy`
with Gradescope's submission metadata, says what it decided in the results' top-level
output (visible to the student), and takes the penalty off the test files' scores in
otter's order, down to 0 each: the autograded total never goes below 0. With
``points_possible`` (otter scales the score to it), the penalty is scaled back to the
tests' points. Without a submission time (``otter run`` passes ``{}``) or with metadata
it cannot read, it applies no penalty and says so: it never stops otter.

Everything but :class:`LatePolicyPlugin` works without otter installed.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import asdict, fields
from pathlib import Path
from typing import Any

from autograder import config, late_policy
from autograder.config import ConfigError, LatePolicy

PLUGIN = "autograder.otter_plugin.LatePolicyPlugin"
_TERMS = ("due", "timezone", *(f.name for f in fields(LatePolicy)))


def read_settings(plugin_config: Any) -> dict[str, Any]:
    """The plugin's configuration with ``assignment`` (a path) replaced by the due date,
    time zone and late policy it holds; checked, or a one-line :class:`ConfigError`."""
    where = f"otter_config.json: {PLUGIN}"
    if not isinstance(plugin_config, dict):
        raise ConfigError(f"{where}: expected a mapping of settings, got {plugin_config!r}")
    allowed = {"assignment"} if "assignment" in plugin_config else set(_TERMS)
    unknown = sorted(set(plugin_config) - allowed)
    if unknown:
        raise ConfigError(f"{where}: unknown key {unknown[0]!r} (allowed: "
                          f"{', '.join(sorted(allowed))}; 'assignment' goes alone)")
    if "assignment" not in plugin_config:
        late_terms(plugin_config)  # checked here: a mistake shows at `otter generate`
        return dict(plugin_config)
    due, policy = config.load_late_terms(Path(str(plugin_config["assignment"])))
    return {"due": due.strftime("%Y-%m-%d %H:%M:%S"), "timezone": str(due.tzinfo),
            **asdict(policy)}


def late_terms(settings: dict[str, Any]) -> tuple[dt.datetime, LatePolicy]:
    """The due date and late policy of inline settings, read as assignment.yaml's are."""
    data = {key: settings[key] for key in ("due", "timezone") if key in settings}
    data["late_policy"] = {key: settings[key] for key in _TERMS[2:] if key in settings}
    return config.late_terms(data, f"otter_config.json: {PLUGIN}")


def take_penalty(scores: dict[str, float], penalty: float) -> dict[str, float]:
    """New scores of the test files that pay ``penalty``: taken in order, each down to 0
    at most, so that the total never goes below 0."""
    left, taken = penalty, {}
    for name, score in scores.items():
        if left <= 0:
            break
        cut = min(score, left)
        if cut > 0:
            taken[name] = score - cut
            left -= cut
    return taken


def assess(settings: dict[str, Any], metadata: Any) -> tuple[late_policy.Lateness | None, str]:
    """The lateness of a submission, or None and why the policy could not be applied."""
    due, policy = late_terms(settings)
    if not metadata:
        return None, ("Late policy not applied: no submission metadata (`otter run` grades "
                      "without Gradescope's metadata).")
    try:
        return late_policy.assess(due, policy, metadata), ""
    except late_policy.MetadataError as exc:
        return None, f"Late policy not applied: {exc}."


def late_report(lateness: late_policy.Lateness, scores: dict[str, float],
                scale: float = 1.0) -> tuple[dict[str, float], str]:
    """The test files' new scores and the text the student reads; ``scale`` converts the
    assignment's points to the tests' points (otter's ``points_possible``)."""
    new = take_penalty(scores, lateness.penalty * scale)
    text = f"Late policy: {lateness.describe()}"
    if new:
        before = math.fsum(scores.values())
        after = before - math.fsum(scores[name] - score for name, score in new.items())
        unit = "" if scale == 1 else f" (in the tests' points: {scale:g} per point)"
        cuts = ", ".join(f"{name} {score - scores[name]:+g}" for name, score in new.items())
        text += (f"\nTaken off the autograded score{unit}, which never goes below 0: "
                 f"{before:g} -> {after:g} ({cuts}).")
    return new, text


try:
    from otter.plugins import AbstractOtterPlugin
except ImportError:  # the functions above need no otter; the plugin class does
    def __getattr__(name: str) -> Any:
        """A clear error for the plugin class when otter-grader is not installed."""
        if name == "LatePolicyPlugin":
            raise ImportError("autograder.otter_plugin.LatePolicyPlugin needs otter-grader: "
                              "pip install 'autograder[otter]'")
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
else:
    class LatePolicyPlugin(AbstractOtterPlugin):
        """Applies the course's late policy to otter's results (see the module's docstring)."""

        def __init__(self, submission_path: str | None, submission_metadata: dict[str, Any],
                     plugin_config: dict[str, Any]) -> None:
            super().__init__(submission_path, submission_metadata, plugin_config)
            self.settings = read_settings(plugin_config)
            self.points_possible: float | None = None

        def during_generate(self, otter_config: dict[str, Any], assignment: Any) -> None:
            """``otter generate``: write the settings, read and checked, into the zip."""
            for entry in otter_config.get("plugins", []):
                if isinstance(entry, dict) and PLUGIN in entry:
                    entry[PLUGIN] = self.settings

        def before_grading(self, ag_config: Any) -> None:
            """Note ``points_possible``, to which otter scales the score."""
            self.points_possible = ag_config.points_possible

        def after_grading(self, results: Any) -> None:
            """Apply the late policy to otter's ``GradingResults``, or say why not."""
            if results.has_catastrophic_failure():
                return
            lateness, text = assess(self.settings, self.submission_metadata)
            if lateness is not None:
                scores = {name: results.get_score(name) for name in results.test_files}
                scale = results.possible / self.points_possible if self.points_possible else 1.0
                new, text = late_report(lateness, scores, scale)
                for name, score in new.items():
                    results.update_score(name, score)
                results.set_plugin_data(PLUGIN, lateness.to_json(
                    "taken off the autograded score, which never goes below 0"))
            results.set_output(f"{results.output}\n\n{text}" if results.output else text)
