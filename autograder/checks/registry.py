"""The course's notebooks, discovered: every module of ``autograder/checks/notebooks/`` that
declares a ``NOTEBOOK``. Nothing here lists them by hand.

:func:`grade` is the one function every grade cell's hidden part calls::

    from autograder.checks import grade
    grade("03_lstm", "lstm_step_forward", lstm_step_forward)
    grade("03_lstm", "lstm_backward", lstm_backward, lstm_step_backward)  # and the step it calls
"""
from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable
from functools import lru_cache

from autograder.checks import framework, notebooks
from autograder.checks.declaration import Notebook
from autograder.errors import CourseError


@lru_cache(maxsize=None)
def declared() -> dict[str, Notebook]:
    """Every declared notebook, by id, in course order."""
    found = {}
    for info in sorted(pkgutil.iter_modules(notebooks.__path__), key=lambda m: m.name):
        module = importlib.import_module(f"{notebooks.__name__}.{info.name}")
        notebook = getattr(module, "NOTEBOOK", None)
        if not isinstance(notebook, Notebook):
            raise TypeError(f"{module.__name__} declares no NOTEBOOK = Notebook(...)")
        if notebook.id in found:
            raise TypeError(f"notebook {notebook.id} is declared twice")
        found[notebook.id] = notebook
    return dict(sorted(found.items()))


class UnknownNotebook(CourseError, ValueError):
    """An id that no declaration has."""


def get(notebook_id: str) -> Notebook:
    """The notebook declared as ``notebook_id``, or an error listing the ones there are.

    A notebook's module is named after its id without the number (``03_lstm`` in
    ``notebooks/lstm.py``, as STYLE.md has it), so this imports that module alone: a grade cell
    run by plain nbgrader in a student's kernel then loads one declaration, not every
    notebook's (and PyTorch with them).
    """
    module = f"{notebooks.__name__}.{notebook_id.partition('_')[2]}"
    if notebook_id.partition("_")[2].isidentifier():
        try:
            notebook = getattr(importlib.import_module(module), "NOTEBOOK", None)
        except ModuleNotFoundError as err:
            if err.name != module:  # the module is there but cannot import: say so
                raise
            notebook = None
        if isinstance(notebook, Notebook) and notebook.id == notebook_id:
            return notebook
    try:
        return declared()[notebook_id]
    except KeyError:
        raise UnknownNotebook(f"unknown assignment {notebook_id!r}; the course has "
                              f"{', '.join(declared())}") from None


def grade(notebook_id: str, exercise: str, fn: Callable, *helpers: Callable) -> float:
    """The hidden check of one exercise: prints its feedback, returns the points earned.

    ``helpers``: the student's own functions the exercise calls (its ``calls``), in order.
    """
    return framework.grade(get(notebook_id).exercise(exercise), fn, *helpers)
