"""The single writer to the gradebook: nbgrader's own autograde, without running anything again.

The workers leave, for each submission, the executed notebook in ``.rnncourse/staged/`` with
every grade cell's output already written by the grader. ``record`` hands those to
``nbgrader autograde --no-execute`` (which keeps outputs as they are), so nbgrader fills its
gradebook, applies late penalties and keeps the formgrader working exactly as usual; then
``nbgrader generate_feedback`` writes each student's feedback. A ledger remembers which
result (by key) each student's gradebook entry holds, so nothing is recorded twice.

A TA grades the written answers in formgrader; :func:`record_written_scores` does the same
through nbgrader's API (the demo's TA), then writes those students' feedback again.
"""
from __future__ import annotations

import json
import threading

from nbgrader.api import MissingEntry

from autograder.batch.course import Course, NbgraderFailed
from autograder.batch.jobs import Job, store_failure, write_atomic
from autograder.errors import CourseError


def record(course: Course, assignment: str, jobs: list[Job], feedback: bool = True) -> list[str]:
    """Write the staged results of the jobs not yet in the gradebook, with nbgrader itself,
    then their feedback. Only these students are touched; returns them.

    If nbgrader refuses the batch, each student is tried alone, and one it cannot take is
    recorded as a grader error (every part 0 for now, retried next run): one broken notebook
    never keeps the rest of the class out of the gradebook.
    """
    ledger_path = course.layout.ledger(assignment)
    try:
        ledger = json.loads(ledger_path.read_text())
    except (OSError, ValueError):
        ledger = {}
    keys = {}
    for job in jobs:
        try:
            keys[job.student] = json.loads(job.result_path.read_text())["key"]
        except (OSError, ValueError, KeyError):
            keys[job.student] = None
    todo = [s for s, k in keys.items() if not k or ledger.get(s) != k]
    if not todo:
        return []
    staged = course.layout.staged_students(assignment)
    try:
        _autograde(course, assignment, [s for s in staged if s not in todo])
    except NbgraderFailed:
        for student in todo:
            others = [s for s in staged if s != student]
            try:
                _autograde(course, assignment, others)
            except NbgraderFailed as err:
                keys[student] = ""
                job = next(j for j in jobs if j.student == student)
                store_failure(job, job.sources(), f"nbgrader could not record this notebook: {err}")
                _autograde(course, assignment, others)
    if feedback:  # nbgrader skips students whose feedback is newer than their grading
        course.convert("generate_feedback", assignment, exclude=[s for s in staged if s not in todo],
                       force=False)
    ledger.update({s: keys[s] for s in todo if keys[s]})
    for student in [s for s in todo if not keys[s]]:
        ledger.pop(student, None)
    write_atomic(ledger_path, json.dumps(ledger, indent=1))
    return todo


def _autograde(course: Course, assignment: str, excluded: list[str]) -> None:
    """nbgrader's autograde over the staged notebooks, without running them again."""
    course.convert("autograde", assignment, exclude=excluded, submitted=course.layout.staged_root)


class Recorder:
    """The single writer to the gradebook, recording finished jobs in batches while the
    workers grade the rest (nbgrader's own commands are slow to start; overlapping them with
    grading keeps both cores busy).

    One thread at a time records one assignment's batch: a quarter of its jobs (at least 8)
    finished, or the last ones of an assignment whose jobs are all finished, so an assignment
    graded early is in the gradebook while the workers grade the next.
    """

    def __init__(self, course: Course, pending: dict[str, int]):
        """``pending``: how many jobs of each assignment the workers will finish."""
        self.course = course
        self.expected = dict(pending)
        self.batch = {assignment: max(count // 4, 8) for assignment, count in pending.items()}
        self.finished: dict[str, list[Job]] = {assignment: [] for assignment in pending}
        self.sent = dict.fromkeys(pending, 0)
        self.error: BaseException | None = None
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def add(self, job: Job) -> None:
        with self._lock:
            self.finished[job.assignment].append(job)
            if self._thread is None and self.error is None and self._due(take=False):
                self._thread = threading.Thread(target=self._run, name="gradebook writer")
                self._thread.start()

    def _due(self, take: bool = True) -> tuple[str, list[Job]] | None:
        """The next batch to record (marked as sent if ``take``), or None."""
        for assignment, done in self.finished.items():
            waiting = len(done) - self.sent[assignment]
            if waiting and (waiting >= self.batch[assignment] or len(done) == self.expected[assignment]):
                if take:
                    self.sent[assignment] = len(done)
                return assignment, list(done)
        return None

    def _run(self) -> None:
        while True:
            with self._lock:
                due = self._due() if self.error is None else None
                if due is None:
                    self._thread = None
                    return
            try:
                record(self.course, *due)
            except BaseException as err:  # raised again by finish()
                self.error = err

    def finish(self, jobs: dict[str, list[Job]]) -> None:
        """Wait for the batch in flight, then record whatever is left of each assignment's
        ``jobs`` (all of them, finished now or in an earlier run)."""
        with self._lock:
            thread = self._thread
        if thread is not None:
            thread.join()
        if self.error is not None:
            raise self.error
        for assignment, assignment_jobs in jobs.items():
            record(self.course, assignment, assignment_jobs)


def record_written_scores(course: Course, assignment: str,
                          scores: dict[str, dict[str, float]]) -> list[str]:
    """Enter a TA's scores of written answers, ``{student: {answer grade id: points}}``, as
    formgrader does (the manual score, and the answer no longer waits for a TA), then write
    those students' feedback again; returns the students.

    Raises:
        CourseError: a student, cell or score the gradebook does not have room for.
    """
    with course.gradebook() as gradebook:
        notebooks = [n.name for n in gradebook.find_assignment(assignment).notebooks]
        others = [s.student.id for s in gradebook.find_assignment(assignment).submissions
                  if s.student.id not in scores]
        for student, cells in scores.items():
            for cell, points in cells.items():
                grade = _find_grade(gradebook, cell, notebooks, assignment, student)
                if not 0 <= points <= grade.max_score:
                    raise CourseError(f"{student}, {assignment}, {cell}: {points} points is "
                                      f"outside 0 to {grade.max_score:g}")
                grade.manual_score = float(points)
                grade.needs_manual_grade = False
        gradebook.db.commit()
    students = sorted(scores)
    if students:  # generate_feedback keeps feedback newer than the grading unless forced
        course.convert("generate_feedback", assignment, exclude=others)
    return students


def _find_grade(gradebook, cell: str, notebooks: list[str], assignment: str, student: str):
    for notebook in notebooks:
        try:
            return gradebook.find_grade(cell, notebook, assignment, student)
        except MissingEntry:
            continue
    raise CourseError(f"the gradebook has no grade {cell} of {student} in {assignment}")
