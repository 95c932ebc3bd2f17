"""Calls of a student's function in a sandboxed kernel: one at a time, or an exercise's cases
sent in one request (``RemoteFunction.prefetch``), with the same outcomes either way."""
import time

import numpy as np
import pytest

from autograder.checks.framework import check
from autograder.checks.notebooks import vanilla_rnn
from autograder.notebook.cells import REQUEST_TIMEOUT
from autograder.notebook.kernel import Kernel
from autograder.notebook.remote import HARNESS, RemoteFunction, Requests
from autograder.notebook.sandbox import Folder, Limits, Sandbox, isolation
from rnncourse.compare import CheckFailure

pytestmark = pytest.mark.slow
TIMEOUT = 2.0
FUNCTIONS = '''
import os, time
import numpy as np

def scaled(x, factor=2.0):
    if factor == 0:
        raise ValueError(f"factor {factor} given")
    if factor < 0:
        while True:
            pass
    if factor == 13:
        os._exit(3)
    return x * factor

def rnn_step_forward(x, h_prev, Wx, Wh, b):
    h = np.tanh(x @ Wx + h_prev @ Wh + b)
    return h, (x, h_prev, Wx, Wh, h)
'''


class CountedRequests(Requests):
    """The grader's requests, counted."""

    asked = 0

    def ask(self, expression, timeout):
        self.asked += 1
        return super().ask(expression, timeout)


@pytest.fixture
def kernel(sandbox_here, tmp_path):
    sandbox = Sandbox(isolation(), Limits(memory_mb=1536), worker=9)
    folder = Folder(tmp_path / "sandbox")
    tmp_path.chmod(0o755)
    folder.create(None, sandbox.uid)
    started = Kernel(sandbox, folder)
    started.start()
    requests = CountedRequests(started)
    assert requests.ask(f"{HARNESS}.start({str(folder.inbox)!r}, {str(folder.outbox)!r}, True)",
                        REQUEST_TIMEOUT).value == "ready"
    assert started.execute(FUNCTIONS, 30).status == "ok"
    for name in ("scaled", "rnn_step_forward"):
        started.execute("", 30, user_expressions={"r": f"{HARNESS}.capture({name!r}, {name})"})
    yield started, requests
    started.kill()


def _remote(kernel, name):
    started, requests = kernel
    return RemoteFunction(requests, started.folder, name, name, TIMEOUT)


def _outcomes(fn, calls):
    outcomes = []
    for args, kwargs in calls:
        try:
            outcomes.append(("returned", fn(*args, **kwargs).tolist()))
        except Exception as err:
            outcomes.append((type(err).__name__, str(err)))
    return outcomes


CALLS = [((np.arange(3.0),), {}), ((np.ones(2),), {"factor": 0.5}), ((np.ones(2),), {"factor": 0.0}),
         ((np.ones(1),), {"factor": 13}), ((np.arange(2.0),), {"factor": 3.0})]


def test_prefetched_calls_answer_as_single_calls_do_in_one_request(kernel):
    single = _outcomes(_remote(kernel, "scaled"), CALLS)
    assert single[0] == ("returned", [0.0, 2.0, 4.0])
    assert single[2] == ("ValueError", "factor … given")  # the number masked
    assert "ended the Python process (exited with code 3)" in single[3][1]
    assert single[4] == ("returned", [0.0, 3.0])  # a new server after the one that exited

    requests = kernel[1]
    fn = _remote(kernel, "scaled")
    before = requests.asked
    fn.prefetch(CALLS)
    assert requests.asked == before + 1
    assert _outcomes(fn, CALLS) == single
    assert requests.asked == before + 1, "every answer came with the prefetch"
    assert fn.answered == {k: [] for k in fn.answered}


def test_a_call_on_inputs_not_prefetched_is_sent_alone(kernel):
    requests = kernel[1]
    fn = _remote(kernel, "scaled")
    fn.prefetch(CALLS[:1])
    before = requests.asked
    assert fn(np.arange(3.0), factor=5.0).tolist() == [0.0, 5.0, 10.0]
    assert fn(np.arange(3.0)).tolist() == [0.0, 2.0, 4.0]  # from the prefetch
    assert fn(np.arange(3.0)).tolist() == [0.0, 2.0, 4.0]  # its answer is used once
    assert requests.asked == before + 2
    fn.forget()
    folder = kernel[0].folder
    assert not list(folder.inbox.iterdir()) and not list(folder.outbox.iterdir())


def test_a_case_over_its_time_limit_in_a_prefetch_costs_that_case_only(kernel):
    requests = kernel[1]
    fn = _remote(kernel, "scaled")
    calls = [CALLS[0], ((np.ones(2),), {"factor": -1.0}), CALLS[4]]
    started = time.monotonic()
    fn.prefetch(calls)
    assert time.monotonic() - started < 2 * TIMEOUT + 5  # one case's limit, not one per case
    before = requests.asked
    outcomes = _outcomes(fn, calls)
    assert outcomes[0] == ("returned", [0.0, 2.0, 4.0])
    assert outcomes[1] == ("CheckFailure", f"scaled did not finish within {TIMEOUT:g} s (an endless loop?)")
    assert outcomes[2] == ("CheckFailure", f"not run: an earlier case of scaled did not finish within "
                                           f"{TIMEOUT:g} s")
    assert requests.asked == before, "nothing was sent after the time-out"
    with pytest.raises(CheckFailure, match="not run"):
        fn(np.ones(1))


def test_a_check_sends_each_case_once_ahead_and_grades_as_in_the_grader(kernel, ref01):
    exercise = vanilla_rnn.NOTEBOOK.exercise("rnn_step_forward")
    requests = kernel[1]
    before = requests.asked
    remote = check(exercise, _remote(kernel, "rnn_step_forward"))
    local = check(exercise, ref01.rnn_step_forward)
    assert (remote.passed, remote.total) == (local.passed, local.total) == (local.total, local.total)
    assert requests.asked == before + 1, "the cases' calls went in one request"


def test_only_a_function_that_was_asked_has_a_call_server_to_stop(kernel):
    started, requests = kernel
    servers = "sorted(__import__('rnncourse._grading.harness', fromlist=['_servers'])._servers)"
    scaled, step = _remote(kernel, "scaled"), _remote(kernel, "rnn_step_forward")
    assert not scaled.asked and not step.asked
    scaled.prefetch([((np.ones(2),), {})])
    assert scaled.asked and not step.asked
    assert requests.ask(servers, REQUEST_TIMEOUT).value == ["scaled"]
