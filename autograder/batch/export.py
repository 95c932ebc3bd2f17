"""``grades.csv``: nbgrader's export, with the autograded and the written (TA-graded) parts apart.

nbgrader's own CSV export (``CsvExportPlugin``) gives one row per student and assignment with
the total ``score`` and ``max_score`` only, so a TA cannot tell a student who lost the written
questions from one whose written answers are still waiting to be graded. This exporter is an
nbgrader export plugin (``nbgrader export --exporter autograder.batch.export.CourseCsvExport``):
it writes nbgrader's columns, in nbgrader's order, then

| column | meaning |
|---|---|
| ``autograded_score`` / ``autograded_max`` | the code cells' points (the hidden checks) |
| ``written_score`` / ``written_max`` | the written answers' points, entered by a TA (0 until then) |
| ``needs_manual_grading`` | ``yes`` while a written answer waits for a TA in formgrader |

``raw_score`` = ``autograded_score`` + ``written_score``; ``score`` is after the late penalty,
as in nbgrader. The split is nbgrader's own: its gradebook sums grade cells by cell type, and
every written answer of the course is a markdown cell.
"""
from __future__ import annotations

import csv

from nbgrader.api import Gradebook, MissingEntry
from nbgrader.plugins import ExportPlugin

NBGRADER_COLUMNS = ["assignment", "duedate", "timestamp", "student_id", "last_name", "first_name",
                    "email", "raw_score", "late_submission_penalty", "score", "max_score"]
COLUMNS = NBGRADER_COLUMNS + ["autograded_score", "autograded_max", "written_score", "written_max",
                              "needs_manual_grading"]


class CourseCsvExport(ExportPlugin):
    """nbgrader's CSV export plus the autograded and written parts (see the module docstring)."""

    def export(self, gradebook: Gradebook) -> None:
        students = {str(s) for s in self.student}
        assignments = {str(a) for a in self.assignment}
        with open(self.to or "grades.csv", "w", newline="", encoding="utf-8") as file:
            writer = csv.DictWriter(file, COLUMNS)
            writer.writeheader()
            for assignment in gradebook.assignments:
                if assignments and assignment.name not in assignments:
                    continue
                for student in gradebook.students:
                    if students and student.id not in students:
                        continue
                    writer.writerow(_row(gradebook, assignment, student))


def _row(gradebook: Gradebook, assignment, student) -> dict:
    row = {"assignment": assignment.name, "duedate": assignment.duedate or "",
           "student_id": student.id, "last_name": student.last_name or "",
           "first_name": student.first_name or "", "email": student.email or "",
           "max_score": assignment.max_score, "autograded_max": assignment.max_code_score,
           "written_max": assignment.max_written_score}
    try:
        submission = gradebook.find_submission(assignment.name, student.id)
    except MissingEntry:  # nothing submitted: 0, as nbgrader's export has it
        return row | {"timestamp": "", "raw_score": 0.0, "late_submission_penalty": 0.0,
                      "score": 0.0, "autograded_score": 0.0, "written_score": 0.0,
                      "needs_manual_grading": "no"}
    penalty = submission.late_submission_penalty or 0.0
    return row | {"timestamp": submission.timestamp or "", "raw_score": submission.score,
                  "late_submission_penalty": penalty,
                  "score": max(0.0, submission.score - penalty),
                  "autograded_score": submission.code_score,
                  "written_score": submission.written_score,
                  "needs_manual_grading": "yes" if submission.needs_manual_grade else "no"}
