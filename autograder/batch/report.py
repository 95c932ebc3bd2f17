"""The integrity report of one assignment: a status per submission, and every finding.

Written to ``reports/<assignment>/`` in the course folder:

- ``submissions.csv``: one row per student and notebook: status, points, seconds, how many
  findings need a look, and what went wrong while running, in words;
- ``findings.csv``: one row per finding: student, notebook, cell, check, severity, action, detail;
- ``report.html``: both tables, readable in a browser, with what the sandbox protected.
"""
from __future__ import annotations

import csv
import html
from collections import Counter
from pathlib import Path

from autograder.kinds import Severity, Status
from autograder.notebook.findings import Finding
from autograder.notebook.results import NotebookResult
from autograder.notebook.sandbox import Isolation

STATUSES = {
    Status.GRADED: "the notebook ran and every part was graded",
    Status.INCOMPLETE: "some part could not be graded because of a limit (cell or notebook time, "
                       "memory, a kernel that died and could not be restored); it scores 0 and says why",
    Status.MISSING: "no notebook was submitted; every part scores 0",
    Status.UNREADABLE: "the file is not a readable notebook (invalid JSON, too large); every part scores 0",
    Status.ERROR: "the grader itself failed; every part scores 0 for now, and the next run tries again",
}
SEVERITY_MEANING = {
    Severity.INFO: "recorded; nothing suspicious",
    Severity.FLAG: "a TA should look; it cost no points and earned none",
    Severity.ZERO: "the part scored 0 because of it",
}
SUBMISSION_FIELDS = ["student", "notebook", "status", "score", "max_score", "seconds", "sandbox",
                     "flags", "notes"]
FINDING_FIELDS = ["student", "notebook", "cell", "check", "severity", "action", "detail"]


def _rows(results: list[NotebookResult]) -> list[dict]:
    return [{"student": r.student, "notebook": r.notebook, "status": r.status, "score": f"{r.score:g}",
             "max_score": f"{r.max_score:g}", "seconds": f"{r.seconds:.1f}", "sandbox": r.sandbox,
             "flags": sum(f.severity != Severity.INFO for f in r.findings), "notes": "; ".join(r.notes)}
            for r in sorted(results, key=lambda r: (r.student, r.notebook))]


def write_report(folder: Path, assignment: str, results: list[NotebookResult],
                 isolation: Isolation) -> Path:
    """Write the three files into ``folder``; returns the HTML file."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    rows = _rows(results)
    findings = [f for r in sorted(results, key=lambda r: r.student) for f in r.findings]
    with open(folder / "submissions.csv", "w", newline="", encoding="utf-8") as file:
        writer = csv.DictWriter(file, SUBMISSION_FIELDS)
        writer.writeheader()
        writer.writerows(rows)
    with open(folder / "findings.csv", "w", newline="", encoding="utf-8") as file:
        writer = csv.DictWriter(file, FINDING_FIELDS)
        writer.writeheader()
        writer.writerows(f.as_dict() for f in findings)
    path = folder / "report.html"
    path.write_text(_html(assignment, rows, findings, isolation), encoding="utf-8")
    return path


def _table(fields: list[str], rows: list[dict], key: str) -> str:
    head = "".join(f"<th>{html.escape(f)}</th>" for f in fields)
    body = "".join(
        f"<tr class='{html.escape(str(row.get(key, '')))}'>"
        + "".join(f"<td>{html.escape(str(row.get(f, '')))}</td>" for f in fields) + "</tr>"
        for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _html(assignment: str, rows: list[dict], findings: list[Finding], isolation: Isolation) -> str:
    counts = Counter(row["status"] for row in rows)
    summary = ", ".join(f"{counts[s]} {s}" for s in STATUSES if counts[s])
    if isolation.unprotected:
        sandbox = ("<p class='warn'><b>Not fully sandboxed</b> (" + html.escape(isolation.reason)
                   + "). Unprotected:</p><ul>"
                   + "".join(f"<li>{html.escape(u)}</li>" for u in isolation.unprotected) + "</ul>")
    else:
        sandbox = ("<p>Every kernel ran sandboxed (bubblewrap, mode "
                   f"{html.escape(isolation.mode)}): no network, no grader files, limits on.</p>")
    legend = "".join(f"<li><b>{s}</b>: {html.escape(m)}</li>" for s, m in STATUSES.items())
    severities = "".join(f"<li><b>{s}</b>: {html.escape(SEVERITY_MEANING[s])}</li>" for s in Severity)
    shown = sorted(findings, key=lambda f: (list(Severity).index(f.severity) * -1, f.student))
    return f"""<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>Integrity report: {html.escape(assignment)}</title>
<style>
body {{ font-family: sans-serif; margin: 2em; }} table {{ border-collapse: collapse; }}
td, th {{ border: 1px solid #ccc; padding: 4px 8px; text-align: left; vertical-align: top; }}
th {{ background: #eee; }} .warn {{ color: #a00; }}
tr.incomplete, tr.flag {{ background: #fff4d6; }}
tr.missing, tr.unreadable, tr.error, tr.zero {{ background: #fde0e0; }}
</style></head><body>
<h1>Integrity report: {html.escape(assignment)}</h1>
<p>{len(rows)} notebooks: {html.escape(summary)}. {len(findings)} findings,
{sum(f.severity != 'info' for f in findings)} of them to look at.</p>
{sandbox}
<h2>Submissions</h2>{_table(SUBMISSION_FIELDS, rows, "status")}
<h2>Findings</h2>{_table(FINDING_FIELDS, [f.as_dict() for f in shown], "severity")}
<h2>What the words mean</h2><p>Status:</p><ul>{legend}</ul><p>Severity:</p><ul>{severities}</ul>
</body></html>
"""
