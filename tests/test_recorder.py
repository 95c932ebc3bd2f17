"""The gradebook writer's batches (``writer.Recorder``), with nbgrader's recording replaced by a
list of what would be recorded: an assignment whose jobs are all finished is recorded at once,
while the workers grade the next one."""
import threading
from pathlib import Path

import pytest

from autograder.batch import writer
from autograder.batch.jobs import Job


@pytest.fixture
def recorded(monkeypatch):
    calls, lock = [], threading.Lock()

    def record(course, assignment, jobs, feedback=True):
        with lock:
            calls.append((assignment, sorted(j.student for j in jobs)))
        return [j.student for j in jobs]

    monkeypatch.setattr(writer, "record", record)
    return calls


def _job(assignment, n):
    return Job(Path("/nowhere"), assignment, f"s{n:02d}", ("nb",), f"key{n}")


def _settle(recorder):
    with recorder._lock:
        thread = recorder._thread
    if thread is not None:
        thread.join(10)


def test_an_assignment_is_recorded_when_its_last_job_is_done(recorded):
    recorder = writer.Recorder(course=None, pending={"first": 3, "second": 40})
    for n in range(3):
        recorder.add(_job("first", n))
    _settle(recorder)
    assert recorded == [("first", ["s00", "s01", "s02"])]  # not waiting for a batch of 8
    for n in range(9):
        recorder.add(_job("second", n))
    _settle(recorder)
    # a batch is a quarter of the assignment's jobs (here 10), at least 8
    assert [a for a, _ in recorded] == ["first"]
    recorder.add(_job("second", 9))
    _settle(recorder)
    assert recorded[1:] == [("second", [f"s{n:02d}" for n in range(10)])]
    everything = {"first": [_job("first", n) for n in range(3)],
                  "second": [_job("second", n) for n in range(40)]}
    recorder.finish(everything)
    assert recorded[2:] == [("first", ["s00", "s01", "s02"]), ("second", [f"s{n:02d}" for n in range(40)])]


def test_a_failed_batch_is_raised_by_finish_and_nothing_more_is_recorded(monkeypatch):
    calls = []

    def record(course, assignment, jobs, feedback=True):
        calls.append(assignment)
        raise RuntimeError("the gradebook is gone")

    monkeypatch.setattr(writer, "record", record)
    recorder = writer.Recorder(course=None, pending={"first": 1, "second": 1})
    recorder.add(_job("first", 0))
    _settle(recorder)
    recorder.add(_job("second", 0))
    _settle(recorder)
    with pytest.raises(RuntimeError, match="the gradebook is gone"):
        recorder.finish({"first": [_job("first", 0)], "second": [_job("second", 0)]})
    assert calls == ["first"]
