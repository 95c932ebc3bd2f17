"""The course's errors: one base class, so the command line tells a user's mistake (a clear
message) from a bug of the grader (a traceback, with ``--debug``)."""
from __future__ import annotations


class CourseError(Exception):
    """Something the user can fix: a wrong argument, a folder in the wrong state, a notebook
    that fails validation. The command prints the message and exits with status 1."""
