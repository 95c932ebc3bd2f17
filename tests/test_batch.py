"""The TA command as a batch: resumable, idempotent, one run at a time, every submission kept.

The class is graded once (a module fixture); a test that changes the course works on its own
copy of the graded folder, so the tests pass in any order."""
import csv
import fcntl
import json
import logging
import os
import shutil
import signal
import subprocess
import sys
import time
from contextlib import contextmanager

import pytest

from autograder.batch.course import Course
from autograder.batch.grade import grade_assignments
from autograder.batch.jobs import collect
from autograder.batch.pool import Busy, Options, grade_class
from autograder.batch.writer import record
from autograder.checks import registry
from autograder.checks.notebooks import vanilla_rnn
from autograder.checks.samples import make_submission
from autograder.layout import REPO
from autograder.notebook.sandbox import Limits

pytestmark = pytest.mark.slow
A = vanilla_rnn.NOTEBOOK.id
NAME = f"{A}.ipynb"
# student -> (the sample whose notebook they submit, their total). A student called
# "recorded" once overwrote the run's ledger (results/<assignment>/recorded.json).
CLASS = {"perfect": ("perfect", 13), "blank": ("blank", 0), "partial": ("partial", 4),
         "recorded": ("raises", 10)}
TOTALS = sorted((student, total) for student, (_, total) in CLASS.items())
OPTIONS = Options(workers=2, limits=Limits(cell_timeout=30, notebook_timeout=120), progress=False)


def _course(root):
    course = Course.create(root, [A])
    course.release(A)
    release = json.loads(course.layout.release_notebook(A).read_text())
    source = json.loads(REPO.solution_notebook(A).read_text())
    samples = {sample.student: sample for sample in registry.get(A).samples}
    for student, (sample, _) in CLASS.items():
        notebook = make_submission(release, source, samples[sample].changes)
        course.submit(student, A, {NAME: json.dumps(notebook)})
    return course


def _totals(course):
    with course.gradebook() as gradebook:
        submissions = gradebook.find_assignment(A).submissions
        return sorted((s.student.id, round(s.score, 2)) for s in submissions)


def _results(course):
    return sorted(p.stem for p in course.layout.results(A).glob("*.json"))


@contextmanager
def _logged():
    """The messages the grader logs meanwhile."""
    lines = []
    handler = logging.Handler()
    handler.emit = lambda record: lines.append(record.getMessage())
    logger = logging.getLogger("autograder")
    logger.addHandler(handler)
    level = logger.level
    logger.setLevel(logging.INFO)
    try:
        yield lines
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    course = _course(tmp_path_factory.mktemp("batch") / "course")
    with _logged() as lines:
        grade_assignments(course, [A], course.root / "grades.csv", OPTIONS)
    return course, lines


@pytest.fixture
def copy(graded, tmp_path):
    """A copy of the graded course folder, for a test that changes it."""
    shutil.copytree(graded[0].root, tmp_path / "course", symlinks=True)
    return Course(tmp_path / "course")


def test_the_class_is_graded_recorded_and_reported(graded):
    course, lines = graded
    assert _totals(course) == TOTALS
    assert f"{A}: 4 submissions, 0 already graded, 4 to grade with 2 workers" in lines
    with open(course.root / "reports" / A / "submissions.csv", newline="") as file:
        assert {row["student"]: row["status"] for row in csv.DictReader(file)} == dict.fromkeys(CLASS, "graded")
    for student in CLASS:
        assert (course.root / "feedback" / student / A / f"{A}.html").exists()


def test_a_second_run_grades_nothing_again(copy):
    before = {p: p.stat().st_mtime for p in (copy.root / "autograded").rglob("*.ipynb")}
    with _logged() as lines:
        grade_class(copy, [A], OPTIONS)
    assert f"{A}: 4 submissions, 4 already graded, 0 to grade with 1 workers" in lines
    assert {p: p.stat().st_mtime for p in (copy.root / "autograded").rglob("*.ipynb")} == before
    assert _totals(copy) == TOTALS
    assert "results" in json.loads(copy.layout.result(A, "recorded").read_text())  # not a ledger


def test_a_changed_submission_alone_is_graded_again(copy):
    perfect = copy.layout.submitted("perfect", A) / NAME
    (copy.layout.submitted("blank", A) / NAME).write_text(perfect.read_text())
    with _logged() as lines:
        grade_class(copy, [A], OPTIONS)
    assert f"{A}: 4 submissions, 3 already graded, 1 to grade with 1 workers" in lines
    assert dict(_totals(copy))["blank"] == 13
    assert dict(_totals(copy))["perfect"] == 13


def test_a_second_run_at_the_same_time_is_refused(copy, monkeypatch):
    monkeypatch.setattr("autograder.batch.pool.LOCK_WAIT", 0.5)
    with open(copy.layout.lock, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        with pytest.raises(Busy):
            grade_class(copy, [A], OPTIONS)


def test_a_run_killed_half_way_loses_nothing_and_counts_nothing_twice(tmp_path):
    course = _course(tmp_path / "course")
    limits = OPTIONS.limits  # the same limits, or the stored results would not count
    command = [sys.executable, "-m", "autograder", "grade", str(course.root), A, "--workers", "1",
               "--no-progress", "--cell-timeout", str(limits.cell_timeout),
               "--notebook-timeout", str(limits.notebook_timeout)]
    run = subprocess.Popen(command, cwd=REPO.root, start_new_session=True,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while not _results(course) and time.monotonic() < deadline:
        time.sleep(0.2)
    os.killpg(run.pid, signal.SIGKILL)  # the whole run: main process, worker and kernel
    run.wait()
    finished = _results(course)
    assert 1 <= len(finished) < len(CLASS), "killed half way"
    with _logged() as lines:
        grade_assignments(course, [A], course.root / "grades.csv", OPTIONS)
    assert f"{A}: 4 submissions, {len(finished)} already graded, {4 - len(finished)} to grade" \
           f" with 2 workers" in lines
    assert _totals(course) == TOTALS  # each student once, with the right score
    with open(course.root / "grades.csv", newline="") as file:
        assert sorted(row["student_id"] for row in csv.DictReader(file)) == sorted(CLASS)


def test_a_notebook_nbgrader_refuses_is_recorded_as_an_error_and_the_rest_still_are(copy):
    course = copy
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


def _children(pid):
    """The processes whose parent is ``pid``."""
    found = []
    for entry in os.listdir("/proc"):
        try:
            with open(f"/proc/{entry}/stat") as stat:
                if int(stat.read().rsplit(")", 1)[1].split()[1]) == pid:
                    found.append(int(entry))
        except (OSError, ValueError, IndexError):
            continue
    return found


@pytest.mark.parametrize("how", [signal.SIGTERM, signal.SIGKILL])
def test_stopping_the_command_stops_its_workers(tmp_path, how):
    # once, a grade stopped with SIGTERM or SIGKILL left its workers idle for ever
    course = _course(tmp_path / "course")
    command = [sys.executable, "-m", "autograder", "grade", str(course.root), A, "--workers", "2",
               "--no-progress"]
    run = subprocess.Popen(command, cwd=REPO.root, start_new_session=True,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while len(workers := _children(run.pid)) < 2 and time.monotonic() < deadline:
        time.sleep(0.2)
    assert len(workers) >= 2, "the workers started"
    run.send_signal(how)  # the command alone, not its process group
    run.wait()
    deadline = time.monotonic() + 30
    while any(os.path.exists(f"/proc/{pid}") for pid in workers) and time.monotonic() < deadline:
        time.sleep(0.2)
    alive = [pid for pid in workers if os.path.exists(f"/proc/{pid}")
             and open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()[0] != "Z"]
    for pid in alive:  # clean up before failing
        os.kill(pid, signal.SIGKILL)
    assert alive == []
