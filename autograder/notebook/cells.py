"""Running one notebook's cells in one sandboxed kernel, and surviving its deaths.

The cells run in order. A grade cell does not run its hidden part in the kernel: the kernel
only *captures* the function the cell names, as it stands there. A cell over its time limit
is interrupted, and killed if it ignores that (code that swallows ``KeyboardInterrupt``); a
kernel that dies (``os._exit``, a crash, a kill) is restarted and the cells that ran before
run again, so only what depended on the cell that killed it is lost. The notebook as a whole
has a time limit too.
"""
from __future__ import annotations

import ast
import time
from dataclasses import dataclass, field

from autograder.cells import text_of
from autograder.kinds import CellKind, Check, Failure, Severity
from autograder.notebook.integrity import kernel_findings
from autograder.notebook.kernel import Execution, Kernel, KernelFailed
from autograder.notebook.remote import HARNESS, Answer, Requests, describe, student_exception
from autograder.notebook.restore import SourceCell
from autograder.notebook.sandbox import Limits

MAX_RESTARTS = 10  # and the notebook's time limit, which replays count against
REQUEST_TIMEOUT = 30.0


@dataclass(frozen=True)
class Seen:
    """A finding about one cell, before it is known whose notebook it is in."""

    cell: str
    check: str
    severity: Severity
    action: str
    detail: str


@dataclass
class CellsRun:
    """What running the cells produced: outputs, the captured functions, and what went wrong."""

    outputs: dict[int, Execution] = field(default_factory=dict)
    captured: dict[str, dict] = field(default_factory=dict)  # grade id -> what was captured
    missing: dict[str, str] = field(default_factory=dict)  # grade id -> why nothing was
    unreached: set[str] = field(default_factory=set)  # grade ids a limit or a death kept from running
    seen: list[Seen] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # what went wrong, in words


class CellRunner:
    """Executes cells in one kernel: run, interrupt, kill, restart, replay.

    Args:
        kernel: a kernel not yet started, in its sandbox folder.
        cells: the restored cells; ``labels`` name them in findings; ``specs`` maps a cell's
            index to its source cell, for the cells nbgrader knows.
        limits: the time limits.
        own_pids: the kernel has a PID namespace of its own (the sandbox).
    """

    def __init__(self, kernel: Kernel, cells: list[dict], labels: list[str],
                 specs: dict[int, SourceCell], limits: Limits, own_pids: bool):
        self.kernel, self.cells, self.labels, self.specs = kernel, cells, labels, specs
        self.limits, self.own_pids = limits, own_pids
        self.requests = Requests(kernel)
        self.run = CellsRun()
        self.history: list[int] = []  # cells run (or captured) successfully, for a replay
        self.deadline = 0.0
        self.restarts = 0

    def start(self) -> None:
        """Start the kernel and the grading harness in it (raises KernelFailed)."""
        self.kernel.start()
        folder = self.kernel.folder
        answer = self.requests.ask(f"{HARNESS}.start({str(folder.inbox)!r}, {str(folder.outbox)!r}, "
                                   f"{self.own_pids!r})", REQUEST_TIMEOUT)
        if answer.value != "ready":
            raise KernelFailed(f"the grading harness did not start ({answer.detail})")

    def remaining(self) -> float:
        return self.deadline - time.monotonic()

    def run_cells(self) -> CellsRun:
        """Run every code cell in order (a grade cell: capture its function)."""
        self.deadline = time.monotonic() + self.limits.notebook_timeout
        for index, cell in enumerate(self.cells):
            if cell["cell_type"] != "code":
                continue
            if self.remaining() <= 0 or not self.kernel.alive():
                self._not_reached(index, f"the notebook's time limit of {self.limits.notebook_timeout:g} s "
                                  "ran out" if self.remaining() <= 0 else "the kernel could not be restored")
                continue
            spec = self.specs.get(index)
            if spec is not None and spec.kind == CellKind.GRADE and spec.hidden:
                if spec.visible_code:
                    self._run_cell(index, spec.visible_code)
                self._capture(index, spec)
            else:
                self._run_cell(index, text_of(cell))
        return self.run

    def _run_cell(self, index: int, code: str) -> None:
        timeout = min(self.limits.cell_timeout, max(self.remaining(), 0.1))
        execution = self.kernel.execute(code, timeout, {"changes": f"{HARNESS}.changes()"},
                                        output_bytes=self.limits.output_kb * 1024)
        self.run.outputs[index] = execution
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
            execution.outputs.append(error_output("TimeoutError", message))
            self.run.notes.append(f"{self.labels[index]}: {message}")
            return
        message = f"the kernel {execution.reason.removeprefix('the kernel ')}"
        if execution.ignored_interrupt:
            message = (f"this cell did not finish within {timeout:.0f} s ({limit}) and ignored the "
                       "interrupt, so the kernel was killed")
        self.run.notes.append(f"{self.labels[index]}: {message}")
        recovered = self.recover()
        self.run.seen.append(Seen(self.labels[index], Check.KERNEL_DIED, Severity.INFO,
                                  "restarted" if recovered else "could not restart", message))
        execution.outputs.append(error_output("KernelDied", message + (
            "; the cells above were run again in a new kernel, and grading went on after this cell"
            if recovered else "; the kernel could not be restored, so the cells below did not run")))

    def _capture(self, index: int, spec: SourceCell) -> None:
        answer = self._capture_with_helpers(spec)
        if describe(answer):
            self.history.append(index)
            return
        name = spec.hidden.exercise
        if answer.failure == Failure.RAISED and answer.error == "NameError":
            self.run.missing[spec.grade_id] = f"{name} is not defined where its grade cell stands"
        elif answer.failure == Failure.RAISED:
            err = student_exception(answer.error, answer.detail)
            self.run.missing[spec.grade_id] = f"{name} could not be read ({type(err).__name__}: {err})"
        else:
            self.run.missing[spec.grade_id] = f"the kernel did not answer when {name} was to be graded"
            self.run.seen.append(Seen(spec.grade_id, Check.KERNEL_SILENT, Severity.FLAG, "part scored 0",
                                      f"the grader's request was not answered ({answer.failure}: "
                                      f"{answer.detail})"))
            if answer.failure == Failure.DIED:
                self.recover()

    def _capture_with_helpers(self, spec: SourceCell) -> Answer:
        """Capture the function a grade cell names and the student's functions it calls, as they
        stand at the cell (the check grades it over them too), in one request; a helper that is
        not defined is left out. Returns the answer about the graded function."""
        keys = [spec.grade_id, *(helper_key(spec.grade_id, name) for name in spec.hidden.helpers)]
        names = [spec.hidden.argument, *spec.hidden.helpers]
        answers = self.requests.ask_all([f"{HARNESS}.capture({key!r}, {name})" for key, name in zip(keys, names)],
                                        REQUEST_TIMEOUT)
        if describe(answers[0]):
            for key, answer in zip(keys, answers):
                if describe(answer):
                    self.run.captured[key] = describe(answer)
        return answers[0]

    def recover(self) -> bool:
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
        self.run.notes.append(f"the kernel could not be restored ({self.restarts} restarts"
                              + (", no time left)" if self.remaining() <= 0 else ")"))
        return False

    def _replay(self) -> bool:
        for index in list(self.history):
            spec = self.specs.get(index)
            if spec is not None and spec.kind == CellKind.GRADE and spec.hidden:
                ok = bool(describe(self._capture_with_helpers(spec)))
            else:
                timeout = min(self.limits.cell_timeout, max(self.remaining(), 0.1))
                ok = self.kernel.execute(text_of(self.cells[index]), timeout).status in ("ok", "error")
            if not ok:
                return False
        return True

    def _not_reached(self, index: int, reason: str) -> None:
        spec = self.specs.get(index)
        if spec is not None and spec.kind == CellKind.GRADE:
            self.run.missing.setdefault(spec.grade_id, f"not reached: {reason}")
            self.run.unreached.add(spec.grade_id)
        else:
            self.run.outputs[index] = Execution("skipped", [note(f"[not run: {reason}]")])
        if not any(reason in line for line in self.run.notes):
            self.run.notes.append(f"not every cell ran: {reason}")

    def _observe(self, index: int, execution: Execution) -> None:
        """Findings from the kernel's own account of what the cell at ``index`` changed."""
        if not self.kernel.alive():
            return
        changes = execution.user_expressions.get("changes")
        report = None
        if isinstance(changes, dict) and changes.get("status") == "ok":
            try:
                report = ast.literal_eval(changes["data"]["text/plain"])
            except (KeyError, TypeError, ValueError, SyntaxError):
                report = None
        if not isinstance(report, str):  # an error stops user expressions: ask on its own
            answer = self.requests.ask(f"{HARNESS}.changes()", REQUEST_TIMEOUT)
            report = answer.value if isinstance(answer.value, str) else None
        spec = self.specs.get(index)
        course_cell = spec is not None and spec.kind in (CellKind.LOCKED, CellKind.GRADE)
        for finding in kernel_findings(report, "", "", self.labels[index]):
            if course_cell and finding.severity == Severity.INFO:
                continue  # the course's own setup importing torch is nothing to report
            self.run.seen.append(Seen(finding.cell, finding.check, Severity(finding.severity),
                                      finding.action, finding.detail))


def helper_key(grade_id: str, helper: str) -> str:
    """The key under which the kernel keeps ``helper``, captured for the grade cell ``grade_id``."""
    return f"{grade_id}:{helper}"


def note(text: str) -> dict:
    return {"output_type": "stream", "name": "stdout", "text": text + "\n"}


def error_output(name: str, message: str) -> dict:
    return {"output_type": "error", "ename": name, "evalue": message, "traceback": [f"{name}: {message}"]}
