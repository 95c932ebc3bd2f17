"""Grading a whole class: parallel workers, one writer to the gradebook, a resumable run.

``grade_class`` grades every collected submission of the given assignments:

1. Each submission (``submitted/<student>/<assignment>/``) is a job, keyed by a hash of its
   files and of the grader itself (``jobs.py``). A job whose result is already stored under
   the same key is done: a run killed half way and started again redoes only what was not
   finished, and counts nothing twice.
2. Worker processes grade the pending jobs (``runner.py``), each notebook in its own sandboxed
   kernel, with a progress bar. A worker writes the executed notebook to
   ``.rnncourse/staged/`` and then, atomically, the job's result to ``.rnncourse/results/``.
3. Meanwhile one thread of the main process, the only writer to the gradebook, hands the
   finished ones in batches to nbgrader's own ``autograde --no-execute`` and
   ``generate_feedback`` (``record.py``); the last batch goes when the workers are done.

One run at a time: a lock file in ``.rnncourse/`` keeps a second run out.
"""
from __future__ import annotations

import ctypes
import fcntl
import hashlib
import json
import logging
import multiprocessing
import os
import shutil
import signal
import sys
import tempfile
import time
import traceback
from concurrent.futures import ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path

from tqdm import tqdm

from autograder.batch.course import Course
from autograder.batch.jobs import Job, collect, failed, loaded, store_failure, stored, write_atomic
from autograder.batch.writer import Recorder
from autograder.errors import CourseError
from autograder.layout import CourseLayout
from autograder.notebook import grader as runner
from autograder.notebook.restore import NotebookSource
from autograder.notebook.results import NotebookResult
from autograder.notebook.sandbox import Isolation, Limits, Sandbox, isolation, matplotlib_cache

log = logging.getLogger(__name__)
PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>


@dataclass(frozen=True)
class Options:
    """How to grade: workers, limits, sandbox ("auto", "require" or "off"), what to redo."""

    # One more worker than cores: a kernel often waits on the grader and the grader on it.
    workers: int = (os.cpu_count() or 1) + 1
    limits: Limits = field(default_factory=Limits)
    sandbox: str = "auto"
    regrade: bool = False  # ignore stored results and grade everything again
    progress: bool = True


# ------------------------------------------------------------------------------ the workers
_WORKER: dict = {}
_HELD_LOCKS: list[int] = []


def _die_with_parent() -> None:
    """Have the kernel end this process when the process that started it ends, however it
    ends (SIGKILL, a closed terminal): a worker left behind would idle for ever. Linux only."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    except (OSError, AttributeError):
        log.debug("no prctl here: workers outlive a killed grading run")
    if os.getppid() == 1:  # the parent ended before the line above
        os._exit(1)


def _start_worker(counter, isolation_: Isolation, limits: Limits, scratch: str, cache: str) -> None:
    _die_with_parent()
    for fd in _HELD_LOCKS:  # the lock is the main process's: a worker left behind must not hold it
        os.close(fd)
    _HELD_LOCKS.clear()
    _setup(counter, isolation_, limits, scratch, cache)


def _setup(counter, isolation_: Isolation, limits: Limits, scratch: str, cache: str) -> None:
    with counter.get_lock():
        counter.value += 1
        number = counter.value
    _WORKER.update(sandbox=Sandbox(isolation_, limits, worker=number), scratch=Path(scratch),
                   cache=Path(cache), sources={})


def _source(course: Path, assignment: str, name: str) -> NotebookSource:
    key = (course, assignment, name)
    if key not in _WORKER["sources"]:
        layout = CourseLayout(course)
        _WORKER["sources"][key] = NotebookSource.load(layout.solution_notebook(assignment, name),
                                                      layout.release_notebook(assignment, name))
    return _WORKER["sources"][key]


def grade_job(job: Job) -> list[dict]:
    """Grade every notebook of one submission; store the staged notebooks and the result."""
    results = []
    if job.staged.exists():
        shutil.rmtree(job.staged)
    job.staged.mkdir(parents=True)
    timestamp = job.submitted / "timestamp.txt"
    if timestamp.is_file() and not timestamp.is_symlink():
        shutil.copy(timestamp, job.staged / "timestamp.txt")
    key = job.key
    for name in job.notebooks:
        source = _source(job.course, job.assignment, name)
        try:
            grader = runner.NotebookGrader(_WORKER["sandbox"], source, job.assignment, job.student,
                                           job.submitted, _WORKER["scratch"], _WORKER["cache"])
            result, notebook = grader.grade()
        except Exception:  # a grader bug: record it, never lose the submission
            result, notebook = failed(job, source, traceback.format_exc())
        if result.status == "error":
            key = ""  # never reused: the next run tries again
        write_atomic(job.staged / f"{name}.ipynb", json.dumps(notebook))
        results.append(result.to_json())
    write_atomic(job.result_path, json.dumps({"key": key, "results": results}))
    return results


# ------------------------------------------------------------------------------ the batch
def _run_jobs(jobs: list[Job], options: Options, isolation_: Isolation, scratch: Path,
              cache: Path, done: int, total: int, label: str, finished=lambda job: None) -> None:
    context = multiprocessing.get_context("fork")  # workers inherit the loaded modules
    counter = context.Value("i", 0)
    pending = list(jobs)
    for attempt in range(2):  # a worker killed from outside breaks the pool: retry once
        if not pending:
            return
        bar = tqdm(total=total, initial=done + len(jobs) - len(pending), desc=label, unit="notebook",
                   disable=not options.progress, file=sys.stderr, leave=True)
        try:
            with ProcessPoolExecutor(max_workers=min(options.workers, len(pending)), mp_context=context,
                                     initializer=_start_worker,
                                     initargs=(counter, isolation_, options.limits, str(scratch),
                                               str(cache))) as pool:
                futures = {pool.submit(grade_job, job): job for job in pending}
                for future in as_completed(futures):
                    future.result()
                    pending.remove(futures[future])
                    finished(futures[future])
                    bar.update(1)
        except BrokenProcessPool:
            continue
        finally:
            bar.close()
    _setup(counter, isolation_, options.limits, str(scratch), str(cache))
    for job in pending:  # graded neither time: record it as a grader error
        store_failure(job, [_source(job.course, job.assignment, n) for n in job.notebooks],
                      "a grading worker died twice on this submission")


class Busy(CourseError):
    """Another grading run holds the course folder."""


LOCK_WAIT = 10.0  # seconds: a run killed a moment ago may still be letting go of the lock


def _lock(course: Course, wait: float | None = None):
    """Hold the course's grading lock (a run killed a moment ago may still be letting go)."""
    course.layout.state.mkdir(exist_ok=True)
    lock = open(course.layout.lock, "w")
    deadline = time.monotonic() + (LOCK_WAIT if wait is None else wait)
    while True:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            _HELD_LOCKS.append(lock.fileno())
            return lock
        except BlockingIOError:
            if time.monotonic() > deadline:
                lock.close()
                raise Busy(f"another grading run is using {course.root}; wait for it to finish") from None
            time.sleep(0.2)


def grade_class(course: Course, assignments: list[str],
                options: Options = Options()) -> dict[str, list[NotebookResult]]:
    """Grade every submission of ``assignments``; see the module docstring.

    Returns the results per assignment (one per student and notebook).
    """
    isolation_ = isolation("off" if options.sandbox == "off" else "auto")
    if isolation_.unprotected and options.sandbox == "require":
        raise CourseError(isolation_.warning())
    log.info("sandbox: %s", isolation_.summary())
    if isolation_.unprotected:
        log.warning(isolation_.warning())
    lock = _lock(course)
    prefix = f"rnncourse-grade-{hashlib.sha256(str(course.root).encode()).hexdigest()[:8]}-"
    for stale in Path(tempfile.gettempdir()).glob(prefix + "*"):  # a killed run's; we hold the lock
        shutil.rmtree(stale, ignore_errors=True)
    try:
        with tempfile.TemporaryDirectory(prefix=prefix) as scratch_name:
            scratch = Path(scratch_name)
            scratch.chmod(0o755)  # the kernels' own users must reach their folders in it
            cache = matplotlib_cache(course.layout.matplotlib_cache)
            return {assignment: _grade_assignment(course, assignment, options, isolation_,
                                                  scratch, cache)
                    for assignment in assignments}
    finally:
        _HELD_LOCKS.remove(lock.fileno())
        lock.close()


def _grade_assignment(course: Course, assignment: str, options: Options, isolation_: Isolation,
                      scratch: Path, cache: Path) -> list[NotebookResult]:
    course.ensure_released(assignment)
    jobs = collect(course, assignment, options.limits, isolation_.mode)
    if options.regrade:  # grade and record everything again
        course.layout.ledger(assignment).unlink(missing_ok=True)
    pending = [j for j in jobs if options.regrade or stored(j) is None]
    log.info(f"{assignment}: {len(jobs)} submissions, {len(jobs) - len(pending)} already graded, "
        f"{len(pending)} to grade with {min(options.workers, max(len(pending), 1))} workers")
    _forget_withdrawn(course, assignment, jobs)
    writer = Recorder(course, assignment, batch=max(len(pending) // 4, 8))
    _run_jobs(pending, options, isolation_, scratch, cache, len(jobs) - len(pending), len(jobs),
              assignment, finished=writer.add)
    writer.finish(jobs)
    log.info(f"{assignment}: every submission is in the gradebook, with its feedback")
    return [r for job in jobs for r in (stored(job) or loaded(job))]


def _forget_withdrawn(course: Course, assignment: str, jobs: list[Job]) -> None:
    """Drop staged notebooks of students whose submission folder is gone."""
    students = {job.student for job in jobs}
    for student in course.layout.staged_students(assignment):
        if student not in students:
            shutil.rmtree(course.layout.staged(student, assignment))
