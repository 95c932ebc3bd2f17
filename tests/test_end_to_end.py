"""The whole loop with real nbgrader, for every declared notebook: release with validation, the
sample class, autograde, the TA's scores of the written answers, gradebook, grades.csv and
feedback, with the points each sample student must earn (declared with the notebook,
``Sample.expect`` and ``Sample.answers``)."""
import csv
import json
import shutil
from pathlib import Path

import pytest

from autograder.batch.course import Course
from autograder.checks import gradecell, registry
from autograder.layout import CourseLayout
from autograder.tools.demo import run_demo

pytestmark = pytest.mark.slow

NOTEBOOKS = list(registry.declared())


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    work = tmp_path_factory.mktemp("demo")
    return work, run_demo(work, NOTEBOOKS)


@pytest.mark.parametrize("notebook_id", NOTEBOOKS)
def test_every_sample_student_earns_the_expected_points(notebook_id, demo):
    _, results = demo
    declaration = registry.get(notebook_id)
    scores = results[notebook_id].scores
    assert set(scores) == {sample.student for sample in declaration.samples}
    for sample in declaration.samples:
        for exercise in declaration.exercises:
            got = scores[sample.student][gradecell.grade_id(exercise.name)]
            assert sample.earns(exercise, got), (sample.student, exercise.name, got,
                                                 sample.expected(exercise))
        for question in declaration.written:
            got = scores[sample.student][question.grade_id]
            assert got == sample.written_score(question), (sample.student, question.name, got)
    assert not any(results[notebook_id].pending.values())  # the demo's TA graded every answer


@pytest.mark.parametrize("notebook_id", NOTEBOOKS)
def test_no_sample_students_kernel_dies(notebook_id, demo):
    # none of the samples ends its kernel: a death here is the grader's (a kernel forked from a
    # starter that had drawn a Matplotlib figure once aborted while drawing in notebook 02)
    work, _ = demo
    layout = CourseLayout(work / "course")
    died = [(f["student"], f["cell"], f["detail"])
            for path in sorted(layout.results(notebook_id).glob("*.json"))
            for result in json.loads(path.read_text())["results"]
            for f in result["findings"] if f["check"] == "kernel-died"]
    assert died == []


def test_grades_csv_lists_every_student(demo):
    work, results = demo
    with open(work / "grades.csv", newline="") as file:
        rows = list(csv.DictReader(file))
    for assignment, result in results.items():
        graded = {r["student_id"]: float(r["score"]) for r in rows if r["assignment"] == assignment}
        assert graded.keys() >= result.scores.keys()
        declaration = registry.get(assignment)
        for row in (r for r in rows if r["assignment"] == assignment and r["student_id"] in result.scores):
            written = sum(result.scores[row["student_id"]].get(q.grade_id, 0) for q in declaration.written)
            assert float(row["written_score"]) == pytest.approx(written)
            assert float(row["autograded_score"]) + written == pytest.approx(float(row["raw_score"]))
            assert float(row["written_max"]) == declaration.written_points
            assert float(row["autograded_max"]) == declaration.points
            assert row["needs_manual_grading"] == "no"
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
            assert "MARK SCHEME" not in html  # the rubric of a written question is the TA's


def test_feedback_pages_are_nbgraders_own(demo, tmp_path):
    # the course renders feedback with FeedbackPage (batch/feedback.py); plain nbgrader, run in a
    # copy of the graded course, must write the same pages once both are read by one parser
    from bs4 import BeautifulSoup

    work, results = demo
    copy = tmp_path / "course"
    shutil.copytree(work / "course", copy)
    compared = 0
    for assignment, result in results.items():
        Course(copy).nbgrader("generate_feedback", assignment, "--force")
        for student in result.scores:
            page = Path("feedback", student, assignment, f"{assignment}.html")
            ours, theirs = (work / "course" / page).read_text(), (copy / page).read_text()
            assert ours != theirs  # nbgrader's pass through BeautifulSoup did happen over there
            assert str(BeautifulSoup(ours, features="html.parser")) == theirs, page
            compared += 1
    assert compared == sum(len(r.scores) for r in results.values())
