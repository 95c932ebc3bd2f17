"""The graded assignments of the course: which hidden checks and visible checks each one has."""
from __future__ import annotations

import types
from dataclasses import dataclass

from rnncourse.visible import bptt as visible_bptt
from rnncourse.visible import lstm as visible_lstm
from rnncourse.visible import seq2seq as visible_seq2seq
from rnncourse.visible import vanilla_rnn as visible_vanilla_rnn

from .checks import bptt, lstm, seq2seq, vanilla_rnn
from .grading import Exercise


@dataclass(frozen=True)
class Assignment:
    """One notebook: its id (folder and notebook name), hidden checks and visible checks."""

    id: str
    checks: types.ModuleType
    visible: types.ModuleType

    @property
    def exercises(self) -> tuple[Exercise, ...]:
        return self.checks.EXERCISES

    @property
    def points(self) -> float:
        return sum(exercise.points for exercise in self.exercises)


ASSIGNMENTS = {
    a.id: a
    for a in [
        Assignment("01_vanilla_rnn", vanilla_rnn, visible_vanilla_rnn),
        Assignment("02_bptt", bptt, visible_bptt),
        Assignment("03_lstm", lstm, visible_lstm),
        Assignment("06_seq2seq", seq2seq, visible_seq2seq),
    ]
}


def get(assignment_id: str) -> Assignment:
    """The assignment called ``assignment_id``, or a ValueError listing the known ones."""
    try:
        return ASSIGNMENTS[assignment_id]
    except KeyError:
        raise ValueError(f"unknown assignment {assignment_id!r}; the course has {sorted(ASSIGNMENTS)}") from None
