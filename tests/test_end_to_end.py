"""The whole loop with real nbgrader: release with validation, a sample class, autograde,
gradebook, grades.csv and feedback, with the score each kind of submission should earn."""
import csv

import pytest

from autograder.assignments import ASSIGNMENTS
from autograder.demo import SAMPLE_CLASSES, run_demo

pytestmark = pytest.mark.slow

FULL = "full"
# Expected points per exercise for each sample student; FULL means the exercise's points, and
# a (low, high) pair an open interval for a bug whose cost depends on the drawn cases.
EXPECTED = {
    "01_vanilla_rnn": {
        "perfect": {},
        "float32": {},
        "blank": {"*": 0},
        "partial": {"rnn_forward": 0, "temporal_softmax_loss": 0, "sample": 0},
        "transposed": {"rnn_step_forward": (0, 2), "rnn_forward": (-1, 3), "sample": (-1, 3)},
        "raises": {"temporal_softmax_loss": 0},
        "unstable": {"temporal_softmax_loss": 2.5},  # five of six cases: all but the large scores
    },
    "02_bptt": {
        "perfect": {},
        "float32": {},
        "blank": {"*": 0},
        "partial": {"rnn_backward": 0, "temporal_affine_backward": 0, "tbptt_step": 0},
        # dh_prev uses Wh instead of Wh.T; rnn_backward and tbptt_step call it
        "transposed": {"rnn_step_backward": (0, 2), "rnn_backward": 0, "tbptt_step": (0, 3)},
        "raises": {"temporal_affine_backward": 0, "tbptt_step": 0},
    },
    "03_lstm": {
        "perfect": {},
        "float32": {},
        "blank": {"*": 0},
        "partial": {"lstm_step_backward": 0, "lstm_backward": 0},
        # o and g swapped (PyTorch's order): lstm_forward calls the step; the backward checks
        # are given the reference's caches, so they are graded on their own
        "gate_order": {"lstm_step_forward": 0, "lstm_forward": 0},
        "raises": {"lstm_backward": 0},
    },
    "06_seq2seq": {
        "perfect": {},
        "float32": {},
        "blank": {"*": 0},
        "partial": {"attention_backward": 0, "beam_search": 0},
        # the beam never shrinks: wrong only in the cases where a hypothesis finishes early
        "fixed_beam": {"beam_search": (0, 4)},
        # a TypeError on every non-empty list; the empty list (no hypothesis) still passes
        "raises": {"length_normalise": (0, 0.5)},
    },
}


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    work = tmp_path_factory.mktemp("demo")
    assignments = sorted(EXPECTED)
    return work, run_demo(work, assignments, log=lambda line: None)


def _expected(assignment, student, exercise):
    spec = EXPECTED[assignment][student]
    return spec.get(exercise.name, spec.get("*", FULL))


@pytest.mark.parametrize("assignment", sorted(EXPECTED))
def test_every_sample_student_earns_the_expected_points(assignment, demo):
    _, results = demo
    scores = results[assignment].scores
    assert set(scores) == set(SAMPLE_CLASSES[assignment]) == set(EXPECTED[assignment])
    for student in scores:
        for exercise in ASSIGNMENTS[assignment].exercises:
            got = scores[student][f"grade_{exercise.name}"]
            want = _expected(assignment, student, exercise)
            if want == FULL:
                assert got == exercise.points, (student, exercise.name, got)
            elif isinstance(want, tuple):
                assert want[0] < got < want[1], (student, exercise.name, got)
            else:
                assert got == want, (student, exercise.name, got)


def test_grades_csv_lists_every_student(demo):
    work, results = demo
    with open(work / "grades.csv", newline="") as file:
        rows = list(csv.DictReader(file))
    for assignment, result in results.items():
        graded = {r["student_id"]: float(r["score"]) for r in rows if r["assignment"] == assignment}
        assert graded.keys() >= result.scores.keys()
        for student, score in graded.items():
            # nbgrader's export lists every student of the gradebook for every assignment; one
            # who submitted nothing for this assignment scores 0
            assert score == pytest.approx(result.total(student) if student in result.scores else 0)


def test_feedback_for_every_student_shows_scores_but_no_hidden_code(demo):
    work, results = demo
    for assignment, result in results.items():
        for student in result.scores:
            html = (work / "course" / "feedback" / student / assignment / f"{assignment}.html").read_text()
            assert "hidden cases passed" in html  # the diagnosis printed by each grade cell
            assert "autograder" not in html and "HIDDEN TESTS" not in html
    raises = (work / "course" / "feedback" / "raises" / "01_vanilla_rnn" / "01_vanilla_rnn.html").read_text()
    assert "temporal_softmax_loss raised ValueError" in raises
