"""The text of a grade cell: written from the declaration at release, read back at grading.

A grade cell says in a comment what is checked and for how many points, and its hidden part is
one call into the registry::

    # Hidden checks of rnn_step_forward run here when the notebook is graded (2 points).
    ### BEGIN HIDDEN TESTS
    from autograder.checks import grade
    grade("01_vanilla_rnn", "rnn_step_forward", rnn_step_forward)
    ### END HIDDEN TESTS

An exercise whose function calls the student's own graded functions (its ``calls``) hands
those to the check too, after the function:
``grade("03_lstm", "lstm_backward", lstm_backward, lstm_step_backward)``.

``make release`` writes every grade cell (its text and its points) from the notebook's
declaration, so neither can drift from the hidden checks.
"""
from __future__ import annotations

import ast
import re
from dataclasses import dataclass

HIDDEN = re.compile(r"### BEGIN HIDDEN TESTS\n(.*?)### END HIDDEN TESTS\n?", re.S)
IMPORT = "from autograder.checks import grade"


@dataclass(frozen=True)
class HiddenCall:
    """The hidden part of a grade cell: ``grade(<notebook>, <exercise>, <argument>, *<helpers>)``."""

    notebook: str
    exercise: str
    argument: str  # an expression of the student's namespace, e.g. "rnn_step_forward"
    helpers: tuple[str, ...] = ()  # names of the student's functions it calls, e.g. ("rnn_step_forward",)


def grade_id(exercise: str) -> str:
    """The grade id of an exercise's grade cell (also the column of nbgrader's gradebook)."""
    return f"grade_{exercise}"


def argument(exercise: str, adapter: str = "") -> str:
    """What a grade cell hands to the check: the function, or the function through ``adapter``."""
    return f"{adapter}({exercise})" if adapter else exercise


def source(notebook: str, exercise: str, points: float, adapter: str = "",
           calls: tuple[str, ...] = ()) -> str:
    """The source of the grade cell of ``exercise`` in ``notebook``, handing the check the
    student's functions it ``calls`` too."""
    arguments = ", ".join([argument(exercise, adapter), *calls])
    return (f"# Hidden checks of {exercise} run here when the notebook is graded "
            f"({points:g} point{'s' * (points != 1)}).\n"
            "### BEGIN HIDDEN TESTS\n"
            f"{IMPORT}\n"
            f'grade("{notebook}", "{exercise}", {arguments})\n'
            "### END HIDDEN TESTS")


def metadata(exercise: str, points: float) -> dict:
    """nbgrader's metadata of the grade cell of ``exercise``."""
    return {"grade": True, "grade_id": grade_id(exercise), "locked": True,
            "points": points, "schema_version": 3, "solution": False, "task": False}


def parse(text: str) -> tuple[HiddenCall | None, str]:
    """The hidden call of a grade cell's source (None if it is not exactly one registry call),
    and the cell's visible code with comments stripped."""
    match = HIDDEN.search(text)
    visible = HIDDEN.sub("", text)
    visible_code = "\n".join(line for line in visible.splitlines()
                             if line.strip() and not line.strip().startswith("#"))
    if not match:
        return None, visible_code
    try:
        body = ast.parse(match.group(1)).body
    except SyntaxError:
        return None, visible_code
    if len(body) != 2 or ast.unparse(body[0]) != IMPORT or not isinstance(body[1], ast.Expr):
        return None, visible_code
    call = body[1].value
    if not (isinstance(call, ast.Call) and isinstance(call.func, ast.Name) and call.func.id == "grade"
            and len(call.args) >= 3 and not call.keywords
            and all(isinstance(a, ast.Constant) and isinstance(a.value, str) for a in call.args[:2])
            and all(isinstance(a, ast.Name) for a in call.args[3:])):  # helpers: plain names
        return None, visible_code
    notebook, exercise = (a.value for a in call.args[:2])
    helpers = tuple(a.id for a in call.args[3:])
    return HiddenCall(notebook, exercise, ast.unparse(call.args[2]), helpers), visible_code
