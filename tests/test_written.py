"""Written questions (nbgrader's manually graded answers): declared once, released without their
model answers or rubrics, kept as the student wrote them by the grader, never scored by it.

The whole loop with real nbgrader (release validation, autograde, the TA's scores through the
API, grades.csv and feedback) is in ``test_end_to_end.py``; here are the parts that need no
nbgrader run, and the contract every declaration keeps."""
import json

import pytest

from autograder.authoring.release import MARK_SCHEME, leaked_solution_lines, written_cells
from autograder.cells import grade_id, kind, nbgrader_meta, text_of
from autograder.checks import registry
from autograder.checks.declaration import Answer, Notebook, Sample, Written
from autograder.checks.samples import MODEL, make_submission
from autograder.kinds import CellKind
from autograder.layout import REPO
from autograder.notebook.restore import NotebookSource, restore

NOTEBOOKS = list(registry.declared())
WITH_WRITTEN = [n for n in NOTEBOOKS if registry.get(n).written]


def _load(path):
    return json.loads(path.read_text(encoding="utf-8"))


def _by_id(cells):
    return {grade_id(c): c for c in cells if grade_id(c)}


def test_the_course_has_written_questions():
    assert {"02_bptt", "03_lstm", "04_gru"} <= set(WITH_WRITTEN)


@pytest.mark.parametrize("notebook_id", NOTEBOOKS)
def test_the_written_questions_declared_are_the_notebooks(notebook_id):
    declaration = registry.get(notebook_id)
    source = _load(REPO.solution_notebook(notebook_id))
    found = {grade_id(c): float(nbgrader_meta(c)["points"]) for c in source["cells"]
             if kind(c) == CellKind.MANUAL}
    assert found == {q.grade_id: float(q.points) for q in declaration.written}
    cells = _by_id(source["cells"])
    ids = [grade_id(c) for c in source["cells"]]
    for question in declaration.written:
        asking = cells[question.question_id]
        assert kind(asking) == CellKind.LOCKED and asking["cell_type"] == "markdown"
        assert MARK_SCHEME.search(text_of(asking)), f"{question.question_id} has no rubric"
        assert ids.index(question.grade_id) == ids.index(question.question_id) + 1
        assert cells[question.grade_id]["cell_type"] == "markdown"
        going_further = [i for i, c in enumerate(source["cells"]) if "## Going further" in text_of(c)]
        assert all(ids.index(question.grade_id) < i for i in going_further)


@pytest.mark.parametrize("notebook_id", WITH_WRITTEN)
def test_the_release_holds_no_model_answer_and_no_rubric(notebook_id):
    release = _load(REPO.release_notebook(notebook_id))
    source = _load(REPO.solution_notebook(notebook_id))
    cells = _by_id(release["cells"])
    for question in registry.get(notebook_id).written:
        assert text_of(cells[question.grade_id]).strip() == "YOUR ANSWER HERE"
        assert "MARK SCHEME" not in text_of(cells[question.question_id])
        assert "Rubric" not in text_of(cells[question.question_id])
    assert written_cells(release) == written_cells(source)
    assert leaked_solution_lines(source, release) == []


def test_the_leak_scan_sees_model_answers_and_rubrics():
    source = _load(REPO.solution_notebook("02_bptt"))
    release = _load(REPO.release_notebook("02_bptt"))
    cells = _by_id(release["cells"])
    answer, asking = _by_id(source["cells"])["written_rnn_jacobian"], _by_id(source["cells"])[
        "written_rnn_jacobian_question"]
    leaky = json.loads(json.dumps(release))
    _by_id(leaky["cells"])["written_rnn_jacobian"]["source"] = answer["source"]
    assert leaked_solution_lines(source, leaky)
    leaky = json.loads(json.dumps(release))
    _by_id(leaky["cells"])["written_rnn_jacobian_question"]["source"] = asking["source"]
    assert any("MARK SCHEME" in line for line in leaked_solution_lines(source, leaky))
    assert cells  # the committed release itself is clean (test above)


# ------------------------------------------------------------------------------ the grader
@pytest.fixture(scope="module")
def bptt():
    return NotebookSource.load(REPO.solution_notebook("02_bptt"), REPO.release_notebook("02_bptt"))


def _submission(answer_text):
    release = _load(REPO.release_notebook("02_bptt"))
    source = _load(REPO.solution_notebook("02_bptt"))
    return make_submission(release, source, {}, {"written_rnn_jacobian": answer_text})


def test_a_written_answer_is_kept_and_the_rubric_restored_for_the_ta(bptt):
    answer = "The Jacobian is $\\operatorname{diag}(1 - h_t^2) W_h^\\top$ because ..."
    cells, findings = restore(_submission(answer), bptt, "s1")
    by_id = _by_id(cells)
    assert text_of(by_id["written_rnn_jacobian"]) == answer
    assert nbgrader_meta(by_id["written_rnn_jacobian"])["solution"] is True
    assert MARK_SCHEME.search(text_of(by_id["written_rnn_jacobian_question"]))  # formgrader shows it
    assert [f for f in findings if f.severity != "info"] == []  # answering is not tampering
    assert "written_rnn_jacobian" not in {c.grade_id for c in bptt.grade_cells}  # nobody scores it here


def test_a_deleted_answer_comes_back_unanswered_never_as_the_model_answer(bptt):
    notebook = _submission(None)
    notebook["cells"] = [c for c in notebook["cells"] if grade_id(c) != "written_rnn_jacobian"]
    cells, findings = restore(notebook, bptt, "s1")
    ids = [grade_id(c) for c in cells]
    assert ids.index("written_rnn_jacobian") == ids.index("written_rnn_jacobian_question") + 1
    assert text_of(_by_id(cells)["written_rnn_jacobian"]).strip() == "YOUR ANSWER HERE"
    assert ("written_rnn_jacobian", "deleted-cell") in {(f.cell, f.check) for f in findings}


def test_a_sample_writes_the_model_answer_or_its_own_text_and_code_changes_skip_answers():
    release = _load(REPO.release_notebook("02_bptt"))
    source = _load(REPO.solution_notebook("02_bptt"))

    def shout(text):
        return text.upper()
    model = make_submission(release, source, {"*": shout}, {"written_rnn_jacobian": MODEL})
    assert text_of(_by_id(model["cells"])["written_rnn_jacobian"]) == text_of(
        _by_id(source["cells"])["written_rnn_jacobian"])
    assert text_of(_by_id(model["cells"])["rnn_step_backward"]).isupper()  # code cells changed
    blank = make_submission(release, source, {"*": shout})
    assert text_of(_by_id(blank["cells"])["written_rnn_jacobian"]).strip() == "YOUR ANSWER HERE"


def test_a_declaration_refuses_answers_to_unknown_questions_and_impossible_scores():
    base = registry.get("02_bptt")

    def declare(answers, written=(Written("q", 2),)):
        return Notebook(base.id, base.exercises, base.visible, base.by_hand,
                        (Sample("s", {}, answers=answers),), written=written)
    assert declare({"q": Answer(MODEL, 2)}).written_points == 2
    with pytest.raises(ValueError, match="unknown written question"):
        declare({"other": Answer(MODEL, 1)})
    with pytest.raises(ValueError, match="of 2 points"):
        declare({"q": Answer(MODEL, 3)})
    with pytest.raises(ValueError, match="repeat a name"):
        declare({}, written=(Written("q", 1), Written("q", 1)))


# ------------------------------------------------------------------------------ with nbgrader
@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """02 graded for three students: one answers in words, one leaves the answer, one deletes
    the cell; then a TA scores the answer through nbgrader's API."""
    from autograder.batch.course import Course
    from autograder.batch.grade import grade_assignment
    from autograder.batch.pool import Options
    from autograder.notebook.sandbox import Limits

    course = Course.create(tmp_path_factory.mktemp("written") / "course", ["02_bptt"])
    course.release("02_bptt")
    answered = _submission("The Jacobian is diag(1 - h_t^2) Wh^T; it vanishes when sigma < 1.")
    deleted = _submission(None)
    deleted["cells"] = [c for c in deleted["cells"] if grade_id(c) != "written_rnn_jacobian"]
    for student, notebook in [("answered", answered), ("blank", _submission(None)), ("deleted", deleted)]:
        course.submit(student, "02_bptt", {"02_bptt.ipynb": json.dumps(notebook)})
    options = Options(workers=2, limits=Limits(cell_timeout=60, notebook_timeout=300), progress=False)
    results = grade_assignment(course, "02_bptt", course.root / "before.csv", options)
    return course, results


def _csv(path):
    import csv
    with open(path, newline="") as file:
        return {row["student_id"]: row for row in csv.DictReader(file)}


@pytest.mark.slow
def test_the_answer_waits_for_a_ta_in_the_autograded_notebook_with_its_rubric(graded):
    course, results = graded
    assert results.pending == {"answered": {"written_rnn_jacobian"}, "blank": set(), "deleted": set()}
    assert results.scores["blank"]["written_rnn_jacobian"] == 0  # nbgrader: "No response"
    autograded = _by_id(_load(course.layout.autograded("answered", "02_bptt")
                              )["cells"])
    assert "diag(1 - h_t^2) Wh^T" in text_of(autograded["written_rnn_jacobian"])
    assert MARK_SCHEME.search(text_of(autograded["written_rnn_jacobian_question"]))
    before = _csv(course.root / "before.csv")
    assert before["answered"]["needs_manual_grading"] == "yes"
    assert before["blank"]["needs_manual_grading"] == "no"
    assert float(before["answered"]["written_max"]) == 2 and float(before["answered"]["written_score"]) == 0


@pytest.mark.slow
def test_scores_a_ta_enters_reach_the_totals_grades_csv_and_feedback(graded):
    from autograder.batch.writer import record_written_scores
    from autograder.errors import CourseError

    course, results = graded
    with pytest.raises(CourseError, match="outside 0 to 2"):
        record_written_scores(course, "02_bptt", {"answered": {"written_rnn_jacobian": 3}})
    record_written_scores(course, "02_bptt", {"answered": {"written_rnn_jacobian": 1.5}})
    assert course.needs_manual_grading("02_bptt")["answered"] == set()
    assert course.scores("02_bptt")["answered"]["written_rnn_jacobian"] == 1.5
    course.export_csv(course.root / "after.csv")
    row = _csv(course.root / "after.csv")["answered"]
    assert (row["needs_manual_grading"], float(row["written_score"])) == ("no", 1.5)
    assert float(row["raw_score"]) == pytest.approx(float(row["autograded_score"]) + 1.5)
    feedback = (course.root / "feedback" / "answered" / "02_bptt" / "02_bptt.html").read_text()
    assert "1.5 / 2" in feedback and "diag(1 - h_t^2) Wh^T" in feedback
    assert "MARK SCHEME" not in feedback and "Rubric (2 points)" not in feedback
