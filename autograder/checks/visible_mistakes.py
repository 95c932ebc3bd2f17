"""The outputs of a notebook's named mistakes on its visible cases, for the fixture.

A visible check names a mistake the way the hidden check does, without holding broken code:
the grader runs every named mistake of an exercise (a broken variant of the reference) on each
visible case and stores its outputs and its hint as ``mistake/<function>/<case>/<k>/<output>``
and ``.../<k>/hint``; the visible check compares a wrong answer with them
(``rnncourse.visible.likely_mistake``). The visible module says which calls it makes with
``call_args(function, reference) -> {case: args}``.
"""
from __future__ import annotations

import copy

import numpy as np

from autograder.checks.declaration import Notebook
from autograder.checks.framework import _pick, _Quiet


def mistake_outputs(notebook: Notebook, reference) -> dict[str, np.ndarray]:
    """Every named mistake's outputs and hint on every visible case; a variant that raises on
    a case stores nothing for it."""
    values = {}
    for exercise in notebook.exercises:
        cases = notebook.visible.call_args(exercise.name, reference)
        for case, args in cases.items():
            for k, mistake in enumerate(exercise.mistakes):
                try:
                    with _Quiet():
                        got = _pick(exercise, exercise.call(mistake.make(reference), copy.deepcopy(args)))
                    arrays = [np.asarray(value, dtype=np.float64) for value in got]
                except Exception:  # a variant that cannot run on this case names nothing here
                    continue
                for output, array in zip(exercise.outputs, arrays):
                    values[f"mistake/{exercise.name}/{case}/{k}/{output.name}"] = array
                values[f"mistake/{exercise.name}/{case}/{k}/hint"] = np.array(mistake.hint)
    return values
