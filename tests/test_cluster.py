"""Grading past one machine: a real Dask cluster and a real PostgreSQL gradebook, on 127.0.0.1.

The session starts a PostgreSQL server (Debian's binaries, run as the ``postgres`` user when the
tests run as root) and a Dask scheduler with two worker processes, once; each test grades the
small class of ``test_batch`` in a course folder of its own, with a database of its own."""
import csv
import glob
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import pytest

from autograder.batch.cluster import ClusterError, connect
from autograder.batch.course import Course
from autograder.batch.grade import grade_assignments
from autograder.batch.pool import Options
from autograder.layout import REPO
from tests.test_batch import CLASS, NAME, OPTIONS, TOTALS, A, _children, _course, _logged, _results, _totals

pytestmark = pytest.mark.slow
REQUIRED = bool(os.environ.get("RNNCOURSE_REQUIRE_SANDBOX"))


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _postgres_bin() -> Path | None:
    """The folder of PostgreSQL's server programs: on PATH, or Debian's /usr/lib/postgresql/<v>/bin."""
    if shutil.which("pg_ctl") and shutil.which("initdb"):
        return Path(shutil.which("pg_ctl")).resolve().parent
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"),
                   key=lambda p: int(Path(p).parts[-3]) if Path(p).parts[-3].isdigit() else 0)
    return Path(found[-1]).parent if found else None


class Postgres:
    """A PostgreSQL server in a folder of its own; ``database()`` makes a fresh database."""

    def __init__(self, bin_dir: Path):
        self.bin = bin_dir
        self.port = _free_port()
        self.root = Path(tempfile.mkdtemp(prefix="rnncourse-pg-"))  # not under pytest's 0700 folder
        # postgres refuses to run as root: as root, run it as Debian's unprivileged postgres user
        self.as_user = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        if self.as_user:
            shutil.chown(self.root, "postgres", "postgres")
        self.count = 0

    def _run(self, *args: str) -> None:
        done = subprocess.run([*self.as_user, *args], capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, f"{args[0]} failed: {done.stdout}{done.stderr}"

    def start(self) -> None:
        data = self.root / "data"
        self._run(str(self.bin / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres",
                  "-E", "UTF8", "--no-sync")
        self._run(str(self.bin / "pg_ctl"), "-D", str(data), "-l", str(self.root / "log"), "-w",
                  "-t", "60", "-o", f"-p {self.port} -k {self.root} -h 127.0.0.1 -c fsync=off", "start")

    def stop(self) -> None:
        subprocess.run([*self.as_user, str(self.bin / "pg_ctl"), "-D", str(self.root / "data"),
                        "-m", "immediate", "stop"], capture_output=True, timeout=60)
        shutil.rmtree(self.root, ignore_errors=True)

    def database(self) -> str:
        import psycopg

        self.count += 1
        name = f"gradebook{self.count}"
        with psycopg.connect(host="127.0.0.1", port=self.port, user="postgres", dbname="postgres",
                             autocommit=True) as connection:
            connection.execute(f"CREATE DATABASE {name}")
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{name}"

    def rows(self, url: str, query: str) -> list[tuple]:
        import psycopg

        with psycopg.connect(url.replace("postgresql+psycopg", "postgresql")) as connection:
            return connection.execute(query).fetchall()


@pytest.fixture(scope="session")
def postgres():
    bin_dir = _postgres_bin()
    if bin_dir is None:
        message = "PostgreSQL's server programs are not installed (make setup installs Debian's postgresql)"
        if REQUIRED:
            pytest.fail(message + " (RNNCOURSE_REQUIRE_SANDBOX is set)")
        pytest.skip(message)
    server = Postgres(bin_dir)
    try:
        server.start()
        yield server
    finally:
        server.stop()


class Dask:
    """A Dask scheduler and two worker processes (one thread each), started as commands."""

    def __init__(self, root: Path):
        self.root = root
        self.file = root / "scheduler.json"
        self.processes: list[subprocess.Popen] = []

    def _start(self, *args: str, name: str) -> subprocess.Popen:
        log = open(self.root / f"{name}.log", "w")
        process = subprocess.Popen([sys.executable, "-m", "dask", *args], cwd=self.root, stdout=log,
                                   stderr=subprocess.STDOUT, start_new_session=True)
        self.processes.append(process)
        return process

    def start(self) -> None:
        from distributed import Client

        self._start("scheduler", "--host", "127.0.0.1", "--port", "0", "--scheduler-file",
                    str(self.file), "--no-dashboard", name="scheduler")
        deadline = time.monotonic() + 60
        while not self.file.exists() and time.monotonic() < deadline:
            time.sleep(0.2)
        assert self.file.exists(), (self.root / "scheduler.log").read_text()
        for number in (1, 2):
            self._start("worker", "--scheduler-file", str(self.file), "--nworkers", "1", "--nthreads",
                        "1", "--no-dashboard", "--name", f"worker{number}", name=f"worker{number}")
        with Client(scheduler_file=str(self.file), timeout=30) as client:
            client.wait_for_workers(2, timeout=120)

    def client(self):
        from distributed import Client

        return Client(scheduler_file=str(self.file), timeout=30, set_as_default=False)

    def stop(self) -> None:
        for process in reversed(self.processes):
            try:
                os.killpg(process.pid, signal.SIGTERM)
            except ProcessLookupError:
                continue
        for process in reversed(self.processes):
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()


@pytest.fixture(scope="session")
def dask_cluster(tmp_path_factory, sandbox_here):
    cluster = Dask(tmp_path_factory.mktemp("dask"))
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.stop()


def _on(dask_cluster) -> Options:
    return Options(workers=OPTIONS.workers, limits=OPTIONS.limits, progress=False,
                   scheduler_file=str(dask_cluster.file))


def _table(path: Path, drop: tuple[str, ...] = ()) -> list[dict]:
    with open(path, newline="", encoding="utf-8") as file:
        return [{k: v for k, v in row.items() if k not in drop} for row in csv.DictReader(file)]


def test_the_same_class_on_the_cluster_with_postgres_gets_the_same_grades_feedback_and_report(
        tmp_path, postgres, dask_cluster):
    here = _course(tmp_path / "here")  # local workers, SQLite
    grade_assignments(here, [A], here.root / "grades.csv", OPTIONS)
    url = postgres.database()
    there = Course(_course(tmp_path / "there").root, db=url)  # the cluster, PostgreSQL
    (there.root / "gradebook.db").unlink()  # the release made it: the grades must go elsewhere
    with _logged() as lines:
        grade_assignments(there, [A], there.root / "grades.csv", _on(dask_cluster))
    assert any(f"4 to grade on the Dask cluster at the address in {dask_cluster.file}" in line
               for line in lines)
    assert not (there.root / "gradebook.db").exists()  # the gradebook is PostgreSQL's
    in_postgres = postgres.rows(url, "SELECT s.id, count(*) FROM submitted_assignment a JOIN student s "
                                     "ON a.student_id = s.id GROUP BY s.id ORDER BY s.id")
    assert in_postgres == [(student, 1) for student in sorted(CLASS)]

    assert _totals(there) == _totals(here) == TOTALS
    assert there.scores(A) == here.scores(A)
    for student in CLASS:  # nbformat gives each cell without an id a random one
        feedback = [re.sub(r"cell-id=[\w-]+", "cell-id=", (c.root / "feedback" / student / A / f"{A}.html")
                           .read_text()) for c in (here, there)]
        assert feedback[0] == feedback[1], student
    for name, drop in (("submissions.csv", ("seconds",)), ("findings.csv", ())):
        reports = [_table(c.root / "reports" / A / name, drop) for c in (here, there)]
        assert reports[0] == reports[1], name
    assert _table(there.root / "grades.csv") == _table(here.root / "grades.csv")


def test_a_worker_killed_mid_notebook_loses_nothing(tmp_path, postgres, dask_cluster):
    course = Course(_course(tmp_path / "course").root, db=postgres.database())
    outcome = {}

    def grade():
        try:
            outcome["results"] = grade_assignments(course, [A], course.root / "grades.csv",
                                                   _on(dask_cluster))
        except BaseException as err:
            outcome["error"] = err

    run = threading.Thread(target=grade)
    run.start()
    killed = None
    with dask_cluster.client() as client:
        deadline = time.monotonic() + 180
        while killed is None and run.is_alive() and time.monotonic() < deadline:
            busy = {address for address, keys in client.processing().items() if keys}
            for address, pid in client.run(os.getpid).items():
                if address in busy and _children(pid):  # a kernel is running there
                    os.kill(pid, signal.SIGKILL)  # its nanny starts a new worker
                    killed = address
                    break
            time.sleep(0.1)
        run.join(timeout=600)
    assert killed, "a worker was killed while it graded a notebook"
    assert "error" not in outcome, outcome.get("error")
    assert outcome["results"][A].statuses == dict.fromkeys(CLASS, "graded")
    assert _totals(course) == TOTALS  # each student once, with the right score
    assert sorted(row["student_id"] for row in _table(course.root / "grades.csv")) == sorted(CLASS)
    assert len(_results(course)) == len(CLASS)


def test_stopping_the_command_cancels_its_work_and_the_next_run_grades_the_rest(
        tmp_path, postgres, dask_cluster):
    url = postgres.database()
    course = Course(_course(tmp_path / "course").root, db=url)
    limits = OPTIONS.limits
    command = [sys.executable, "-m", "autograder", "grade", str(course.root), A, "--no-progress",
               "--scheduler-file", str(dask_cluster.file), "--db", url,
               "--cell-timeout", str(limits.cell_timeout), "--notebook-timeout", str(limits.notebook_timeout)]
    run = subprocess.Popen(command, cwd=REPO.root, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 180
    while not _results(course) and time.monotonic() < deadline and run.poll() is None:
        time.sleep(0.1)
    run.send_signal(signal.SIGTERM)
    _, stderr = run.communicate(timeout=120)
    finished = _results(course)
    assert run.returncode == 1 and "stopped (SIGTERM)" in stderr, stderr
    assert 1 <= len(finished) < len(CLASS), "stopped half way"
    with dask_cluster.client() as client:  # the scheduler forgot the stopped run's tasks
        deadline = time.monotonic() + 30
        while any(k.startswith("rnncourse-grade-") for k in client.who_has()) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not any(keys for keys in client.processing().values())
    with _logged() as lines:
        grade_assignments(course, [A], course.root / "grades.csv", _on(dask_cluster))
    assert any(f"{len(CLASS)} submissions, {len(finished)} already graded, "
               f"{len(CLASS) - len(finished)} to grade on the Dask cluster" in line for line in lines)
    assert _totals(course) == TOTALS


def test_a_cluster_that_cannot_be_reached_is_named_quickly():
    address = f"tcp://127.0.0.1:{_free_port()}"
    started = time.monotonic()
    with pytest.raises(ClusterError, match=f"cannot reach the Dask scheduler at {address}"):
        with connect(address, None, timeout=2):
            pass
    assert time.monotonic() - started < 20
    with pytest.raises(ClusterError, match="no scheduler file"):
        with connect(None, "/nonexistent/scheduler.json"):
            pass


def test_a_submission_travels_as_plain_data(tmp_path):
    from autograder.batch import work
    from autograder.batch.jobs import collect

    course = _course(tmp_path / "course")
    (course.layout.submitted("perfect", A) / "data").mkdir()
    (course.layout.submitted("perfect", A) / "data" / "x.bin").write_bytes(b"\0\1")
    (course.layout.submitted("perfect", A) / "link").symlink_to("/etc/hostname")
    job = next(j for j in collect(course, A, OPTIONS.limits, "none") if j.student == "perfect")
    item = work.pack(job, OPTIONS.limits, "none")
    plain = (dict, list, str, bytes, int, float, bool, type(None))

    def walk(value):
        assert isinstance(value, plain), type(value)
        for inner in (value.values() if isinstance(value, dict) else value if isinstance(value, list) else ()):
            walk(inner)

    walk(item)
    walk(work.sources(job))
    assert {f["path"] for f in item["files"]} == {NAME, "data/x.bin"}
    assert item["links"] == [{"path": "link", "target": "/etc/hostname"}]
    unpacked = tmp_path / "unpacked"
    work._unpack({**item, "files": [*item["files"], {"path": "../outside", "data": b"x"}]}, unpacked)
    assert (unpacked / "data" / "x.bin").read_bytes() == b"\0\1"
    assert os.readlink(unpacked / "link") == "/etc/hostname"
    assert not (tmp_path / "outside").exists()
    assert json.loads((unpacked / NAME).read_text()) == json.loads(
        (course.layout.submitted("perfect", A) / NAME).read_text())


def test_the_command_names_a_scheduler_it_cannot_reach(tmp_path):
    (tmp_path / "submitted" / "someone" / A).mkdir(parents=True)
    address = f"tcp://127.0.0.1:{_free_port()}"
    started = time.monotonic()
    done = subprocess.run([sys.executable, "-m", "autograder", "grade", str(tmp_path), A, "--scheduler",
                           address], cwd=REPO.root, capture_output=True, text=True, timeout=120)
    assert done.returncode == 1
    assert f"error: cannot reach the Dask scheduler at {address} within 10 s" in done.stderr
    assert time.monotonic() - started < 60


def test_workers_with_another_grader_are_refused_by_name(tmp_path, dask_cluster, monkeypatch):
    course = _course(tmp_path / "course")
    monkeypatch.setattr("autograder.batch.cluster.grader_digest", lambda: "another grader")
    with pytest.raises(ClusterError, match="these Dask workers run another version of the grader") as err:
        grade_assignments(course, [A], None, _on(dask_cluster))
    assert "tcp://127.0.0.1:" in str(err.value)  # each named by its address
    monkeypatch.undo()
    # a worker that joins later is checked by each task: the run stops, nothing is stored
    monkeypatch.setattr("autograder.batch.work.grader_digest", lambda: "another grader")
    with pytest.raises(ClusterError, match="has another version of the grader"):
        grade_assignments(course, [A], None, _on(dask_cluster))
    assert _results(course) == []
