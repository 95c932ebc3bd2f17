"""Grading on an existing Dask cluster (``grade ... --scheduler ADDRESS``).

The command stays the only writer of the course folder: it packs each pending job as plain data
(``work.pack``: the student's files, limits, sandbox mode), submits it to the cluster under a
key naming the job, and stores each outcome as it comes back (``work.store``), then hands it to
the gradebook writer, as the local pool does. A worker runs the same job function as a local
worker (``work.grade_work``) in a sandbox of its own machine, reading nothing from the course
folder: workers need no shared filesystem, only the same installed grader.

- A worker that dies mid-notebook loses nothing: the scheduler runs its tasks again on another
  worker (up to its ``distributed.scheduler.allowed-failures``, 3 by default); a job whose
  workers all died is stored as a grader error, retried by the next run. An outcome is stored
  once per job.
- SIGINT, SIGTERM or SIGHUP cancel every future not yet done and close the client; what was
  stored stays, and the next run grades only the rest.
- Every worker must isolate kernels the same way and run the same grader (code and reference
  solutions) as the command expects: checked before anything is sent, and again by each task.
"""
from __future__ import annotations

import atexit
import hashlib
import logging
import shutil
import signal
import socket
import sys
import tempfile
import threading
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tqdm import tqdm

from autograder.batch import work
from autograder.batch.jobs import Job, grader_digest, store_failure
from autograder.errors import CourseError
from autograder.kinds import SandboxMode
from autograder.notebook.sandbox import (
    Isolation,
    Limits,
    Sandbox,
    isolation,
    lease_worker_number,
    matplotlib_cache,
)

log = logging.getLogger(__name__)
CONNECT_TIMEOUT = 10.0  # seconds to reach the scheduler
WORKERS_WAIT = 60.0  # seconds to wait for a first worker of a cluster that has none
FIRST_SLOT = 1001  # kernel users of cluster workers: apart from local runs' (1, 2, ...)


class ClusterError(CourseError):
    """The cluster cannot be reached, or its workers cannot grade as this command expects."""


class WorkerUnfit(Exception):
    """A worker that would grade differently from the rest (sandbox, grader version)."""


class Stopped(CourseError):
    """The command was stopped by a signal while grading on the cluster."""


# ------------------------------------------------------------------------------ on a worker
def describe(sandbox: str) -> dict:
    """What this worker would grade with (run on every worker before a run)."""
    isolation_ = isolation("off" if sandbox == "off" else "auto")
    return {"host": socket.gethostname(), "mode": str(isolation_.mode), "reason": isolation_.reason,
            "grader": grader_digest()}


@dataclass
class _Place:
    sandbox: Sandbox
    scratch: Path
    cache: Path


_LOCAL = threading.local()
_SCRATCH: list[Path] = []
_SCRATCH_LOCK = threading.Lock()


def _slot() -> int:
    """A kernel user number no other grading thread on this machine holds (a lock file each)."""
    leased = lease_worker_number(FIRST_SLOT)
    if leased is None:
        raise WorkerUnfit(f"no free kernel user on {socket.gethostname()}")
    number, _LOCAL.lock = leased  # held as long as this thread lives
    return number


def _scratch() -> Path:
    with _SCRATCH_LOCK:
        if not _SCRATCH:
            scratch = Path(tempfile.mkdtemp(prefix="rnncourse-worker-"))
            scratch.chmod(0o755)  # the kernels' own users must reach their folders in it
            atexit.register(shutil.rmtree, scratch, True)
            matplotlib_cache(scratch / "matplotlib")
            _SCRATCH.append(scratch)
        return _SCRATCH[0]


def _place(isolation_: Isolation) -> _Place:
    if getattr(_LOCAL, "place", None) is None or _LOCAL.place.sandbox.isolation != isolation_:
        scratch = _scratch()
        _LOCAL.place = _Place(Sandbox(isolation_, Limits(), worker=_slot()), scratch, scratch / "matplotlib")
    return _LOCAL.place


def grade_remote(item: dict, notebooks: list[dict]) -> dict:
    """The task a worker runs: one submission, graded as a local worker would (plain data)."""
    found = describe(item["sandbox"])
    if found["mode"] != item["mode"]:
        raise WorkerUnfit(f"the worker on {found['host']} isolates kernels as {found['mode']!r} "
                          f"({found['reason'] or 'bubblewrap'}), the run expects {item['mode']!r}")
    if found["grader"] != item["grader"]:
        raise WorkerUnfit(f"the worker on {found['host']} has another version of the grader or of "
                          "the reference solutions than the command")
    place = _place(isolation("off" if item["sandbox"] == "off" else "auto"))
    outcome = work.grade_work(item, notebooks, place.sandbox, place.scratch, place.cache)
    outcome["worker"] = _worker_address()
    return outcome


def _worker_address() -> str:
    try:
        from distributed import get_worker
        return get_worker().address
    except ValueError:  # not in a Dask worker
        return socket.gethostname()


def _given(value):
    """A task whose result is its argument: data the scheduler can produce again if lost."""
    return value


# ------------------------------------------------------------------------------ on the command
class Cluster:
    """A connection to a Dask cluster able to grade: its workers agree on sandbox and grader."""

    def __init__(self, client, where: str, sandbox: str):
        self.client, self.where, self.sandbox = client, where, sandbox
        self.isolation = self._check_workers()

    def _check_workers(self) -> Isolation:
        if not self.client.scheduler_info()["workers"]:
            log.info(f"the cluster at {self.where} has no worker yet; waiting up to {WORKERS_WAIT:g} s")
            try:
                self.client.wait_for_workers(1, timeout=WORKERS_WAIT)
            except TimeoutError:
                raise ClusterError(f"the Dask cluster at {self.where} has no workers "
                                   f"(none joined within {WORKERS_WAIT:g} s)") from None
        found = self.client.run(describe, self.sandbox)
        ours = grader_digest()
        other = sorted(f"{address} ({d['host']})" for address, d in found.items() if d["grader"] != ours)
        if other:
            raise ClusterError("these Dask workers run another version of the grader or of the "
                               f"reference solutions than this command: {', '.join(other)}; install the "
                               "same commit of the course on every worker (see the README)")
        modes = {d["mode"] for d in found.values()}
        if len(modes) > 1:
            listed = ", ".join(f"{a} ({d['host']}): {d['mode']}" for a, d in sorted(found.items()))
            raise ClusterError(f"the Dask workers isolate kernels in different ways ({listed}); "
                               "install bubblewrap on every worker or grade with --sandbox off")
        first = next(iter(found.values()))
        log.info(f"the cluster at {self.where}: {len(found)} workers, sandbox {first['mode']}")
        return Isolation(SandboxMode(first["mode"]), first["reason"])

    def run(self, jobs: list[Job], limits: Limits, progress: bool, done: int, total: int,
            label: str, finished=lambda job: None) -> None:
        """Grade ``jobs`` on the cluster, storing each outcome as it arrives (once per job)."""
        if not jobs:
            return
        futures: dict = {}
        stored: set[str] = set()
        bar = tqdm(total=total, initial=done, desc=label, unit="notebook", disable=not progress,
                   file=sys.stderr, leave=True)
        try:
            with _stopping():
                given: dict[str, object] = {}  # the sources of each assignment, sent once
                for job in jobs:
                    if job.assignment not in given:
                        notebooks = work.sources(job)
                        texts = hashlib.sha256(repr(notebooks).encode()).hexdigest()[:16]
                        given[job.assignment] = self.client.submit(
                            _given, notebooks, key=f"rnncourse-sources-{job.assignment}-{texts}")
                    item = work.pack(job, limits, self.isolation.mode, self.sandbox)
                    key = f"rnncourse-grade-{job.assignment}-{job.student}-{job.key[:16]}"
                    futures[self.client.submit(grade_remote, item, given[job.assignment], key=key,
                                               retries=0)] = job
                self._collect(futures, stored, finished, bar)
        except (KeyboardInterrupt, Stopped) as stop:
            self.client.cancel(list(futures))
            raise Stopped(f"stopped ({stop or 'interrupted'}); the cluster's work was cancelled. "
                          f"{len(stored)} of {len(jobs)} submissions were graded and kept: run "
                          "the command again to grade the rest") from None
        except BaseException:
            self.client.cancel(list(futures))
            raise
        finally:
            bar.close()

    def _collect(self, futures: dict, stored: set[str], finished, bar) -> None:
        from distributed import as_completed

        for future in as_completed(list(futures), loop=self.client.loop):
            job = futures[future]
            if future.key in stored:
                continue  # already stored: an outcome counts once
            if future.status == "finished":
                work.store(job, future.result())
            elif future.status == "error":
                error = future.exception()
                if isinstance(error, WorkerUnfit):
                    raise ClusterError(f"{error}; install the same grader and sandbox on every "
                                       "worker (see the README)")
                log.warning(f"{job.student}: the cluster could not grade it ({type(error).__name__}: "
                            f"{error}); recorded as a grader error, retried by the next run")
                store_failure(job, job.sources(), f"on the Dask cluster: {type(error).__name__}: {error}")
            else:
                raise ClusterError(f"the Dask cluster at {self.where} dropped the work "
                                   f"({future.key}: {future.status}); run the command again")
            stored.add(future.key)
            future.release()
            finished(job)
            bar.update(1)


def _stop(signum, frame):
    raise Stopped(signal.Signals(signum).name)


@contextmanager
def _stopping():
    """SIGTERM and SIGHUP stop the run as Ctrl-C does (only the main thread can catch them)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    before = {s: signal.signal(s, _stop) for s in (signal.SIGTERM, signal.SIGHUP)}
    try:
        yield
    finally:
        for number, handler in before.items():
            signal.signal(number, handler)


@contextmanager
def connect(scheduler: str | None, scheduler_file: str | None, sandbox: str = "auto",
            timeout: float = CONNECT_TIMEOUT):
    """A :class:`Cluster` on the scheduler at ``scheduler`` (tcp://host:port) or named in
    ``scheduler_file``; the client is closed on leaving.

    Raises:
        ClusterError: nothing answers there within ``timeout`` seconds, or the workers disagree.
    """
    from distributed import Client

    where = scheduler or f"the address in {scheduler_file}"
    if scheduler_file and not Path(scheduler_file).is_file():
        raise ClusterError(f"no scheduler file {scheduler_file} (the file `dask scheduler "
                           "--scheduler-file` writes)")
    try:
        client = Client(scheduler, scheduler_file=scheduler_file, timeout=timeout,
                        set_as_default=False)
    except (OSError, TimeoutError, ValueError) as err:
        raise ClusterError(f"cannot reach the Dask scheduler at {where} within {timeout:g} s "
                           f"({type(err).__name__}: {err}); is it running, and is the address "
                           "right?") from None
    try:
        yield Cluster(client, where, sandbox)
    finally:
        client.close()


