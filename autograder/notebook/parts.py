"""Grading each part of a notebook whose cells have run: its hidden check, run in the grader.

Each grade cell's captured function gets its hidden check (``remote.py``): the check runs in
the grader's process and calls a stand-in that sends each case's inputs to the kernel as plain
data. Nothing the student's code does afterwards can carry the hidden inputs into the
notebook's outputs, because nothing of the student's cells runs afterwards.
"""
from __future__ import annotations

import traceback
from dataclasses import dataclass, field

from autograder.kinds import Check, PartStatus, Severity
from autograder.notebook.cells import REQUEST_TIMEOUT, CellRunner, CellsRun, Seen, helper_key
from autograder.notebook.remote import HARNESS, NotAFunction, RemoteFunction, run_hidden
from autograder.notebook.restore import SourceCell
from autograder.notebook.results import Part


@dataclass
class Parts:
    """Every grade cell's part, and what grading them saw."""

    parts: list[Part] = field(default_factory=list)
    seen: list[Seen] = field(default_factory=list)


class PartGrader:
    """Grades the parts of one notebook from what its cells run captured.

    Args:
        runner: the cell runner, whose kernel still holds the captured functions (and which
            restarts it when an earlier check killed it).
        grade_cells: the notebook's grade cells, in order.
        zeroed: grade id -> why the part earns nothing whatever its check says (an
            integrity rule).
    """

    def __init__(self, runner: CellRunner, grade_cells: list[SourceCell], zeroed: dict[str, str]):
        self.runner, self.grade_cells, self.zeroed = runner, grade_cells, zeroed

    def grade(self, run: CellsRun) -> Parts:
        result = Parts()
        for spec in self.grade_cells:
            result.parts.append(self._part(spec, run, result.seen))
        requests = self.runner.requests
        if requests.deferred and not self.runner.own_pids and self.runner.kernel.alive():
            # the last call servers' stops; in the sandbox, ending the kernel ends them anyway
            requests.ask("None", REQUEST_TIMEOUT)
        return result

    def _part(self, spec: SourceCell, run: CellsRun, seen: list[Seen]) -> Part:
        function = spec.hidden.exercise if spec.hidden else spec.grade_id
        kernel = self.runner.kernel
        if spec.grade_id in run.captured and not kernel.alive():
            self.runner.recover()  # a death in an earlier check: the rest still gets graded
        if spec.grade_id in self.zeroed:
            return Part(spec.grade_id, spec.points, 0.0,
                        f"{self.zeroed[spec.grade_id]}. 0 of {spec.points:g} points.", PartStatus.ZERO)
        if spec.hidden is None:
            return Part(spec.grade_id, spec.points, 0.0, f"{function}: this grade cell has no hidden "
                        "call the course's grader understands", PartStatus.ERROR)
        if spec.grade_id in run.captured and kernel.alive():
            return self._check(spec, run.captured, seen)
        reason = run.missing.get(spec.grade_id, "the kernel could not be restored")
        # a limit or a dead kernel: not the student's answer, so the part is not graded
        unanswered = spec.grade_id in run.unreached or spec.grade_id in run.captured or \
            any(s.cell == spec.grade_id and s.check == Check.KERNEL_SILENT for s in run.seen)
        return Part(spec.grade_id, spec.points, 0.0, f"{function}: {reason}. 0 of {spec.points:g} points.",
                    PartStatus.NOT_RUN if unanswered else PartStatus.GRADED)

    def _check(self, spec: SourceCell, captured: dict[str, dict], seen: list[Seen]) -> Part:
        name = spec.hidden.exercise
        fn = self._stand_in(spec.grade_id, name, captured)
        keys = {helper: helper_key(spec.grade_id, helper) for helper in spec.hidden.helpers}
        helpers = tuple(self._stand_in(key, helper, captured) for helper, key in keys.items())
        try:
            score, feedback = run_hidden(spec.hidden, fn, helpers)
        except Exception:  # a bug of the grader, not of the student: say so, loudly
            seen.append(Seen(spec.grade_id, Check.GRADER_ERROR, Severity.FLAG, "part not graded",
                             traceback.format_exc(limit=-3)[-600:]))
            return Part(spec.grade_id, spec.points, 0.0, f"{name}: the grader failed on this part; "
                        "your TA will grade it by hand. 0 points for now.", PartStatus.ERROR)
        finally:
            for key, stand_in in zip((spec.grade_id, *keys.values()), (fn, *helpers)):
                if isinstance(stand_in, RemoteFunction):
                    stand_in.forget()
                    if stand_in.asked:  # a function never called has no call server to stop;
                        # stopped first thing in the next request (the next part's, usually)
                        self.runner.requests.defer(f"{HARNESS}.stop({key!r})")
        score = min(max(score, 0.0), spec.points)
        return Part(spec.grade_id, spec.points, score, feedback)

    def _stand_in(self, key: str, name: str, captured: dict[str, dict]):
        """The grader's stand-in for the function captured under ``key`` in the kernel."""
        described = captured.get(key, {"type": "undefined"})
        if not described.get("callable"):
            return NotAFunction(str(described.get("type")))
        return RemoteFunction(self.runner.requests, self.runner.kernel.folder, key, name,
                              self.runner.limits.call_timeout)

