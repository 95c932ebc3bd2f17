"""The TA command as a batch: resumable, idempotent, one run at a time, every submission kept."""
import csv
import fcntl
import json
import os
import signal
import subprocess
import sys
import time

import pytest
from nbgrader.api import Gradebook

from autograder.batch import STATE, Busy, Options, grade_class
from autograder.jobs import collect
from autograder.record import record
from autograder.course import Course
from autograder.demo import SAMPLE_CLASSES, make_submission
from autograder.grade import grade_assignments
from autograder.reference import COURSE_ROOT, solution_notebook
from autograder.sandbox import Limits

pytestmark = pytest.mark.slow
A = "01_vanilla_rnn"
NAME = f"{A}.ipynb"
CLASS = {"perfect": 13, "blank": 0, "partial": 4, "raises": 10}
OPTIONS = Options(workers=2, limits=Limits(cell_timeout=30, notebook_timeout=120), progress=False)


def _course(root, students=CLASS):
    course = Course.create(root, [A])
    course.release(A)
    release = json.loads((course.root / "assignments" / A / NAME).read_text())
    source = json.loads(solution_notebook(A, COURSE_ROOT).read_text())
    for student in students:
        notebook = make_submission(release, source, SAMPLE_CLASSES[A][student])
        course.submit(student, A, {NAME: json.dumps(notebook)})
    return course


def _totals(course):
    with Gradebook(course.db_url) as gradebook:
        submissions = gradebook.find_assignment(A).submissions
        return sorted((s.student.id, round(s.score, 2)) for s in submissions)


def _results(course):
    folder = course.root / STATE / "results" / A
    return sorted(p.stem for p in folder.glob("*.json") if p.name != "recorded.json")


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    course = _course(tmp_path_factory.mktemp("batch") / "course")
    lines = []
    grade_assignments(course, [A], course.root / "grades.csv", OPTIONS, log=lines.append)
    return course, lines


def test_the_class_is_graded_recorded_and_reported(course):
    course, lines = course
    assert _totals(course) == sorted(CLASS.items())
    assert f"{A}: 4 submissions, 0 already graded, 4 to grade with 2 workers" in lines
    with open(course.root / "reports" / A / "submissions.csv", newline="") as file:
        assert {row["student"]: row["status"] for row in csv.DictReader(file)} == dict.fromkeys(CLASS, "graded")
    for student in CLASS:
        assert (course.root / "feedback" / student / A / f"{A}.html").exists()


def test_a_second_run_grades_nothing_again(course):
    course, _ = course
    before = {p: p.stat().st_mtime for p in (course.root / "autograded").rglob("*.ipynb")}
    lines = []
    grade_class(course, [A], OPTIONS, log=lines.append)
    assert f"{A}: 4 submissions, 4 already graded, 0 to grade with 1 workers" in lines
    assert {p: p.stat().st_mtime for p in (course.root / "autograded").rglob("*.ipynb")} == before
    assert _totals(course) == sorted(CLASS.items())


def test_a_changed_submission_alone_is_graded_again(course):
    course, _ = course
    perfect = course.root / "submitted" / "perfect" / A / NAME
    (course.root / "submitted" / "blank" / A / NAME).write_text(perfect.read_text())
    lines = []
    grade_class(course, [A], OPTIONS, log=lines.append)
    assert f"{A}: 4 submissions, 3 already graded, 1 to grade with 1 workers" in lines
    assert dict(_totals(course))["blank"] == 13
    assert dict(_totals(course))["perfect"] == 13


def test_a_second_run_at_the_same_time_is_refused(course, monkeypatch):
    course, _ = course
    monkeypatch.setattr("autograder.batch.LOCK_WAIT", 0.5)
    with open(course.root / STATE / "lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        with pytest.raises(Busy):
            grade_class(course, [A], OPTIONS, log=lambda line: None)


def test_a_run_killed_half_way_loses_nothing_and_counts_nothing_twice(tmp_path):
    course = _course(tmp_path / "course")
    limits = OPTIONS.limits  # the same limits, or the stored results would not count
    command = [sys.executable, "-m", "autograder", "grade", str(course.root), A, "--workers", "1",
               "--no-progress", "--cell-timeout", str(limits.cell_timeout),
               "--notebook-timeout", str(limits.notebook_timeout)]
    run = subprocess.Popen(command, cwd=COURSE_ROOT, start_new_session=True,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while not _results(course) and time.monotonic() < deadline:
        time.sleep(0.2)
    os.killpg(run.pid, signal.SIGKILL)  # the whole run: main process, worker and kernel
    run.wait()
    finished = _results(course)
    assert 1 <= len(finished) < len(CLASS), "killed half way"
    lines = []
    grade_assignments(course, [A], course.root / "grades.csv", OPTIONS, log=lines.append)
    assert f"{A}: 4 submissions, {len(finished)} already graded, {4 - len(finished)} to grade" \
           f" with 2 workers" in lines
    assert _totals(course) == sorted(CLASS.items())  # each student once, with the right score
    with open(course.root / "grades.csv", newline="") as file:
        assert sorted(row["student_id"] for row in csv.DictReader(file)) == sorted(CLASS)


def test_a_notebook_nbgrader_refuses_is_recorded_as_an_error_and_the_rest_still_are(course):
    course, _ = course
    course.submit("broken", A, {NAME: "{}"})
    job = next(j for j in collect(course, A, OPTIONS.limits, "root") if j.student == "broken")
    job.staged.mkdir(parents=True, exist_ok=True)
    (job.staged / NAME).write_text(json.dumps({"cells": [{"cell_type": "code"}], "nbformat": 4}))
    job.result_path.write_text(json.dumps({"key": job.key, "results": []}))
    assert record(course, A, [job]) == ["broken"]
    stored = json.loads(job.result_path.read_text())
    assert stored["key"] == "" and stored["results"][0]["status"] == "error"
    assert dict(_totals(course))["broken"] == 0
    assert (course.root / "feedback" / "broken" / A / f"{A}.html").exists()
    assert dict(_totals(course))["perfect"] == 13
