"""The audit's verdicts, and its report (``audit.json`` and ``audit.html``).

A mutant is *killed* when a test of its own names fails. A generated survivor whose every
call of its names answered as the reference's did is searched again, deeper, on its own
names: a test that fails it there kills it (unless that test fails the reference too when
searched deeper); else it is *equivalent* when it still answers as the reference does,
"after N examples" (``equivalence``), and a survivor otherwise. A survivor is also
equivalent when assignment.yaml's ``audit: equivalent`` says why it is (``declared``). A
name whose answers vary when the reference is graded twice (an unseeded random generator)
cannot be judged by its answers: its survivors stay survivors. The mutation score of a
name is killed / (mutants - equivalent ones).

A correct variant, written (``variants/``) or made from a freedom of the contract, that
loses a point is a false failure; each test a freedom's variant fails is listed as
*reference dependence*: it passes only when a submission draws its random numbers as the
reference does."""

from __future__ import annotations

from typing import Any

from autograder import config
from autograder.audit import Graded, Job, names_id, own_names
from autograder.class_report import esc, page
from autograder.words import count


def answers_vary(traced: Graded, again: Graded) -> set[str]:
    """The names whose answers differ between two gradings of the reference."""
    return {n for n in set(traced.digests) | set(again.digests)
            if traced.digests.get(n) != again.digests.get(n)}


def answered_alike(assignment: config.Assignment, job: Job, graded: Graded, traced: Graded,
                   varying: set[str]) -> bool:
    """Whether a generated mutant survived with every call of its names answered as the
    reference's (not declared equivalent, no name whose answers vary): the ones the deeper
    search must prove equivalent."""
    own = own_names(assignment, job.target, job.module)
    return (job.kind == "generated" and not graded.error and not own & set(graded.failed)
            and job.id not in assignment.audit.equivalent and not own & varying
            and all(graded.digests.get(n) == traced.digests.get(n) for n in own))


def verdict(assignment: config.Assignment, job: Job, graded: Graded, traced: Graded,
            varying: set[str], searched: tuple[Graded, Graded] | None = None) -> dict[str, Any]:
    """One mutant's entry: killed, equivalent or survived, and any collateral. ``searched``:
    the deeper search of the mutant and of the reference, for a survivor that answered
    alike."""
    own = own_names(assignment, job.target, job.module)
    entry = {"id": job.id, "kind": job.kind, "target": job.target, "module": job.module,
             "description": job.description}
    if graded.error:
        return entry | {"status": "error", "error": graded.error}
    declared = assignment.audit.equivalent.get(job.id) if job.kind == "generated" else None
    failed = graded.failed
    if any(name in graded.failed for name in own):
        status = "killed"
    elif declared:
        status, entry["equivalence"] = "equivalent", {"by": "declared", "reason": declared}
    elif own & varying:
        status, entry["answers_vary"] = "survived", sorted(own & varying)
    elif not answered_alike(assignment, job, graded, traced, varying):
        status = "survived"
    elif searched is None:
        return entry | {"status": "error", "error": "the deeper search did not run"}
    else:
        status, found = searched_verdict(own, *searched)
        entry |= found
        failed = searched[0].failed
    entry |= {"status": status,
              "collateral": {n: p for n, p in graded.lost.items() if n not in own},
              "failed": {n: failed[n][:500] for n in sorted(own & set(failed))}}
    if job.diff:
        entry["diff"] = job.diff
    if job.kind == "hand-written":
        entry["named"] = graded.named
        if job.description:  # a classic mistake: the student must be told which
            entry["classic"] = job.description
    return entry


def searched_verdict(own: set[str], mutant: Graded,
                     reference: Graded) -> tuple[str, dict[str, Any]]:
    """The verdict of the deeper search of a survivor on its names ``own``: killed by a
    test that the reference passes, equivalent when it answered as the reference did, and
    a survivor otherwise; with what the search found."""
    if mutant.error or reference.error:
        return "error", {"error": f"the deeper search failed: {mutant.error or reference.error}"}
    examples = sum(mutant.examples.get(n, 0) for n in own)
    fails_reference = {t for n in own for t in reference.failed_tests.get(n, [])}
    killing = [t for n in sorted(own) for t in mutant.failed_tests.get(n, [])
               if t not in fails_reference]
    if killing:
        return "killed", {"killed_by": {"by": "deeper search", "test": killing[0]}}
    differ = sorted(n for n in own if mutant.digests.get(n) != reference.digests.get(n))
    if differ:
        return "survived", {"deeper": {"examples": examples, "answers_differ": differ}}
    return "equivalent", {"equivalence": {"by": "deeper search", "examples": examples}}


def score_of(entries: list[dict[str, Any]]) -> dict[str, Any]:
    """Counts and mutation score of some generated mutants."""
    counted = {s: sum(e["status"] == s for e in entries)
               for s in ("killed", "equivalent", "survived", "error")}
    alive = len(entries) - counted["equivalent"]
    return {"mutants": len(entries), **counted,
            "score": round(counted["killed"] / alive, 4) if alive else 1.0}


def summarize(assignment: config.Assignment, graded: list[tuple[Job, Graded]],
              traced: Graded, seconds: float, workers: int) -> dict[str, Any]:
    """The report's data, with ``problems``: every threshold the audit did not meet."""
    by_kind: dict[str, list[tuple[Job, Graded]]] = {}
    for job, found in sorted(graded, key=lambda item: (item[0].kind, item[0].id)):
        by_kind.setdefault(job.kind, []).append((job, found))
    again = next(g for j, g in by_kind["reference"] if j.id == "traced again")
    varying = answers_vary(traced, again)
    deeper = {j.id: g for j, g in by_kind.get("deeper", [])}
    references = {j.id: g for j, g in by_kind.get("deeper reference", [])}

    def searched(job: Job) -> tuple[Graded, Graded] | None:
        key = names_id(own_names(assignment, job.target, job.module))
        return (deeper[job.id], references[key]) if job.id in deeper else None

    mutants = [verdict(assignment, j, g, traced, varying, searched(j))
               for kind in ("hand-written", "generated") for j, g in by_kind.get(kind, [])]
    generated = [m for m in mutants if m["kind"] == "generated"]
    names = {t: score_of([m for m in generated if m["target"] == t]) for t in assignment.points}
    files = {m: score_of([e for e in generated if e["module"] == m]) for m in assignment.contract}
    false_failures = [{"variant": j.id, "kind": j.kind, "lost": g.lost, "error": g.error,
                       "failed": {n: f[:500] for n, f in g.failed.items()}}
                      | ({"diff": j.diff} if j.diff else {})
                      for kind in ("reference", "variant", "freedom")
                      for j, g in by_kind.get(kind, []) if g.lost or g.error]
    documents = {g.document for j, g in by_kind["reference"]}
    report = {"assignment": assignment.name, "seconds": round(seconds, 1), "workers": workers,
              "deterministic": len(documents) == 1, "answers_vary": sorted(varying),
              "names": names, "files": files,
              "collateral": [m for m in mutants if m.get("collateral")],
              "false_failures": false_failures,
              "freedoms": [{"id": j.id, "target": j.target, "description": j.description}
                           for j, _ in by_kind.get("freedom", [])],
              "reference_dependence": dependence(by_kind.get("freedom", [])),
              "deeper_fails_reference": sorted({t for g in references.values()
                                                for tests in g.failed_tests.values()
                                                for t in tests}),
              "mutants": mutants}
    report["problems"] = problems(assignment, report)
    return report


def dependence(graded: list[tuple[Job, Graded]]) -> list[dict[str, Any]]:
    """Each test that a freedom's variant fails, with its name and those variants: it
    passes only when a submission consumes a random generator as the reference does."""
    tests: dict[str, dict[str, Any]] = {}
    for job, found in graded:
        for name, failed in found.failed_tests.items():
            for test in failed:
                tests.setdefault(test, {"test": test, "target": name, "freedoms": []})
                tests[test]["freedoms"].append(job.id)
    return [tests[t] for t in sorted(tests)]


def problems(assignment: config.Assignment, report: dict[str, Any]) -> list[str]:
    """One line per threshold not met (assignment.yaml's ``audit``), and per hand-written
    mutant the tests miss or misname."""
    limits = assignment.audit
    found = [f"{name}: mutation score {s['score']:.0%} is below {limits.min_score(name):.0%} "
             f"({s['survived']} of {s['mutants']} mutants survived)"
             for name, s in report["names"].items()
             if s["mutants"] and s["score"] < limits.min_score(name)]
    if len(report["collateral"]) > limits.max_collateral:
        found.append(f"{count(len(report['collateral']), 'mutant')} cost points outside their "
                     f"own name (at most {limits.max_collateral} allowed)")
    if len(report["false_failures"]) > limits.max_false_failures:
        found.append(f"{count(len(report['false_failures']), 'correct submission')} lost points "
                     f"(at most {limits.max_false_failures} allowed)")
    if not report["deterministic"]:
        found.append("the reference graded twice gave different results")
    found += [f"{test}: fails the reference when searched deeper (it kills no mutant there)"
              for test in report["deeper_fails_reference"]]
    if any(m["kind"] == "generated" for m in report["mutants"]):
        survivors = {m["id"] for m in report["mutants"] if how(m) == "declared"}
        found += [f"audit: equivalent: {stale!r} is no surviving mutant of the reference (any "
                  "more): remove it from assignment.yaml" for stale in limits.equivalent
                  if stale not in survivors]
    catalogue = {m["classic"] for m in report["mutants"] if m.get("classic")}
    for m in report["mutants"]:
        wanted = {m["classic"]} if m.get("classic") else set()
        if m["status"] == "error":
            found.append(f"{m['id']}: could not be graded: {m['error']}")
        elif m["kind"] == "hand-written" and m["status"] != "killed":
            found.append(f"{m['id']}: the hand-written bug in {m['target']} is not caught")
        elif m["kind"] == "hand-written" and set(m["named"]) & catalogue != wanted:
            found.append(f"{m['id']}: named {sorted(set(m['named']) & catalogue)} of "
                         f"mistakes.yaml, not {sorted(wanted)}")
    return found


def text(report: dict[str, Any]) -> list[str]:
    """The report in a few lines, for the terminal."""
    lines = [f"{'file':<16} {'mutants':>7} {'killed':>6} {'equiv.':>6} {'survived':>8} "
             f"{'score':>6}"]
    for module, s in report["files"].items():
        lines.append(f"{module:<16} {s['mutants']:>7} {s['killed']:>6} {s['equivalent']:>6} "
                     f"{s['survived']:>8} {s['score']:>6.0%}")
    lines += [f"  {name}: {count(s['survived'], 'survivor')} of {s['mutants']} mutants"
              for name, s in report["names"].items() if s["survived"]]
    proven = [m for m in report["mutants"] if how(m) == "deeper search"]
    if proven:
        lines.append(f"equivalent after the deeper search of {count(len(proven), 'survivor')} "
                     f"(at least {min(how(m, 'examples') for m in proven)} examples each); "
                     f"killed only by it: {len(deeper_kills(report))}")
    lines.append(f"{len(report['collateral'])} with collateral, "
                 f"{len(report['false_failures'])} false failures, "
                 f"{len(report['reference_dependence'])} tests depend on the reference's "
                 f"random draws ({count(len(report['freedoms']), 'freedom variant')}), "
                 f"deterministic: {'yes' if report['deterministic'] else 'NO'}; "
                 f"{report['seconds']:.0f} s on {report['workers']} workers")
    lines += [f"  {d['test']} fails {', '.join(d['freedoms'])}"
              for d in report["reference_dependence"]]
    return lines + [f"problem: {p}" for p in report["problems"]]


def how(mutant: dict[str, Any], key: str = "by") -> Any:
    """How a mutant's equivalence was established (``by``), or another key of it."""
    return (mutant.get("equivalence") or {}).get(key)


def deeper_kills(report: dict[str, Any]) -> list[dict[str, Any]]:
    """The mutants that only the deeper search killed."""
    return [m for m in report["mutants"] if m.get("killed_by")]


def html(report: dict[str, Any]) -> str:
    """The report as one HTML page: scores per file and name, then every survivor, mutant
    killed only by the deeper search and equivalent mutant (with its diff and how it was
    told), collateral, false failure, test that depends on the reference's random draws,
    freedom variant, and test that fails the reference when searched deeper."""
    def rows(table: dict[str, dict[str, Any]]) -> list[str]:
        return [f"<tr><td>{esc(k)}</td><td>{s['mutants']}</td><td>{s['killed']}</td>"
                f"<td>{s['equivalent']}</td><td>{s['survived']}</td>"
                f"<td>{s['score']:.0%}</td></tr>" for k, s in table.items()]

    head = ("<tr><th></th><th>mutants</th><th>killed</th><th>equivalent</th>"
            "<th>survived</th><th>score</th></tr>")
    body = [f"<h1>Audit of {esc(report['assignment'])}</h1>",
            "<h2>Problems</h2>" + ("<ul>" + "".join(f"<li>{esc(p)}</li>" for p in
                                                    report["problems"]) + "</ul>"
                                   if report["problems"] else "<p>None.</p>"),
            f"<p>Deterministic: {'yes' if report['deterministic'] else 'no'}. "
            f"{report['seconds']:.0f} s on {report['workers']} workers.</p>",
            "<h2>Mutation score per file</h2><table>" + head
            + "".join(rows(report["files"])) + "</table>",
            "<h2>Per contract name</h2><table>" + head
            + "".join(rows(report["names"])) + "</table>"]
    for title, listed in (("Survived", [m for m in report["mutants"]
                                        if m["status"] == "survived"]),
                          ("Killed only by the deeper search", deeper_kills(report)),
                          ("Equivalent", [m for m in report["mutants"]
                                          if m["status"] == "equivalent"])):
        body.append(f"<h2>{title} ({len(listed)})</h2>")
        body += [f"<h3>{esc(m['id'])}: {esc(m['description'])}</h3>" + note(m)
                 + f"<pre>{esc(m.get('diff', ''))}</pre>" for m in listed]
    body.append(f"<h2>Collateral ({len(report['collateral'])})</h2>")
    body += [f"<p>{esc(m['id'])} ({esc(m['target'])}) charged "
             + esc(", ".join(f"{n} -{p:g}" for n, p in m["collateral"].items())) + "</p>"
             for m in report["collateral"]]
    body.append(f"<h2>False failures ({len(report['false_failures'])})</h2>")
    body += [f"<p>{esc(f['variant'])} lost "
             + esc(", ".join(f"{n} -{p:g}" for n, p in f["lost"].items()) or f["error"])
             + "</p>" + (f"<pre>{esc(f['diff'])}</pre>" if f.get("diff") else "")
             for f in report["false_failures"]]
    body.append(f"<h2>Reference dependence ({len(report['reference_dependence'])})</h2><p>Tests "
                "that a correct variant made from a freedom of the contract fails: they pass "
                "only when a submission draws its random numbers as the reference does.</p>")
    body += [f"<p>{esc(d['test'])} ({esc(d['target'])}) fails "
             f"{esc(', '.join(d['freedoms']))}</p>" for d in report["reference_dependence"]]
    body.append(f"<h2>Freedoms ({len(report['freedoms'])} variants)</h2><ul>"
                + "".join(f"<li>{esc(f['id'])} ({esc(f['target'])}): {esc(f['description'])}"
                          "</li>" for f in report["freedoms"]) + "</ul>")
    body.append(f"<h2>Tests that fail the reference when searched deeper "
                f"({len(report['deeper_fails_reference'])})</h2>")
    body += [f"<p>{esc(t)}</p>" for t in report["deeper_fails_reference"]]
    return page(f"Audit of {report['assignment']}", body)


def note(mutant: dict[str, Any]) -> str:
    """How a survivor was shown equivalent, what killed it in the deeper search, or why it
    survived it or its answers could not tell."""
    if how(mutant) == "declared":
        return f"<p>Equivalent, says assignment.yaml: {esc(how(mutant, 'reason'))}</p>"
    if how(mutant) == "deeper search":
        return (f"<p>Equivalent after {how(mutant, 'examples')} examples on its own name: "
                "no test failed in the deeper search, and every answer was the "
                "reference's.</p>")
    if mutant.get("killed_by"):
        killed = mutant["killed_by"]
        return (f"<p>The tests' own examples missed it; {esc(killed['test'])} failed in the "
                "deeper search.</p>")
    if mutant.get("deeper"):
        return (f"<p>No test failed in the deeper search ({mutant['deeper']['examples']} "
                f"examples), but {esc(', '.join(mutant['deeper']['answers_differ']))} answered "
                "differently from the reference: a test is missing.</p>")
    if mutant.get("answers_vary"):
        return (f"<p>The answers of {esc(', '.join(mutant['answers_vary']))} vary from run to "
                "run (an unseeded random generator?): equivalence cannot be told from them.</p>")
    return ""
