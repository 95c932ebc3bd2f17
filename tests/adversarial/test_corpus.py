"""The adversarial corpus (cases.py), graded as one class by the TA command, case by case.

One batch grades every case at once (two workers, small limits); each test then checks one
case's expected outcome in the gradebook, the integrity report and the feedback.
"""
import csv
import json
import re

import numpy as np
import pytest

from autograder.batch.course import Course
from autograder.batch.grade import grade_assignments
from autograder.batch.pool import Options
from autograder.checks import registry
from autograder.checks.notebooks import vanilla_rnn
from autograder.layout import REPO
from autograder.notebook.sandbox import Limits
from tests.adversarial.cases import ANY, CASES, FULL, SAME, SLEEPS, Context

pytestmark = pytest.mark.slow
ASSIGNMENT = vanilla_rnn.NOTEBOOK.id  # the notebook the corpus is written against
# Small limits keep the corpus at a few minutes: notebook 01 runs in about 2 s when graded.
LIMITS = Limits(cell_timeout=5, notebook_timeout=30, call_timeout=2, memory_mb=1536)
assert SLEEPS * 4.5 > LIMITS.notebook_timeout
EXERCISES = {e.name: e for e in registry.get(ASSIGNMENT).exercises}
BY_NAME = {case.name: case for case in CASES}


@pytest.fixture(scope="module")
def graded(tmp_path_factory, sandbox_here):
    course = Course.create(tmp_path_factory.mktemp("corpus") / "course", [ASSIGNMENT])
    course.release(ASSIGNMENT)
    release = json.loads(course.layout.release_notebook(ASSIGNMENT).read_text())
    source = json.loads(REPO.solution_notebook(ASSIGNMENT).read_text())
    context = Context(release, source, str(course.root), str(REPO.root))
    for case in CASES:
        course.submit(case.name, ASSIGNMENT, case.build(context))
    options = Options(workers=2, limits=LIMITS, sandbox="require", progress=False)
    results = grade_assignments(course, [ASSIGNMENT], csv_path=course.root / "grades.csv",
                                options=options)[ASSIGNMENT]
    with open(course.root / "reports" / ASSIGNMENT / "findings.csv", newline="") as file:
        findings = list(csv.DictReader(file))
    with open(course.root / "reports" / ASSIGNMENT / "submissions.csv", newline="") as file:
        statuses = {row["student"]: row for row in csv.DictReader(file)}
    return course, results, findings, statuses


def _feedback(course, student):
    return (course.root / "feedback" / student / ASSIGNMENT / f"{ASSIGNMENT}.html").read_text()


def _expected(case, exercise, results):
    want = case.points.get(exercise.name, case.points.get("*", FULL))
    if want == FULL:
        return exercise.points
    if want == SAME:
        return results.scores[case.same_as][f"grade_{exercise.name}"]
    return want


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_case_earns_what_it_should(case, graded):
    course, results, findings, statuses = graded
    assert case.name in results.scores, "every submission is in the gradebook"
    assert statuses[case.name]["status"] == case.status, statuses[case.name]
    got = results.scores[case.name]
    for name, exercise in EXERCISES.items():
        want = _expected(case, exercise, results)
        if want != ANY:
            assert got[f"grade_{name}"] == pytest.approx(want), (name, got)
    assert results.max_scores == {f"grade_{n}": e.points for n, e in EXERCISES.items()}


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_case_is_reported(case, graded):
    course, results, findings, statuses = graded
    assert case.findings or case.clean, "a case says what the report must show, or that it is clean"
    mine = [f for f in findings if f["student"] == case.name]
    checks = {f["check"] for f in mine}
    assert set(case.findings) <= checks, (case.findings, mine)
    if case.clean:
        assert [f for f in mine if f["severity"] != "info"] == []


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_case_feedback_explains_without_leaking(case, graded):
    course, results, findings, statuses = graded
    html = _feedback(course, case.name)
    for text in case.feedback_has:
        assert text in html, text
    for text in case.feedback_lacks + ("HIDDEN TESTS", "from autograder", "grading.py", "remote.py"):
        assert text not in html, text
    assert len(html) < 5_000_000


def _hidden_values(name):
    exercise = EXERCISES[name]
    cases = exercise.make_cases(np.random.default_rng(exercise.seed))
    return [repr(float(v)) for case in cases for arg in case.args if isinstance(arg, np.ndarray)
            and arg.dtype.kind == "f" for v in arg.ravel()[:4]]


@pytest.mark.parametrize("student, exercise", [("stash-inputs", "rnn_step_forward"),
                                               ("exception-leak", "rnn_forward")])
def test_hidden_inputs_never_reach_the_feedback(student, exercise, graded):
    course, *_ = graded
    html = _feedback(course, student)
    assert "STASHED" in html or "raised ValueError" in html
    leaked = [v for v in _hidden_values(exercise) if v in html]
    assert leaked == []


def test_every_student_has_a_row_in_grades_csv(graded):
    course, results, *_ = graded
    with open(course.root / "grades.csv", newline="") as file:
        graded_ids = {row["student_id"] for row in csv.DictReader(file)}
    assert graded_ids == {case.name for case in CASES}


def test_the_report_says_what_the_sandbox_protected(graded):
    course, *_ = graded
    html = (course.root / "reports" / ASSIGNMENT / "report.html").read_text()
    assert "ran sandboxed" in html
    for case in CASES:
        assert f"<td>{case.name}</td>" in html


def test_a_limit_names_its_cause(graded):
    _, _, _, statuses = graded
    assert re.search(r"time limit", statuses["notebook-time-limit"]["notes"])
