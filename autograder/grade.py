"""The TA's job: grade every collected submission of an assignment and write the results.

Grading runs nbgrader's own ``autograde`` in the course folder (the hidden checks run in each
grade cell), then ``generate_feedback`` (one HTML per student, hidden test source removed) and
``export`` (``grades.csv``), and prints a table of points per student and per exercise.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .course import Course


@dataclass
class Results:
    """Points per student and per grade cell of one assignment, with the maxima."""

    assignment: str
    scores: dict[str, dict[str, float]]
    max_scores: dict[str, float]

    def total(self, student: str) -> float:
        return round(sum(self.scores[student].values()), 2)

    def table(self) -> str:
        """A plain-text table: one row per student, one column per exercise, then the total."""
        cells = list(self.max_scores)
        names = [cell.removeprefix("grade_") for cell in cells]
        width = max([len("student")] + [len(s) for s in self.scores])
        header = ["student".ljust(width)] + names + ["total"]
        maxima = ["(max)".ljust(width)] + [f"{self.max_scores[c]:g}".rjust(len(n)) for c, n in zip(cells, names)]
        maxima.append(f"{sum(self.max_scores.values()):g}".rjust(5))
        rows = [header, maxima]
        for student in sorted(self.scores):
            got = self.scores[student]
            row = [student.ljust(width)]
            row += [(f"{got[c]:g}" if c in got else "-").rjust(len(n)) for c, n in zip(cells, names)]
            row.append(f"{self.total(student):g}".rjust(5))
            rows.append(row)
        return "\n".join("  ".join(row) for row in rows)


def grade_assignment(course: Course, assignment: str, csv_path: Path | None = None) -> Results:
    """Autograde, write feedback and (optionally) export the gradebook for ``assignment``.

    Args:
        course: the course folder, with submissions in ``submitted/<student>/<assignment>/``.
        assignment: the assignment id.
        csv_path: where to export the whole gradebook as CSV; skipped when ``None``.
    """
    course.ensure_released(assignment)
    course.autograde(assignment)
    course.generate_feedback(assignment)
    if csv_path is not None:
        course.export_csv(csv_path)
    return Results(assignment, course.scores(assignment), course.max_scores(assignment))
