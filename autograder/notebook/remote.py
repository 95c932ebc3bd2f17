"""Hidden checks run by the grader against a function that lives in the student's kernel.

The hidden check itself (``grade_<name>(fn)`` of ``autograder/checks``) runs unchanged in the
grader's process: it draws the cases, computes the reference outputs, compares, diagnoses and
scores. Only ``fn`` is different: a :class:`RemoteFunction`, which sends each call's inputs to
the kernel as plain data, has ``rnncourse._grading.harness`` call the student's function there (in a
forked copy of the kernel, so a crash, a time-out or a memory blow-up ends only that copy),
and reads back the outputs and the inputs after the call as plain data. Before a check runs,
the first call of each of its cases goes to the kernel in one request (``prefetch``): one round
trip per exercise rather than one per case, each case still under its own time limit.

Nothing the kernel sends back is trusted beyond "this is what the function returned": files
are read without following links, with a size limit, and with ``allow_pickle=False``; an
object that is not data arrives as a stand-in with its type name; an exception arrives as its
name and a message in which numbers are masked (a message could otherwise carry the hidden
inputs into the feedback).
"""
from __future__ import annotations

import ast
import contextlib
import io
import itertools
import json
import re
from dataclasses import dataclass

import numpy as np

from autograder.checks import registry
from autograder.checks.framework import NUMBER
from autograder.checks.gradecell import HiddenCall
from autograder.kinds import Failure
from autograder.notebook.kernel import Kernel
from autograder.notebook.sandbox import Folder
from rnncourse._grading.wire import Opaque, digest, encode, read_data, write_data
from rnncourse.compare import CheckFailure

HARNESS = "__import__('importlib').import_module('rnncourse._grading.harness')"
MAX_RESULT_BYTES = 64 * 1024 * 1024


@dataclass(frozen=True)
class Answer:
    """The kernel's answer to one request: its value, or why there is none."""

    value: object = None
    failure: Failure | None = None
    error: str = ""  # the exception's name, when the request's expression raised
    detail: str = ""  # words for the failure

    @property
    def ok(self) -> bool:
        return self.failure is None


class Requests:
    """The grader's requests to the harness in one kernel, as user expressions.

    A user expression is evaluated in the kernel without passing through IPython's input
    transformers, so a transformer planted by the student cannot rewrite it. One request can
    carry several, evaluated in order; an expression :meth:`defer`-red goes first in the next
    request (its answer is not read), saving a round trip of its own.
    """

    def __init__(self, kernel: Kernel):
        self.kernel = kernel
        self.deferred: list[str] = []

    def defer(self, expression: str) -> None:
        """Evaluate ``expression`` at the start of the next request, whose answer it does not need."""
        self.deferred.append(expression)

    def ask(self, expression: str, timeout: float) -> Answer:
        """Evaluate ``expression`` in the kernel and read its value as a Python literal."""
        return self.ask_all([expression], timeout)[0]

    def ask_all(self, expressions: list[str], timeout: float) -> list[Answer]:
        """Evaluate each of ``expressions``, in order, in one request; their answers."""
        sent = {f"deferred{n}": expression for n, expression in enumerate(self.deferred)}
        sent.update({f"r{n}": expression for n, expression in enumerate(expressions)})
        self.deferred = []
        execution = self.kernel.execute("", timeout, user_expressions=sent, silent=True)
        if execution.status == "died":
            return [Answer(failure=Failure.DIED, detail=execution.reason)] * len(expressions)
        if execution.status == "timeout":
            return [Answer(failure=Failure.TIMEOUT, detail=f"no answer within {timeout:g} s")] * len(expressions)
        return [_answer(execution.user_expressions.get(f"r{n}")) for n in range(len(expressions))]


def _answer(answer) -> Answer:
    """One user expression's reply as an :class:`Answer`."""
    if not isinstance(answer, dict):
        return Answer(failure=Failure.SILENT, detail="the kernel did not evaluate the grader's request")
    if answer.get("status") != "ok":
        return Answer(failure=Failure.RAISED, error=str(answer.get("ename", "Error")),
                      detail=str(answer.get("evalue", "")))
    try:
        return Answer(ast.literal_eval(answer["data"]["text/plain"]))
    except (KeyError, TypeError, ValueError, SyntaxError):
        return Answer(failure=Failure.SILENT, detail="the kernel's reply could not be read")


class RemoteFunction:
    """Stands in for the student's function ``name`` captured under ``key`` in the kernel.

    Each call is one request to the kernel. :meth:`prefetch` sends many calls in one request
    (an exercise's cases, before its check runs); a later call on the same inputs then takes
    its answer from there, with the same outcome as if it had been sent alone: the harness
    still gives each case its own time limit and stops at the first case over it.
    """

    _numbers = itertools.count(1)

    def __init__(self, requests: Requests, folder: Folder, key: str, name: str, timeout: float):
        self.requests, self.folder, self.key = requests, folder, key
        self.__name__ = self.name = name
        self.timeout = timeout
        self.broken = ""  # once a call times out or the kernel stops answering: why
        self.unanswered = ""  # the kernel did not answer a prefetch: the next call says why
        self.answered: dict[str, list[tuple[str, dict]]] = {}  # inputs -> [(request, reply)]
        self.asked = False  # a request went to the kernel: its call server may be running

    def __call__(self, *args, **kwargs):
        if self.broken:
            raise CheckFailure(self.broken)
        if self.unanswered:
            self._stopped_answering(self.unanswered)
        tree, arrays, inputs = _encoded(args, kwargs)
        waiting = self.answered.get(inputs)
        sent_before = bool(waiting)
        request, reply = waiting.pop(0) if sent_before else (self._write(tree, arrays), None)
        try:
            if not sent_before:
                self.asked = True
                answer = self.requests.ask(
                    f"{HARNESS}.call({self.key!r}, {request!r}, {self.timeout!r})", self.timeout + 10)
                reply = answer.value if answer.ok and isinstance(answer.value, dict) else None
                if reply is None:
                    self._stopped_answering(answer.detail or "an answer the grader does not know")
            record = self._record(request, reply)
        finally:
            self._forget(request)
        return self._outcome(record, args, kwargs)

    def prefetch(self, calls: list[tuple[tuple, dict]]) -> None:
        """Call the function on each (args, kwargs) of ``calls``, in order, in one request.

        Nothing is raised here: the answers wait for the calls that ask for them.
        """
        if self.broken or self.unanswered or not calls:
            return
        sent = []
        for args, kwargs in calls:
            tree, arrays, inputs = _encoded(args, kwargs)
            sent.append((self._write(tree, arrays), inputs))
        names = [request for request, _ in sent]
        self.asked = True
        answer = self.requests.ask(f"{HARNESS}.call_many({self.key!r}, {names!r}, {self.timeout!r})",
                                   len(names) * self.timeout + 10)
        statuses = answer.value if answer.ok and isinstance(answer.value, list) else None
        if statuses is None:
            self.unanswered = answer.detail or "an answer the grader does not know"
            statuses = []
        for (request, inputs), reply in zip(sent, statuses):
            self.answered.setdefault(inputs, []).append((request, reply))
        for request, _ in sent[len(statuses):]:  # not run: after a case over its time limit
            self._forget(request)

    def forget(self) -> None:
        """Delete the answers no call asked for."""
        for waiting in self.answered.values():
            for request, _ in waiting:
                self._forget(request)
        self.answered.clear()

    def _write(self, tree: dict, arrays: dict) -> str:
        """Write one call's inputs as a new request; returns its name."""
        request = f"r{next(self._numbers)}"
        write_data(self.folder.inbox / request, tree, arrays)
        return request

    def _record(self, request: str, reply: dict) -> dict:
        """What the call of ``request`` returned, read from the kernel's answer; or CheckFailure.

        The harness replies {"status": "done" | "timeout" | "died", "how": words}.
        """
        status = reply.get("status") if isinstance(reply, dict) else None
        if status == "timeout":
            self.broken = (f"not run: an earlier case of {self.name} did not finish within "
                           f"{self.timeout:g} s")
            raise CheckFailure(f"{self.name} did not finish within {self.timeout:g} s "
                               "(an endless loop?)")
        if status == "died":
            raise CheckFailure(f"{self.name} ended the Python process ({reply.get('how')}): "
                               "look for os._exit, sys.exit or a crash in native code")
        if status != "done":
            self._stopped_answering("an answer the grader does not know")
        try:
            return read_data(self.folder.outbox / request, MAX_RESULT_BYTES)
        except (OSError, ValueError, KeyError, RecursionError) as err:
            raise CheckFailure(f"{self.name} returned something the grader cannot read "
                               f"({type(err).__name__})") from None

    def _stopped_answering(self, why: str):
        self.broken = f"not run: the kernel stopped answering ({why})"
        raise CheckFailure(f"{self.name} could not be called: the kernel stopped answering ({why})")

    def _forget(self, request: str) -> None:
        for path in [*self.folder.inbox.glob(f"{request}.*"), *self.folder.outbox.glob(f"{request}.*")]:
            path.unlink(missing_ok=True)

    def _outcome(self, record: dict, args: tuple, kwargs: dict):
        status = record.get("status")
        if status == "raised":
            raise student_exception(str(record.get("type", "Exception")), str(record.get("message", "")))
        if status != "returned":
            raise CheckFailure(f"{self.name} returned something the grader cannot read")
        synced(args, record.get("args"))
        synced(kwargs, record.get("kwargs"))
        return plain(record.get("value"))


def _encoded(args: tuple, kwargs: dict) -> tuple[dict, dict, str]:
    """One call's inputs as plain data (a tree and its arrays), and a digest of them."""
    arrays: dict = {}
    tree = {"args": encode(args, arrays), "kwargs": encode(kwargs, arrays)}
    return tree, arrays, digest(tree, arrays)


def student_exception(type_name: str, message: str) -> Exception:
    """An exception of the student's exception's name, its message cut and numbers masked."""
    message = NUMBER.sub("…", "".join(ch for ch in message if ch.isprintable()))[:200]
    if type_name == "NotImplementedError":
        return NotImplementedError(message)
    name = re.sub(r"\W", "", type_name)[:40] or "Exception"
    return type(name, (Exception,), {})(message)


def plain(value):
    """A decoded value with each :class:`Opaque` turned into an object of that type's name."""
    if isinstance(value, Opaque):
        name = re.sub(r"\W", "", value.type_name)[:40] or "object"
        return type(name, (), {"__repr__": lambda self: f"<{name}>"})()
    if isinstance(value, tuple):
        return tuple(plain(v) for v in value)
    if isinstance(value, list):
        return [plain(v) for v in value]
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    return value


def synced(target, after) -> None:
    """Make the grader's copy of the inputs hold what the student's function left in them.

    Hidden checks notice inputs changed in place, and some read results the function writes
    into its inputs; both need the inputs as they are after the call.
    """
    if isinstance(target, np.ndarray) and isinstance(after, np.ndarray):
        if target.shape == after.shape and target.flags.writeable:
            np.copyto(target, after, casting="unsafe")
    elif isinstance(target, np.random.Generator) and isinstance(after, np.random.Generator):
        # the draws the function made: a reference run over a student's helper that takes rng
        # (05's mix_inputs) goes on drawing where the helper stopped, as a local call would
        target.bit_generator.state = after.bit_generator.state
    elif isinstance(target, dict) and isinstance(after, dict):
        for key in [k for k in target if k not in after]:
            del target[key]
        for key, value in after.items():
            if key in target and type(target[key]) is type(value) and isinstance(value, (np.ndarray, dict, list)):
                synced(target[key], value)
            else:
                target[key] = plain(value)
    elif isinstance(target, list) and isinstance(after, list):
        if len(target) == len(after):
            for index, (old, new) in enumerate(zip(target, after)):
                if type(old) is type(new) and isinstance(new, (np.ndarray, dict, list, tuple)):
                    synced(old, new)
                else:
                    target[index] = plain(new)
        else:
            target[:] = plain(after)
    elif isinstance(target, tuple) and isinstance(after, tuple) and len(target) == len(after):
        for old, new in zip(target, after):
            synced(old, new)


class NotAFunction:
    """What a grade cell names when it is not callable in the student's kernel."""

    def __init__(self, type_name: str):
        self.type_name = type_name


def run_hidden(call: HiddenCall, fn, helpers: tuple = ()) -> tuple[float, str]:
    """Run the hidden check named by ``call`` on ``fn`` (and the student's ``helpers`` it
    calls, stand-ins too); returns (score, feedback printed)."""
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed), contextlib.redirect_stderr(io.StringIO()):
        score = registry.grade(call.notebook, call.exercise, fn, *helpers)
    return float(score), printed.getvalue()


def describe(answer: Answer) -> dict:
    """The capture answer of the harness (JSON) as a dict; {} if there is none."""
    try:
        value = json.loads(answer.value) if answer.ok else None
    except (TypeError, ValueError):
        return {}
    return value if isinstance(value, dict) else {}
