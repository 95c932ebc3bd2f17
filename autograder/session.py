"""One notebook in one sandboxed kernel: run its cells, survive its deaths, grade its parts.

The cells run in order. A grade cell does not run its hidden part in the kernel: the kernel
only *captures* the function the cell names, as it stands there. A cell over its time limit
is interrupted, and killed if it ignores that (code that swallows ``KeyboardInterrupt``); a
kernel that dies (``os._exit``, a crash, a kill) is restarted and the cells that ran before
run again, so only what depended on the cell that killed it is lost. The notebook as a whole
has a time limit too.

When every cell has run, each captured function gets its hidden check, run in the grader
(``remote.py``). Nothing the student's code does afterwards can carry the hidden inputs into
the notebook's outputs, because nothing of the student's runs afterwards.
"""
from __future__ import annotations

import ast
import time
import traceback
from collections.abc import Callable

from .integrity import kernel_findings
from .kernel import Execution, Kernel, KernelFailed
from .remote import HARNESS, NotAFunction, RemoteFunction, Requests, describe, run_hidden, student_exception
from .restore import SourceCell, text_of
from .results import Part
from .sandbox import Limits

MAX_RESTARTS = 10  # and the notebook's time limit, which replays count against
REQUEST_TIMEOUT = 30.0


class Session:
    """One notebook's kernel: runs the cells, restarts after a death, then grades the parts.

    Args:
        kernel: a kernel not yet started, in its sandbox folder.
        cells: the restored cells; ``labels`` name them in findings; ``specs`` maps a cell's
            index to its source cell, for the cells nbgrader knows.
        grade_cells: the notebook's grade cells, in order.
        limits: the time limits.
        found: ``found(cell, check, severity, action, detail)`` records a finding.
        notes: where to say, in words, what went wrong while running.
    """

    def __init__(self, kernel: Kernel, cells: list[dict], labels: list[str],
                 specs: dict[int, SourceCell], grade_cells: list[SourceCell], limits: Limits,
                 found: Callable[..., None], notes: list[str]):
        self.kernel, self.cells, self.labels, self.specs = kernel, cells, labels, specs
        self.grade_cells, self.limits, self.found, self.notes = grade_cells, limits, found, notes
        self.requests = Requests(kernel)
        self.outputs: dict[int, Execution] = {}
        self.history: list[int] = []  # cells run (or captured) successfully, for a replay
        self.captured: dict[str, dict] = {}
        self.missing: dict[str, str] = {}  # grade id -> why its function was not captured
        self.deadline = 0.0
        self.restarts = 0

    def start(self) -> None:
        self.kernel.start()
        folder = self.kernel.folder
        answer, problem = self.requests.ask(
            f"{HARNESS}.start({str(folder.inbox)!r}, {str(folder.outbox)!r})", REQUEST_TIMEOUT)
        if answer != "ready":
            raise KernelFailed(f"the grading harness did not start ({problem})")

    def remaining(self) -> float:
        return self.deadline - time.monotonic()

    def run_cells(self) -> None:
        self.deadline = time.monotonic() + self.limits.notebook_timeout
        for index, cell in enumerate(self.cells):
            if cell["cell_type"] != "code":
                continue
            if self.remaining() <= 0 or not self.kernel.alive():
                self._not_reached(index, "the notebook's time limit of "
                                  f"{self.limits.notebook_timeout:g} s ran out" if self.remaining() <= 0
                                  else "the kernel could not be restored")
                continue
            spec = self.specs.get(index)
            if spec is not None and spec.kind == "grade" and spec.hidden:
                if spec.visible_code:
                    self._run_cell(index, spec.visible_code)
                self._capture(index, spec)
            else:
                self._run_cell(index, text_of(cell))

    def _run_cell(self, index: int, code: str) -> None:
        timeout = min(self.limits.cell_timeout, max(self.remaining(), 0.1))
        execution = self.kernel.execute(code, timeout, {"changes": f"{HARNESS}.changes()"},
                                        output_bytes=self.limits.output_kb * 1024)
        self.outputs[index] = execution
        if execution.truncated:  # said first: nbgrader keeps only a cell's first 1000 lines
            execution.outputs.insert(0, note(f"[output cut: this cell printed more than "
                                              f"{self.limits.output_kb} kB; the start is shown]"))
        if execution.status in ("ok", "error"):
            self.history.append(index)
            self._observe(index, execution)
            return
        limit = "the notebook's time limit" if timeout < self.limits.cell_timeout else "its time limit"
        if execution.status == "timeout":
            message = f"this cell did not finish within {timeout:.0f} s ({limit}); it was interrupted"
            execution.outputs.append(_error("TimeoutError", message))
            self.notes.append(f"{self.labels[index]}: {message}")
            return
        message = f"the kernel {execution.reason.removeprefix('the kernel ')}"
        if "ignored the interrupt" in execution.reason:
            message = (f"this cell did not finish within {timeout:.0f} s ({limit}) and ignored the "
                       "interrupt, so the kernel was killed")
        self.notes.append(f"{self.labels[index]}: {message}")
        recovered = self._recover()
        self.found(self.labels[index], "kernel-died", "info",
                   "restarted" if recovered else "could not restart", message)
        execution.outputs.append(_error("KernelDied", message + (
            "; the cells above were run again in a new kernel, and grading went on after this cell"
            if recovered else "; the kernel could not be restored, so the cells below did not run")))

    def _capture(self, index: int, spec: SourceCell) -> None:
        answer, problem = self.requests.ask(
            f"{HARNESS}.capture({spec.grade_id!r}, {spec.hidden.argument})", REQUEST_TIMEOUT)
        described = describe(answer)
        if described:
            self.captured[spec.grade_id] = described
            self.history.append(index)
            return
        name = spec.hidden.argument
        if problem.startswith("NameError"):
            self.missing[spec.grade_id] = f"{name} is not defined where its grade cell stands"
        elif problem.startswith(("died", "timeout", "no answer")):
            self.missing[spec.grade_id] = f"the kernel did not answer when {name} was to be graded"
            self.found(spec.grade_id, "kernel-silent", "flag", "part scored 0",
                       f"the grader's request was not answered ({problem})")
            if problem.startswith("died"):
                self._recover()
        else:
            err = student_exception(*(problem.split(": ", 1) + [""])[:2])
            self.missing[spec.grade_id] = f"{name} could not be read ({type(err).__name__}: {err})"

    def _recover(self) -> bool:
        """Restart the kernel and run again the cells that ran before; False if impossible."""
        if self.restarts >= MAX_RESTARTS or self.remaining() <= 0:
            return False
        while self.restarts < MAX_RESTARTS and self.remaining() > 0:
            self.restarts += 1
            try:
                self.kernel.kill()
                self.start()
            except KernelFailed:
                continue
            if self._replay():
                return True
        self.kernel.kill()
        self.notes.append(f"the kernel could not be restored ({self.restarts} restarts"
                          + (", no time left)" if self.remaining() <= 0 else ")"))
        return False

    def _replay(self) -> bool:
        for index in list(self.history):
            spec = self.specs.get(index)
            if spec is not None and spec.kind == "grade" and spec.hidden:
                answer, _ = self.requests.ask(
                    f"{HARNESS}.capture({spec.grade_id!r}, {spec.hidden.argument})", REQUEST_TIMEOUT)
                ok = bool(describe(answer))
            else:
                timeout = min(self.limits.cell_timeout, max(self.remaining(), 0.1))
                ok = self.kernel.execute(text_of(self.cells[index]), timeout).status in ("ok", "error")
            if not ok:
                return False
        return True

    def _not_reached(self, index: int, reason: str) -> None:
        spec = self.specs.get(index)
        if spec is not None and spec.kind == "grade":
            self.missing.setdefault(spec.grade_id, f"not reached: {reason}")
        else:
            self.outputs[index] = Execution("skipped", [note(f"[not run: {reason}]")])
        if not any(reason in line for line in self.notes):
            self.notes.append(f"not every cell ran: {reason}")

    def _observe(self, index: int, execution: Execution | None = None) -> None:
        """Findings from the kernel's own account of what the cell at ``index`` changed."""
        if not self.kernel.alive():
            return
        changes = execution.user_expressions.get("changes") if execution else None
        report = None
        if isinstance(changes, dict) and changes.get("status") == "ok":
            try:
                report = ast.literal_eval(changes["data"]["text/plain"])
            except (KeyError, TypeError, ValueError, SyntaxError):
                report = None
        if not isinstance(report, str):  # an error stops user expressions: ask on its own
            answer, _ = self.requests.ask(f"{HARNESS}.changes()", REQUEST_TIMEOUT)
            report = answer if isinstance(answer, str) else None
        spec = self.specs.get(index)
        course_cell = spec is not None and spec.kind in ("locked", "grade")
        for finding in kernel_findings(report, "", "", self.labels[index]):
            if course_cell and finding.severity == "info":
                continue  # the course's own setup importing torch is nothing to report
            self.found(finding.cell, finding.check, finding.severity, finding.action, finding.detail)

    # ------------------------------------------------------------------ grading
    def grade_parts(self, zeroed: dict[str, str]) -> list[Part]:
        """Each grade cell's part: its hidden check run against the captured function."""
        parts = []
        for spec in self.grade_cells:
            function = spec.hidden.argument if spec.hidden else spec.grade_id
            if spec.grade_id in self.captured and not self.kernel.alive():
                self._recover()  # a death in an earlier check: the rest still gets graded
            if spec.grade_id in zeroed:
                parts.append(Part(spec.grade_id, spec.points, 0.0,
                                  f"{zeroed[spec.grade_id]}. 0 of {spec.points:g} points.", "zero"))
            elif spec.hidden is None:
                parts.append(Part(spec.grade_id, spec.points, 0.0, f"{function}: this grade cell has "
                                  "no hidden call the course's grader understands", "error"))
            elif spec.grade_id in self.captured and self.kernel.alive():
                parts.append(self._check(spec))
            else:
                reason = self.missing.get(spec.grade_id, "the kernel could not be restored")
                status = "not run" if reason.startswith(("not reached", "the kernel")) else "graded"
                parts.append(Part(spec.grade_id, spec.points, 0.0,
                                  f"{function}: {reason}. 0 of {spec.points:g} points.", status))
        return parts

    def _check(self, spec: SourceCell) -> Part:
        described = self.captured[spec.grade_id]
        name = spec.hidden.argument
        fn = (RemoteFunction(self.requests, self.kernel.folder, spec.grade_id, name,
                             self.limits.call_timeout)
              if described.get("callable") else NotAFunction(str(described.get("type"))))
        try:
            score, feedback = run_hidden(spec.hidden, fn)
        except Exception:  # a bug of the grader, not of the student: say so, loudly
            self.found(spec.grade_id, "grader-error", "flag", "part not graded",
                       traceback.format_exc(limit=-3)[-600:])
            return Part(spec.grade_id, spec.points, 0.0, f"{name}: the grader failed on this part; "
                        "your TA will grade it by hand. 0 points for now.", "error")
        finally:
            self.requests.ask(f"{HARNESS}.stop({spec.grade_id!r})", REQUEST_TIMEOUT)
        score = min(max(score, 0.0), spec.points)
        return Part(spec.grade_id, spec.points, score, feedback)


def note(text: str) -> dict:
    return {"output_type": "stream", "name": "stdout", "text": text + "\n"}


def _error(name: str, message: str) -> dict:
    return {"output_type": "error", "ename": name, "evalue": message, "traceback": [f"{name}: {message}"]}
