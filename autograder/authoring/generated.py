"""The cells of a solution notebook that are written from elsewhere, never by hand:

- *provided cells* hold an earlier notebook's solutions (``provided.py``);
- *grade cells* are written from the notebook's declaration: their points in nbgrader's
  metadata and their text, whose hidden part is one call into the registry (``gradecell.py``).

``python -m autograder release`` refreshes both before it releases; a test and the release
itself refuse a notebook whose generated cells are stale. A declared exercise without a grade
cell, or a grade cell (other than a written answer) without an exercise, is an error.
"""
from __future__ import annotations

import json
from pathlib import Path

from autograder.authoring import provided
from autograder.checks import gradecell, registry
from autograder.errors import CourseError
from autograder.layout import REPO, CourseLayout


class Undeclared(CourseError):
    """The solution notebook and its declaration disagree on which exercises there are."""


def expand(notebook: dict, notebook_id: str, repo: CourseLayout = REPO) -> bool:
    """Write every generated cell of ``notebook`` in place; True if any cell changed."""
    declaration = registry.get(notebook_id)
    changed = provided.expand(notebook, repo.root)
    seen = set()
    for cell in notebook["cells"]:
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if cell["cell_type"] != "code" or not meta.get("grade") or meta.get("solution"):
            continue  # a written answer is graded by hand, not by a declared exercise
        name = meta.get("grade_id", "").removeprefix("grade_")
        exercise = next((e for e in declaration.exercises if e.name == name), None)
        if exercise is None:
            raise Undeclared(f"{notebook_id}: grade cell {meta.get('grade_id')!r} has no exercise "
                             f"in the declaration; it declares {[e.name for e in declaration.exercises]}")
        seen.add(name)
        text = gradecell.source(notebook_id, exercise.name, exercise.points, exercise.adapter,
                                exercise.calls)
        wanted = {**meta, **gradecell.metadata(exercise.name, exercise.points)}
        if "".join(cell["source"]) != text or meta != wanted:
            cell["source"] = text.splitlines(keepends=True)
            cell["metadata"]["nbgrader"] = wanted
            changed = True
    missing = [e.name for e in declaration.exercises if e.name not in seen]
    if missing:
        raise Undeclared(f"{notebook_id}: no grade cell for the declared exercises {missing}; add a "
                         f"code cell with grade id 'grade_<exercise>' after each one's visible check")
    return changed


def refresh(notebook_id: str, repo: CourseLayout = REPO) -> bool:
    """Rewrite the generated cells of a solution notebook on disk; True if the file changed."""
    path = repo.solution_notebook(notebook_id)
    notebook = json.loads(path.read_text(encoding="utf-8"))
    if not expand(notebook, notebook_id, repo):
        return False
    write_notebook(path, notebook)
    return True


def write_notebook(path: Path, notebook: dict) -> None:
    """Save a notebook the way the course's notebooks are saved (one-space indent, UTF-8)."""
    path.write_text(json.dumps(notebook, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
