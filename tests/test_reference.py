"""The references are the solution notebooks' own cells, and every notebook is wired to its checks."""
import ast
import json

import pytest

from autograder import provided
from autograder.assignments import ASSIGNMENTS
from autograder.reference import BadReference, load_reference, reference_cells, solution_notebook
from autograder.release import SOLUTION_REGION


def _notebook(assignment):
    return json.loads(solution_notebook(assignment).read_text())


def _cells(notebook, **where):
    return [c for c in notebook["cells"]
            if all(c["metadata"].get("nbgrader", {}).get(k) == v for k, v in where.items())]


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_reference_functions_are_the_solution_cells(assignment):
    notebook = _notebook(assignment)
    reference = load_reference(assignment)
    for cell in _cells(notebook, solution=True):
        name = cell["metadata"]["nbgrader"]["grade_id"]
        function = getattr(reference, name)
        # the very code of the cell, compiled under the cell's name
        assert function.__code__.co_filename.endswith(f"[{name}]")
        assert ast.parse("".join(cell["source"])).body[0].name == name


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_every_exercise_has_a_solution_a_visible_check_and_a_one_call_grade_cell(assignment):
    notebook = _notebook(assignment)
    checks = ASSIGNMENTS[assignment].checks
    module = checks.__name__.rsplit(".", 1)[1]
    grade_cells = {c["metadata"]["nbgrader"]["grade_id"]: c for c in _cells(notebook, grade=True)}
    assert set(grade_cells) == {f"grade_{e.name}" for e in ASSIGNMENTS[assignment].exercises}
    ids = [c["metadata"].get("nbgrader", {}).get("grade_id") for c in notebook["cells"]]
    for exercise in ASSIGNMENTS[assignment].exercises:
        cell = grade_cells[f"grade_{exercise.name}"]
        assert cell["metadata"]["nbgrader"]["points"] == exercise.points
        hidden = "".join(cell["source"]).split("### BEGIN HIDDEN TESTS\n")[1].split("### END HIDDEN TESTS")[0]
        # a function that takes a PyTorch model is named through rnncourse.decoder.on_plain_data,
        # which rebuilds the model from the arrays the grader sends (notebook 05)
        assert hidden in [f"from autograder.checks.{module} import grade_{exercise.name}\n"
                          f"grade_{exercise.name}({argument})\n"
                          for argument in (exercise.name, f"on_plain_data({exercise.name})")]
        assert hasattr(checks, f"grade_{exercise.name}")
        # solution, then its visible check, then its grade cell
        at = ids.index(exercise.name)
        assert ids[at + 1: at + 3] == [f"check_{exercise.name}", f"grade_{exercise.name}"]


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_docstrings_stay_outside_the_solution_region(assignment):
    for cell in _cells(_notebook(assignment), solution=True):
        source = "".join(cell["source"])
        function = ast.parse(source).body[0]
        assert ast.get_docstring(function), f"{function.name} has no docstring"
        region = SOLUTION_REGION.search(source)
        assert region and '"""' not in region.group(1), f"{function.name}: docstring inside the solution"


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_provided_cells_are_up_to_date(assignment):
    notebook = _notebook(assignment)
    assert not provided.expand(notebook), "run `python -m autograder release` to refresh provided cells"


def test_a_cell_that_does_more_than_define_is_rejected():
    notebook = {"cells": [
        {"cell_type": "code", "metadata": {"nbgrader": {"grade_id": "setup"}}, "source": "import numpy as np"},
        {"cell_type": "code", "metadata": {"nbgrader": {"grade_id": "f", "solution": True}},
         "source": "def f():\n    return 1\ntrain_for_an_hour()\n"},
    ]}
    with pytest.raises(BadReference, match="cell 'f' holds a Expr at line 3"):
        reference_cells(notebook)


def test_the_setup_cell_must_come_first():
    notebook = {"cells": [{"cell_type": "code", "metadata": {"nbgrader": {"grade_id": "f", "solution": True}},
                           "source": "def f():\n    pass\n"}]}
    with pytest.raises(BadReference, match="setup"):
        reference_cells(notebook)
