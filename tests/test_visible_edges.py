"""What the hidden checks know, the visible checks tell first: every edge case a hidden check
draws is also in the visible check (DESIGN.md, "Grading: what must be true").

Both sides are measured the same way: the reference function is wrapped in a spy that records
every call's inputs, the hidden check's cases and the visible check are run on the spy, and the
edge features of the recorded inputs (``framework.edge_features``: an axis of size 1, a mask all
False, very large values, n = 1, ...) are compared. The test fails when a hidden case holds an
edge the visible check never shows the student.
"""
import contextlib
import copy
import functools
import inspect
import io

import numpy as np
import pytest

from autograder.checks import registry
from autograder.checks.framework import edge_features
from autograder.checks.reference import load_reference

EXERCISES = [(n, e.name) for n in registry.declared() for e in registry.get(n).exercises]


def _spy(function):
    """``function`` that records a copy of the inputs of every call it gets."""
    calls = []

    @functools.wraps(function)
    def spy(*args):
        calls.append(copy.deepcopy(args))
        return function(*args)

    spy.calls = calls
    return spy


def _features(names, calls):
    found = set()
    for args in calls:
        found |= edge_features(names, args)
    return found


def _hidden_and_visible_features(notebook_id, name):
    notebook = registry.get(notebook_id)
    exercise = notebook.exercise(name)
    reference = getattr(load_reference(notebook_id), name)
    names = list(inspect.signature(reference).parameters)
    hidden = _spy(reference)
    for case in exercise.make_cases(np.random.default_rng(exercise.seed)):
        exercise.call(hidden, copy.deepcopy(case.args))
    visible = _spy(reference)
    with contextlib.redirect_stdout(io.StringIO()):
        getattr(notebook.visible, f"check_{name}")(visible)
    return _features(names, hidden.calls), _features(names, visible.calls)


@pytest.mark.parametrize("notebook_id, name", EXERCISES, ids=str)
def test_every_edge_case_of_a_hidden_check_is_in_its_visible_check(notebook_id, name):
    hidden, visible = _hidden_and_visible_features(notebook_id, name)
    assert hidden, "the spy saw no hidden call: the measure itself is broken"
    missing = sorted(hidden - visible)
    assert not missing, f"the hidden check of {name} draws edge cases its visible check lacks: {missing}"


def test_the_measure_sees_a_missing_edge_case():
    names = ["x", "y", "mask"]
    every = (np.zeros((1, 2, 3)), np.array([[0, 1]]), np.zeros((1, 2), dtype=bool))
    some = (np.ones((2, 2, 3)), np.array([[0, 1], [2, 2]]), np.array([[True, False], [True, True]]))
    assert {"x: axis 0 of size 1", "x: all zeros", "mask: all False"} <= edge_features(names, every)
    assert "mask: all False" not in edge_features(names, some)
    assert edge_features(["params", "n"], ({"W": np.full((2, 2), 300.0)}, 1)) == \
        {"params['W']: very large", "n = 1"}


def test_a_loss_that_is_nan_when_everything_is_masked_fails_its_visible_check():
    # the gap the issue found: the docstring asks for 0.0 there, the hidden check tests it
    from rnncourse.compare import CheckFailure
    from rnncourse.visible import vanilla_rnn

    reference = load_reference("01_vanilla_rnn").temporal_softmax_loss

    def nan_when_empty(x, y, mask):
        loss, dx = reference(x, y, mask)
        if not np.any(mask):
            with np.errstate(invalid="ignore"):
                return np.float64(0.0) / 0.0, dx * np.nan
        return loss, dx

    with pytest.raises(CheckFailure, match=r"everything masked.*\n.*loss contains 1 NaN"):
        vanilla_rnn.check_temporal_softmax_loss(nan_when_empty)


def test_a_visible_check_names_the_hidden_checks_mistake_and_the_wrong_gate_block():
    from rnncourse.compare import CheckFailure
    from rnncourse.visible import lstm

    exercise = registry.get("03_lstm").exercise("lstm_step_backward")
    mistake = next(m for m in exercise.mistakes if m.hint.startswith("do = dh * tanh(c)"))
    with pytest.raises(CheckFailure) as failure:
        lstm.check_lstm_step_backward(mistake.make(load_reference("03_lstm")))
    message = str(failure.value)
    assert f"Likely mistake: {mistake.hint}" in message
    assert "(wrong in the block o; the others are right)" in message and "right: dc_prev" in message
