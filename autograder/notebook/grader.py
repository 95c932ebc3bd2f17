"""Grading one student's notebook: restore, scan, run in the sandbox, check, write the result.

1. Read the submission whatever its state, and restore what the student may not change
   (``restore.py``); scan the student's code (``integrity.py``).
2. Run the notebook's cells in order in a sandboxed kernel. A grade cell's hidden part is not
   run there: the kernel only *captures* the function the cell names, as it is at that point.
   A cell over its time limit is interrupted (killed if it ignores that); a kernel that dies is
   restarted and the cells before the one that killed it run again, so only what depended on
   that cell is lost.
3. When every cell has run, grade each captured function with its hidden check, in the grader
   (``remote.py``): the student's code never runs after the hidden inputs exist, so nothing it
   prints can carry them into the feedback.
4. Write the executed notebook with each grade cell's output (feedback, then the score as the
   cell's result, which nbgrader records), and a result record for the batch.
"""
from __future__ import annotations

import json
import time
from pathlib import Path

import nbformat

from autograder.cells import grade_id, text_of
from autograder.checks import registry
from autograder.kinds import CellKind, Check, PartStatus, SandboxMode, Severity, Status
from autograder.notebook.cells import CellRunner, note
from autograder.notebook.findings import Finding
from autograder.notebook.integrity import delegations, scan
from autograder.notebook.kernel import Execution, Kernel, KernelFailed
from autograder.notebook.parts import PartGrader
from autograder.notebook.restore import NotebookSource, SourceCell, read_submission, restore
from autograder.notebook.results import NotebookResult, Part, zero_parts
from autograder.notebook.sandbox import Sandbox
from autograder.notebook.starter import preload_of


class NotebookGrader:
    """Grades one notebook of one student; see the module docstring for the steps."""

    def __init__(self, sandbox: Sandbox, source: NotebookSource, assignment: str, student: str,
                 submission: Path, scratch: Path, cache: Path | None = None):
        self.sandbox, self.source, self.assignment, self.student = sandbox, source, assignment, student
        self.submission, self.scratch, self.cache = Path(submission), Path(scratch), cache
        self.limits = sandbox.limits
        self.findings: list[Finding] = []
        self.notes: list[str] = []

    def grade(self) -> tuple[NotebookResult, dict]:
        """Returns the result and the executed notebook to give nbgrader."""
        started = time.monotonic()
        result = NotebookResult(self.student, self.assignment, self.source.name, Status.GRADED,
                                sandbox=self.sandbox.isolation.mode)
        read = read_submission(self.submission, self.source.name)
        self.findings += [f.for_student(self.student) for f in read.findings]
        if read.status != "ok":
            result.status, result.notes = Status(read.status), [read.reason]
            result.parts = zero_parts(self.source, read.reason)
            notebook = placeholder(self.source, result.parts, read.reason)
        else:
            cells, found = restore(read.notebook, self.source, self.student)
            self.findings += found
            outputs, parts = self._run(cells)
            result.parts = parts
            notebook = graded_notebook(self.source, cells, outputs, parts)
            statuses = {p.status for p in parts}
            result.status = (Status.ERROR if PartStatus.ERROR in statuses else
                             Status.INCOMPLETE if PartStatus.NOT_RUN in statuses else Status.GRADED)
        result.findings, result.notes = self.findings, result.notes or self.notes
        result.seconds = round(time.monotonic() - started, 2)
        return result, notebook

    def _found(self, cell: str, check: str, severity: str, action: str, detail: str) -> None:
        self.findings.append(Finding(self.student, self.source.name, cell, check, severity, action, detail))

    # ------------------------------------------------------------------ before running
    def _labels(self, cells: list[dict]) -> tuple[list[str], list[bool], dict[int, SourceCell]]:
        known = {c.grade_id: c for c in self.source.cells}
        labels, editable, specs = [], [], {}
        for index, cell in enumerate(cells):
            spec = known.get(grade_id(cell))
            labels.append(spec.grade_id if spec else f"cell {index + 1}")
            editable.append(spec is None or spec.kind.student_writes)
            if spec:
                specs[index] = spec
        return labels, editable, specs

    def _delegated(self, cells: list[dict], specs: dict[int, SourceCell]) -> dict[str, str]:
        """grade id -> why the part earns nothing (a by-hand function using a library)."""
        notebook = registry.get(self.assignment)
        wanted = {}
        for spec in specs.values():
            call = spec.hidden
            if spec.kind == CellKind.GRADE and call and call.argument.isidentifier():
                if notebook.is_by_hand(notebook.exercise(call.exercise)):
                    wanted[call.argument] = spec.grade_id
        found = delegations(cells, list(wanted))
        reasons = {}
        for function, delegation in found.items():
            reasons[wanted[function]] = delegation.message()
            self._found(function, Check.DELEGATION, Severity.ZERO, "part scored 0", delegation.message())
        return reasons

    # ------------------------------------------------------------------ running
    def _run(self, cells: list[dict]) -> tuple[dict[int, Execution], list[Part]]:
        labels, editable, specs = self._labels(cells)
        course_lines = {line.strip() for c in self.source.release["cells"] if c["cell_type"] == "code"
                        for line in text_of(c).splitlines() if line.strip()}
        self.findings += scan(cells, labels, editable, course_lines, self.student, self.source.name)
        zeroed = self._delegated(cells, specs)
        # named by a counter, not the student: nothing about the name should look like anything
        folder = self.sandbox.kernel_folder(self.scratch, self.submission, self.cache,
                                            preload_of(self.source.release))
        runner = CellRunner(Kernel(self.sandbox, folder), cells, labels, specs, self.limits,
                            own_pids=self.sandbox.isolation.mode != SandboxMode.NONE)
        try:
            try:
                runner.start()
            except KernelFailed as err:
                self.notes.append(f"the kernel could not start: {err}")
                return {}, zero_parts(self.source, "the grader could not start a kernel", PartStatus.ERROR)
            run = runner.run_cells()
            graded = PartGrader(runner, self.source.grade_cells, zeroed).grade(run)
            self.notes += run.notes
            for seen in run.seen + graded.seen:
                self._found(seen.cell, seen.check, seen.severity, seen.action, seen.detail)
            return run.outputs, graded.parts
        finally:
            runner.kernel.kill()
            self.sandbox.done(folder)


def graded_notebook(source: NotebookSource, cells: list[dict], outputs: dict[int, Execution],
                    parts: list[Part], note: str = "") -> dict:
    """The notebook nbgrader records: cells, their outputs, and each grade cell's result."""
    by_id = {p.grade_id: p for p in parts}
    result = []
    if note:
        result.append(nbformat.v4.new_markdown_cell(
            f"**This notebook could not be graded: {note}.** Every part scores 0."))
    for index, cell in enumerate(cells):
        cell = dict(cell)
        if cell["cell_type"] == "code":
            cell_id = grade_id(cell)
            execution = outputs.get(index)
            cell["outputs"], cell["execution_count"] = (
                (execution.outputs, execution.count) if execution else ([], None))
            if cell_id in by_id:
                cell["outputs"] = _grade_outputs(by_id.pop(cell_id))
            cell["outputs"] = _valid(cell["outputs"])
        result.append(nbformat.from_dict(cell))
    notebook = nbformat.v4.new_notebook(cells=result, metadata=source.release.get("metadata", {}))
    return json.loads(nbformat.writes(notebook))


def placeholder(source: NotebookSource, parts: list[Part], note: str) -> dict:
    """The released notebook, every part at 0, with ``note`` saying why (nothing could run)."""
    cells, _ = restore(source.release, source)
    return graded_notebook(source, cells, {}, parts, note)


def _valid(outputs: list[dict]) -> list[dict]:
    """The outputs nbformat accepts; an invalid one (odd display data) is dropped with a note."""
    kept = []
    for output in outputs:
        try:
            nbformat.v4.nbbase.validate(nbformat.from_dict(output), output.get("output_type", "?"))
            kept.append(output)
        except Exception:
            kept.append(note("[an output that is not valid notebook output was dropped]"))
    return kept


def _grade_outputs(part: Part) -> list[dict]:
    """What nbgrader reads from a grade cell: the feedback printed, then the score as its result."""
    return [{"output_type": "stream", "name": "stdout", "text": part.feedback.rstrip("\n") + "\n"},
            {"output_type": "execute_result", "execution_count": None, "metadata": {},
             "data": {"text/plain": repr(float(part.score))}}]
