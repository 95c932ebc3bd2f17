"""Predicates on notebook cells, shared by every part of the grader (as ``nbgrader.utils``
has ``is_grade`` and ``is_solution``), but on plain JSON dicts and tolerant of the broken
metadata a submitted notebook may carry."""
from __future__ import annotations

from autograder.kinds import CellKind


def nbgrader_meta(cell: dict) -> dict:
    """The cell's nbgrader metadata, or {} when it is missing or not a dict."""
    meta = cell.get("metadata") if isinstance(cell, dict) else None
    nbgrader = meta.get("nbgrader") if isinstance(meta, dict) else None
    return nbgrader if isinstance(nbgrader, dict) else {}


def course_meta(cell: dict) -> dict:
    """The course's own metadata of a cell (``"rnncourse"``: provided cells), or {}."""
    meta = cell.get("metadata") if isinstance(cell, dict) else None
    ours = meta.get("rnncourse") if isinstance(meta, dict) else None
    return ours if isinstance(ours, dict) else {}


def grade_id(cell: dict) -> str | None:
    value = nbgrader_meta(cell).get("grade_id")
    return value if isinstance(value, str) and value else None


def text_of(cell: dict) -> str:
    source = cell.get("source", "")
    return "".join(source) if isinstance(source, list) else str(source)


def kind(cell: dict) -> CellKind:
    """What nbgrader makes of the cell (see :class:`CellKind`)."""
    meta = nbgrader_meta(cell)
    if meta.get("grade") and meta.get("solution"):
        return CellKind.MANUAL
    if meta.get("grade"):
        return CellKind.GRADE
    if meta.get("solution"):
        return CellKind.SOLUTION
    return CellKind.LOCKED if meta.get("locked") else CellKind.FREE


def is_solution(cell: dict) -> bool:
    """A cell the student fills in: an autograded solution or a written answer."""
    return kind(cell) in (CellKind.SOLUTION, CellKind.MANUAL)


def is_provided(cell: dict) -> bool:
    """A cell that holds an earlier notebook's solutions (``authoring/provided.py``)."""
    return cell.get("cell_type") == "code" and "provided_from" in course_meta(cell)


def solution_sources(notebook: dict) -> dict[str, str]:
    """The source of every autograded solution cell of ``notebook``, by grade id."""
    return {grade_id(c): text_of(c) for c in notebook["cells"]
            if c.get("cell_type") == "code" and kind(c) == CellKind.SOLUTION and grade_id(c)}
