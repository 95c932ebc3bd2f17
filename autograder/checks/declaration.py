"""One declaration per notebook: everything the grading side knows about it.

A notebook's module in ``autograder/checks/notebooks/`` ends with ``NOTEBOOK = Notebook(...)``:
its id (its folder in ``solutions/``), its exercises (each with its points, cases and named
mistakes), its written questions (graded by a TA, each with its points), the module of its
visible checks, whether its graded functions must be computed by hand, the earlier notebooks
whose solutions its provided cells hold, and its sample class with the points each sample
student must earn. The registry (``registry.py``) discovers these
modules; release, grading, the demo, the benchmark and the contract tests read everything else
from them, so adding a notebook touches its solution notebook, this declaration and its visible
checks, and nothing more.
"""
from __future__ import annotations

import types
from collections.abc import Callable
from dataclasses import dataclass, field

from autograder.checks.framework import Exercise
from autograder.checks.samples import MODEL  # noqa: F401 (in Answer.text: the model answer)

FULL = "full"  # in Sample.expect: the exercise's points

Change = Callable[[str], str]  # a solution cell's source -> the sample student's cell


@dataclass(frozen=True)
class Written:
    """A question answered in words and graded by a TA: nbgrader's "manually graded answer".

    In the notebook it is two cells: a read-only markdown cell (grade id ``question_id``) that
    asks the question and holds the rubric between ``=== BEGIN MARK SCHEME ===`` and
    ``=== END MARK SCHEME ===`` (nbgrader removes it from the release and the grader restores
    it, so the TA sees it above the answer in formgrader), and the answer cell (``grade_id``, a
    markdown cell with nbgrader's ``solution`` and ``grade``, worth ``points``) whose source in
    ``solutions/`` is the model answer and, released, "YOUR ANSWER HERE".
    """

    name: str
    points: float

    @property
    def grade_id(self) -> str:
        return f"written_{self.name}"

    @property
    def question_id(self) -> str:
        return f"written_{self.name}_question"


@dataclass(frozen=True)
class Answer:
    """A sample student's written answer (``MODEL``: the model answer) and the points the demo's
    TA gives it."""

    text: str
    score: float


@dataclass(frozen=True)
class Sample:
    """One student of the sample class: what they did to each solution cell, what they earn.

    ``changes`` maps a solution cell's grade id to a change of its source (``"*"``: every
    solution cell not named); a cell not covered keeps the released stub. ``expect`` maps an
    exercise to its points: a number, ``FULL``, or a ``(low, high)`` open interval for a bug
    whose cost depends on the drawn cases; ``"*"`` is the default, and without it every
    exercise not named must earn full marks. ``answers`` maps a written question's name to the
    student's answer and the TA's score; a question not named is left unanswered and scores 0.
    """

    student: str
    changes: dict[str, Change]
    expect: dict[str, float | str | tuple[float, float]] = field(default_factory=dict)
    why: str = ""
    answers: dict[str, Answer] = field(default_factory=dict)

    def written_score(self, question: Written) -> float:
        """The points the TA gives this student's answer to ``question`` (0 if unanswered)."""
        answer = self.answers.get(question.name)
        return answer.score if answer else 0.0

    def expected(self, exercise: Exercise) -> float | tuple[float, float]:
        """The points (or the open interval) ``exercise`` must earn for this student."""
        want = self.expect.get(exercise.name, self.expect.get("*", FULL))
        return exercise.points if want == FULL else want

    def earns(self, exercise: Exercise, points: float) -> bool:
        want = self.expected(exercise)
        if isinstance(want, tuple):
            return want[0] < points < want[1]
        return points == want


@dataclass(frozen=True)
class Notebook:
    """The grading side of one notebook (see the module docstring)."""

    id: str
    exercises: tuple[Exercise, ...]
    visible: types.ModuleType
    by_hand: bool
    samples: tuple[Sample, ...]
    provided_from: tuple[str, ...] = ()
    written: tuple[Written, ...] = ()
    # reference module -> {"<function>/mistake/<key>/<output>": array}: the outputs of the named
    # mistakes on the visible inputs, stored in the fixture so that a visible check can name a
    # mistake without holding broken code
    visible_mistakes: Callable[[types.ModuleType], dict] | None = None

    def __post_init__(self):
        names = [e.name for e in self.exercises]
        if len(set(names)) != len(names):
            raise ValueError(f"{self.id}: an exercise is declared twice in {names}")
        unknown_calls = {f"{e.name} -> {c}" for e in self.exercises for c in e.calls if c not in names}
        if unknown_calls:
            raise ValueError(f"{self.id}: exercises call functions it does not grade: {sorted(unknown_calls)}")
        strangers = [e.name for e in self.exercises if e.assignment != self.id]
        if strangers:
            raise ValueError(f"{self.id}: exercises {strangers} belong to another notebook")
        for sample in self.samples:
            unknown = set(sample.expect) - set(names) - {"*"}
            if unknown:
                raise ValueError(f"{self.id}: sample {sample.student!r} expects points of "
                                 f"unknown exercises {sorted(unknown)}")
            questions = {q.name: q for q in self.written}
            for name, answer in sample.answers.items():
                if name not in questions:
                    raise ValueError(f"{self.id}: sample {sample.student!r} answers an unknown "
                                     f"written question {name!r}; there are {sorted(questions)}")
                if not 0 <= answer.score <= questions[name].points:
                    raise ValueError(f"{self.id}: sample {sample.student!r} gets {answer.score} "
                                     f"of {questions[name].points} points for {name!r}")
        written = [q.name for q in self.written]
        if len(set(written)) != len(written) or set(written) & set(names):
            raise ValueError(f"{self.id}: written questions {written} repeat a name")

    @property
    def points(self) -> float:
        """The autograded points (the exercises'); ``written_points`` are the TA's."""
        return sum(exercise.points for exercise in self.exercises)

    @property
    def written_points(self) -> float:
        return sum(question.points for question in self.written)

    def exercise(self, name: str) -> Exercise:
        """The exercise called ``name``, or a ValueError naming the ones there are."""
        for exercise in self.exercises:
            if exercise.name == name:
                return exercise
        raise ValueError(f"{self.id} has no exercise {name!r}; it has "
                         f"{[e.name for e in self.exercises]}")

    def is_by_hand(self, exercise: Exercise) -> bool:
        """Must ``exercise`` be computed by hand (no PyTorch, autograd, JAX...)?"""
        return self.by_hand if exercise.by_hand is None else exercise.by_hand
