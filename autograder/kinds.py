"""The grader's named states, each declared once.

They are ``StrEnum``s: a member is equal to its text, so results stored as JSON by an earlier
run, nbgrader's CSV and the integrity report read the same as before, while code compares and
orders members instead of matching English words.
"""
from __future__ import annotations

from enum import StrEnum


class Status(StrEnum):
    """What happened to one student's notebook, in order of how much a TA must look at it."""

    GRADED = "graded"  # the notebook ran and every part was graded
    INCOMPLETE = "incomplete"  # a part could not be graded because of a limit; it scores 0
    MISSING = "missing"  # no notebook was submitted
    UNREADABLE = "unreadable"  # the file is not a readable notebook
    ERROR = "error"  # the grader itself failed; the next run tries again

    @classmethod
    def worst(cls, statuses) -> "Status":
        """The status that matters most of ``statuses`` (``GRADED`` if there are none)."""
        order = list(cls)
        return max((cls(s) for s in statuses), key=order.index, default=cls.GRADED)


class PartStatus(StrEnum):
    """What happened to one graded part (one grade cell) of a notebook."""

    GRADED = "graded"
    ZERO = "zero"  # an integrity rule gave it 0 (a by-hand function that delegates)
    NOT_RUN = "not run"  # a limit or a dead kernel kept it from being graded
    ERROR = "error"  # the grader failed on it


class Severity(StrEnum):
    """How much a finding of the integrity checks matters."""

    INFO = "info"  # recorded, nothing suspicious (an old file format, a library imported)
    FLAG = "flag"  # a TA should look; it cost no points and earned none
    ZERO = "zero"  # the part scored 0 because of it


class CellKind(StrEnum):
    """What nbgrader's metadata makes a cell of the source notebook."""

    GRADE = "grade"  # an autograded test cell
    SOLUTION = "solution"  # the student's code
    MANUAL = "manual"  # a solution cell graded by hand (a written answer)
    LOCKED = "locked"  # setup, visible checks, instructions
    FREE = "free"  # an editable cell nobody grades (an experiment)

    @property
    def student_writes(self) -> bool:
        return self in (CellKind.SOLUTION, CellKind.MANUAL, CellKind.FREE)


class SandboxMode(StrEnum):
    """How a student's kernel is isolated."""

    ROOT = "root"  # bubblewrap, and each kernel an unprivileged user of its own
    USER = "user"  # bubblewrap in a user namespace (no per-kernel user, no process limit)
    NONE = "none"  # no sandbox: files, network and processes are unprotected


class Failure(StrEnum):
    """Why the kernel gave no answer to one of the grader's requests."""

    DIED = "died"  # the kernel (or the forked copy serving the call) ended
    TIMEOUT = "timeout"  # no answer within the time limit
    SILENT = "silent"  # the kernel answered, but not to the request
    RAISED = "raised"  # the request's expression raised; see the answer's error name
