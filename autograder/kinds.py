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


class Check(StrEnum):
    """What an integrity finding is about (the ``check`` column of the integrity report)."""

    # read in the student's code before it runs (integrity.scan)
    IPYTHON_HOOK = "ipython-hook"  # uses the IPython shell: transformers, events, run_cell...
    INTERPRETER_HOOK = "interpreter-hook"  # sys.settrace, sys.modules, import machinery
    MONKEYPATCH = "monkeypatch"  # assigns an attribute of an imported module
    BUILTINS = "builtins"  # changes a builtin
    DYNAMIC_CODE = "dynamic-code"  # exec, eval, compile, __import__
    PROCESS = "process"  # processes, sockets, signals
    LIBRARY = "library"  # imports a library that does the work (PyTorch in a NumPy notebook)
    GRADER_PATH = "grader-path"  # names the gradebook, solutions/, the grader...
    GRADING_PROBE = "grading-probe"  # checks whether it runs under the grader
    MAGIC = "magic"  # a shell escape or an unusual IPython magic
    DELEGATION = "delegation"  # a by-hand graded function hands its work to a library
    # seen while the notebook ran
    RUNTIME_EVENT = "runtime-event"  # the kernel's own account: files, sockets, processes
    KERNEL_DIED = "kernel-died"
    KERNEL_SILENT = "kernel-silent"  # a request of the grader was not answered
    GRADER_ERROR = "grader-error"
    # repairs of the submitted file (restore.py)
    RENAMED_NOTEBOOK = "renamed-notebook"
    OLD_FORMAT = "old-format"
    INVALID_NOTEBOOK = "invalid-notebook"
    UNKNOWN_CELL = "unknown-cell"
    METADATA_STRIPPED = "metadata-stripped"
    DUPLICATED_CELL = "duplicated-cell"
    DELETED_CELL = "deleted-cell"
    RETYPED_CELL = "retyped-cell"
    CHANGED_CELL = "changed-cell"
    CHANGED_METADATA = "changed-metadata"
