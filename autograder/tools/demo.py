"""The whole loop on a sample class: release, submissions, autograde, gradebook, feedback.

Each declared notebook has a sample class (its declaration's ``samples``): students made from
the released notebook the way students make theirs, by replacing the stubs in the solution
cells. Each stands for a kind of submission a TA meets (perfect, blank, partial, float32, a
subtle bug, code that raises), and the points each must earn are declared with it, so the
demo doubles as the end-to-end test of every notebook. Sample students answer the written
questions too (``Sample.answers``); after autograding, the demo's TA enters their scores
through nbgrader's API, as formgrader would, and the feedback and grades.csv are written again.
"""
from __future__ import annotations

import json
import logging
import time
from dataclasses import replace
from pathlib import Path

from autograder.authoring.release import release
from autograder.batch.course import Course
from autograder.batch.grade import Results, grade_assignment
from autograder.batch.writer import record_written_scores
from autograder.checks import registry
from autograder.checks.samples import make_submission
from autograder.layout import REPO

log = logging.getLogger(__name__)


def submit_sample_class(course: Course, assignment: str, copies: int = 1) -> list[str]:
    """Submit the sample class of ``assignment`` to ``course`` (released there already),
    ``copies`` times over (students ``s001-perfect``, ... when more than once); returns the ids."""
    notebook = registry.get(assignment)
    release_nb = json.loads(course.layout.release_notebook(assignment).read_text())
    source_nb = json.loads(REPO.solution_notebook(assignment).read_text())
    name = course.layout.release_notebook(assignment).name
    students = []
    for number in range(copies * len(notebook.samples)):
        sample = notebook.samples[number % len(notebook.samples)]
        student = sample.student if copies == 1 else f"s{number + 1:03d}-{sample.student}"
        answers = {q.grade_id: sample.answers[q.name].text for q in notebook.written
                   if q.name in sample.answers}
        submission = make_submission(release_nb, source_nb, sample.changes, answers)
        course.submit(student, assignment, {name: json.dumps(submission, indent=1)})
        students.append(student)
    return students


def grade_written_answers(course: Course, results: Results) -> Results:
    """The demo's TA: each answered written question gets the score its sample declares,
    entered through nbgrader's API as formgrader would; returns the results read back."""
    notebook = registry.get(results.assignment)
    samples = {sample.student: sample for sample in notebook.samples}
    scores = {student: {q.grade_id: samples[student].written_score(q) for q in notebook.written
                        if q.grade_id in results.pending.get(student, set())}
              for student in results.scores if student in samples}
    scores = {student: cells for student, cells in scores.items() if cells}
    if not scores:
        return results
    record_written_scores(course, results.assignment, scores)
    log.info(f"4. {results.assignment}: the TA graded {sum(map(len, scores.values()))} written "
             "answers (nbgrader's API, as formgrader does); feedback written again")
    return replace(results, scores=course.scores(results.assignment),
                   pending=course.needs_manual_grading(results.assignment))


def run_demo(work: Path, assignments: list[str]) -> dict[str, Results]:
    """Release with validation, submit the sample classes, grade them, and write every output.

    Writes, under ``work``: ``course/`` (an nbgrader course with its gradebook, submitted/,
    autograded/, feedback/ and reports/) and ``grades.csv``.
    """
    work = Path(work)
    started = time.perf_counter()
    log.info(f"1. release {', '.join(assignments)} with validation")
    for validation in release(assignments, out=work / "release"):
        log.info(f"   {validation.assignment}: solution full marks, release zero, no solution "
                 f"text ({validation.seconds:.0f} s)")
    course = Course.create(work / "course", assignments)
    results = {}
    for assignment in assignments:
        course.release(assignment)
        students = submit_sample_class(course, assignment)
        log.info(f"2. {assignment}: {len(students)} submissions: {', '.join(students)}")
        log.info(f"3. {assignment}: grade in sandboxed kernels, record in the gradebook, "
                 "feedback, export, integrity report")
        results[assignment] = grade_assignment(course, assignment, csv_path=work / "grades.csv")
        log.info(results[assignment].table())
        results[assignment] = grade_written_answers(course, results[assignment])
        if registry.get(assignment).written:
            log.info(results[assignment].table())
    course.export_csv(work / "grades.csv")
    layout = course.layout
    log.info(f"gradebook: {course.db_url}")
    log.info(f"grades:    {work / 'grades.csv'}")
    log.info(f"feedback:  {layout.root / 'feedback'}/<student>/<assignment>/<assignment>.html")
    log.info(f"integrity: {layout.root / 'reports'}/<assignment>/report.html")
    log.info(f"done in {time.perf_counter() - started:.0f} s")
    return results
