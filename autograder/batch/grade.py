"""The TA's job: grade every collected submission of an assignment and write the results.

``grade_assignments`` runs the batch (``batch.py``: sandboxed kernels, hidden checks outside
them, parallel workers, one writer to nbgrader's gradebook, nbgrader's own ``generate_feedback``
for one HTML per student with the hidden test source removed), then nbgrader's ``export``
(``grades.csv``), and writes the integrity report. Points per student and exercise are read
back from the gradebook, so what the TA sees is what nbgrader recorded. Written answers wait
for a TA (formgrader, or ``writer.record_written_scores``); until then they count 0 and the
table marks them ``?``.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from autograder.batch.course import Course
from autograder.batch.pool import Options, grade_class
from autograder.batch.report import write_report
from autograder.kinds import Status


@dataclass
class Results:
    """Points per student and per grade cell of one assignment, with the maxima and statuses."""

    assignment: str
    scores: dict[str, dict[str, float]]
    max_scores: dict[str, float]
    statuses: dict[str, Status] = field(default_factory=dict)
    report: Path | None = None
    pending: dict[str, set[str]] = field(default_factory=dict)  # cells waiting for a TA

    def total(self, student: str) -> float:
        return round(sum(self.scores[student].values()), 2)

    def table(self) -> str:
        """A plain-text table: one row per student, one column per exercise, total and status."""
        cells = list(self.max_scores)
        names = [cell.removeprefix("grade_") for cell in cells]
        width = max([len("student")] + [len(s) for s in self.scores])
        header = ["student".ljust(width)] + names + ["total", "status"]
        maxima = ["(max)".ljust(width)] + [f"{self.max_scores[c]:g}".rjust(len(n)) for c, n in zip(cells, names)]
        maxima.append(f"{sum(self.max_scores.values()):g}".rjust(5))
        rows = [header, maxima]
        for student in sorted(self.scores):
            got = self.scores[student]
            row = [student.ljust(width)]
            waiting = self.pending.get(student, set())
            row += [("?" if c in waiting else f"{got[c]:g}" if c in got else "-").rjust(len(n))
                    for c, n in zip(cells, names)]
            row.append(f"{self.total(student):g}".rjust(5))
            row.append(self.statuses.get(student, ""))
            rows.append(row)
        return "\n".join("  ".join(row).rstrip() for row in rows)


def grade_assignments(course: Course, assignments: list[str], csv_path: Path | None = None,
                      options: Options = Options()) -> dict[str, Results]:
    """Grade, record, write feedback, export and report every assignment in ``assignments``.

    Args:
        course: the course folder, with submissions in ``submitted/<student>/<assignment>/``.
        assignments: assignment ids.
        csv_path: where to export the whole gradebook as CSV; skipped when ``None``.
        options: workers, limits, sandbox (see ``batch.Options``).
    """
    graded = grade_class(course, assignments, options)
    results = {}
    for assignment, notebooks in graded.items():
        report = write_report(course.layout.report(assignment), assignment, notebooks, graded.isolation)
        statuses: dict[str, Status] = {}
        for result in notebooks:  # a student's status is their worst notebook's
            statuses[result.student] = Status.worst([statuses.get(result.student, Status.GRADED),
                                                     result.status])
        results[assignment] = Results(assignment, course.scores(assignment),
                                      course.max_scores(assignment), statuses, report,
                                      course.needs_manual_grading(assignment))
    if csv_path is not None:
        course.export_csv(csv_path)
    return results


def grade_assignment(course: Course, assignment: str, csv_path: Path | None = None,
                     options: Options = Options()) -> Results:
    """Grade one assignment (see :func:`grade_assignments`)."""
    return grade_assignments(course, [assignment], csv_path, options)[assignment]
