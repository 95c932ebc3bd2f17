"""A reference is compiled from the solution notebook's setup and solution cells, and only
from cells that import and define (what every notebook's reference must be is in test_contract.py)."""
import pytest

from autograder.checks.reference import BadReference, reference_cells


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
