"""Grading a whole class: parallel workers, one writer to the gradebook, a resumable run.

``grade_class`` grades every collected submission of the given assignments:

1. Each submission (``submitted/<student>/<assignment>/``) is a job, keyed by a hash of its
   files and of the grader itself (``jobs.py``). A job whose result is already stored under
   the same key is done: a run killed half way and started again redoes only what was not
   finished, and counts nothing twice.
2. One pool of worker processes grades the pending jobs of every assignment, in order
   (``work.py``, ``notebook/grader.py``), each notebook in its own sandboxed kernel, with a
   progress bar; the workers and their kernel starters start once per run. A worker writes the
   executed notebook to ``.rnncourse/staged/`` and then, atomically, the job's result to
   ``.rnncourse/results/``.
3. Meanwhile one thread of the main process, the only writer to the gradebook, hands the
   finished ones in batches to nbgrader's own ``autograde --no-execute`` and
   ``generate_feedback`` (``writer.py``): an assignment's last batch goes as soon as its last
   job is done, while the workers grade the next assignment.

One run at a time: a lock file in ``.rnncourse/`` keeps a second run out.
"""
from __future__ import annotations

import ctypes
import fcntl
import hashlib
import logging
import multiprocessing
import os
import shutil
import signal
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path

from tqdm import tqdm

from autograder.batch import cluster, work
from autograder.batch.course import Course
from autograder.batch.jobs import Job, collect, loaded, store_failure, stored
from autograder.batch.writer import Recorder
from autograder.errors import CourseError
from autograder.kinds import SandboxMode
from autograder.layout import CourseLayout
from autograder.notebook.restore import NotebookSource
from autograder.notebook.results import NotebookResult
from autograder.notebook.sandbox import (
    Isolation,
    Limits,
    Sandbox,
    isolation,
    lease_worker_number,
    matplotlib_cache,
)

log = logging.getLogger(__name__)
PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>


@dataclass(frozen=True)
class Options:
    """How to grade: workers, limits, sandbox ("auto", "require" or "off"), what to redo."""

    # One worker per core. One more was tried (a kernel often waits on the grader and the grader
    # on it), but on two cores two workers graded a mixed class 5 to 20% faster than three in
    # every class benchmark that compared them: the gradebook writer needs its share too.
    workers: int = os.cpu_count() or 1
    limits: Limits = field(default_factory=Limits)
    sandbox: str = "auto"
    regrade: bool = False  # ignore stored results and grade everything again
    progress: bool = True
    scheduler: str | None = None  # a Dask scheduler's address: grade on that cluster (cluster.py)
    scheduler_file: str | None = None  # or the scheduler file naming it

    @property
    def on_cluster(self) -> bool:
        return bool(self.scheduler or self.scheduler_file)


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


def _setup(counter, isolation_: Isolation, limits: Limits, scratch: str, cache: str, lease: bool = True) -> None:
    leased = lease_worker_number() if lease and isolation_.mode == SandboxMode.ROOT else None
    if leased is not None:  # a kernel user of its own, whatever other runs use on this machine
        number, _WORKER["lease"] = leased
    else:
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
    sandbox = _WORKER["sandbox"]
    key = (job.course, job.assignment)
    if key not in _WORKER["sources"]:
        _WORKER["sources"][key] = work.sources(job)
    outcome = work.grade_work(work.pack(job, sandbox.limits, sandbox.isolation.mode), _WORKER["sources"][key],
                              sandbox, _WORKER["scratch"], _WORKER["cache"])
    return work.store(job, outcome)


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
    _setup(counter, isolation_, options.limits, str(scratch), str(cache), lease=False)
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


class Graded(dict):
    """The results per assignment, and how the kernels were isolated (here or on the cluster)."""

    def __init__(self, results: dict[str, list[NotebookResult]], isolation_: Isolation):
        super().__init__(results)
        self.isolation = isolation_


def grade_class(course: Course, assignments: list[str],
                options: Options = Options()) -> Graded:
    """Grade every submission of ``assignments``; see the module docstring.

    Returns the results per assignment (one per student and notebook).
    """
    remote = (cluster.connect(options.scheduler, options.scheduler_file, options.sandbox)
              if options.on_cluster else nullcontext())
    with remote as on:
        isolation_ = on.isolation if on else isolation("off" if options.sandbox == "off" else "auto")
        return Graded(_grade_class(course, assignments, options, isolation_, on), isolation_)


def _grade_class(course: Course, assignments: list[str], options: Options, isolation_: Isolation,
                 on: cluster.Cluster | None) -> dict[str, list[NotebookResult]]:
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
            return _grade_all(course, assignments, options, isolation_, scratch, cache, on)
    finally:
        _HELD_LOCKS.remove(lock.fileno())
        lock.close()


def _grade_all(course: Course, assignments: list[str], options: Options, isolation_: Isolation,
               scratch: Path, cache: Path, on: cluster.Cluster | None = None) -> dict[str, list[NotebookResult]]:
    """Grade the pending jobs of every assignment in one pool (or one submission to the
    cluster), in assignment order, recording each assignment while the next is graded."""
    jobs, pending = {}, {}
    for assignment in assignments:
        course.ensure_released(assignment)
        jobs[assignment] = collect(course, assignment, options.limits, isolation_.mode)
        if options.regrade:  # grade and record everything again
            course.layout.ledger(assignment).unlink(missing_ok=True)
        pending[assignment] = [j for j in jobs[assignment] if options.regrade or stored(j) is None]
        _forget_withdrawn(course, assignment, jobs[assignment])
    todo = [job for assignment in assignments for job in pending[assignment]]
    where = f"on the Dask cluster at {on.where}" if on else \
        f"with {min(options.workers, max(len(todo), 1))} workers"
    for assignment in assignments:
        log.info(f"{assignment}: {len(jobs[assignment])} submissions, "
                 f"{len(jobs[assignment]) - len(pending[assignment])} already graded, "
                 f"{len(pending[assignment])} to grade {where}")
    total = sum(len(j) for j in jobs.values())
    label = assignments[0] if len(assignments) == 1 else f"{len(assignments)} assignments"
    writer = Recorder(course, {assignment: len(pending[assignment]) for assignment in assignments})
    if on:
        on.run(todo, options.limits, options.progress, total - len(todo), total, label, finished=writer.add)
    else:
        _run_jobs(todo, options, isolation_, scratch, cache, total - len(todo), total, label,
                  finished=writer.add)
    writer.finish(jobs)
    log.info(f"{', '.join(assignments)}: every submission is in the gradebook, with its feedback")
    return {assignment: [r for job in jobs[assignment] for r in (stored(job) or loaded(job))]
            for assignment in assignments}


def _forget_withdrawn(course: Course, assignment: str, jobs: list[Job]) -> None:
    """Drop staged notebooks of students whose submission folder is gone."""
    students = {job.student for job in jobs}
    for student in course.layout.staged_students(assignment):
        if student not in students:
            shutil.rmtree(course.layout.staged(student, assignment))
