"""The reference implementations, loaded from the solution notebooks.

There is exactly one hand-written copy of each reference: the solution cell an instructor edits
in ``solutions/NN_topic/NN_topic.ipynb``. This module compiles those cells (and the notebook's
setup cell of imports) into a module object, so the grader compares students against the very
code the instructor sees, and the two can never drift apart.

To keep that safe, a cell is accepted only if it holds nothing but imports and function
definitions; anything else (an experiment, a training loop) is an error, not silently run.
"""
from __future__ import annotations

import ast
import json
import types
from functools import lru_cache
from pathlib import Path

from autograder.errors import CourseError
from autograder.layout import REPO, CourseLayout

SETUP_CELL_ID = "setup"


class BadReference(CourseError):
    """A solution notebook cannot serve as a reference."""


def reference_cells(notebook: dict) -> list[tuple[str, str]]:
    """The (cell id, source) pairs that make up the reference, in notebook order.

    These are the setup cell (first), the solution cells, and the provided cells holding an
    earlier notebook's solutions (see ``provided.py``).

    Raises:
        BadReference: no setup cell, or a cell holds more than imports and definitions.
    """
    cells = []
    for cell in notebook["cells"]:
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if cell["cell_type"] != "code":
            continue
        provided = "provided_from" in cell.get("metadata", {}).get("rnncourse", {})
        if meta.get("grade_id") == SETUP_CELL_ID or meta.get("solution") or provided:
            source = "".join(cell["source"])
            _check_definitions_only(meta.get("grade_id", "?"), source)
            cells.append((meta.get("grade_id", "?"), source))
    if not cells or cells[0][0] != SETUP_CELL_ID:
        raise BadReference(f"the first reference cell must be the {SETUP_CELL_ID!r} cell of imports")
    return cells


def _check_definitions_only(cell_id: str, source: str) -> None:
    allowed = (ast.Import, ast.ImportFrom, ast.FunctionDef)
    for node in ast.parse(source).body:
        if not isinstance(node, allowed):
            raise BadReference(
                f"cell {cell_id!r} holds a {type(node).__name__} at line {node.lineno}: "
                "setup and solution cells may only import and define functions"
            )


@lru_cache(maxsize=None)
def load_reference(assignment: str, root: Path = REPO.root) -> types.ModuleType:
    """Compile the reference implementations of ``assignment`` into a module.

    Args:
        assignment: the assignment id, e.g. ``"01_vanilla_rnn"``.
        root: the course root holding ``solutions/``.

    Returns:
        A module whose attributes are the notebook's imports and solution functions.
    """
    path = CourseLayout(root).solution_notebook(assignment)
    notebook = json.loads(path.read_text(encoding="utf-8"))
    module = types.ModuleType(f"reference_{assignment}", f"Reference solutions of {path.name}")
    for cell_id, source in reference_cells(notebook):
        # The file name makes a traceback point at the notebook cell the code came from.
        code = compile(source, f"{path.name}[{cell_id}]", "exec")
        exec(code, module.__dict__)  # definitions only, checked above
    return module
