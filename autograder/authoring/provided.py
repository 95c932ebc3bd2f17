"""Provided code: an earlier notebook's solutions, given to students in a later notebook.

Notebook 02 needs the forward pass students wrote in 01; notebook 03 needs the RNN of 01 and 02
to compare with the LSTM. Rather than a second hand-written copy, a later notebook holds a
*provided cell* whose metadata names where its code comes from::

    "rnncourse": {"provided_from": "01_vanilla_rnn",
                  "functions": ["rnn_step_forward", "rnn_forward"]}

``python -m autograder release`` fills such cells from the named solution cells (solution
markers removed) before generating the release (``generated.py``), and a test fails if a
provided cell is stale. The instructor edits each function in one place only: the notebook
that teaches it.
"""
from __future__ import annotations

import json
from pathlib import Path

from autograder.checks.samples import solved
from autograder.layout import REPO, CourseLayout

HEADER = "# Provided: your {names} from notebook {source}, as the course solved them.\n"


def solution_sources(notebook_id: str, root: Path = REPO.root) -> dict[str, str]:
    """The solution cells of ``notebook_id`` by grade id, markers removed."""
    path = CourseLayout(root).solution_notebook(notebook_id)
    notebook = json.loads(path.read_text(encoding="utf-8"))
    return {
        cell["metadata"]["nbgrader"]["grade_id"]: solved("".join(cell["source"]))
        for cell in notebook["cells"]
        if cell["metadata"].get("nbgrader", {}).get("solution")
    }


def provided_from(notebook: dict) -> list[str]:
    """The earlier notebooks whose solutions the provided cells of ``notebook`` hold."""
    return sorted({spec["provided_from"] for spec in _specs(notebook)})


def _specs(notebook: dict) -> list[dict]:
    return [cell["metadata"]["rnncourse"] for cell in notebook["cells"]
            if cell["cell_type"] == "code" and "provided_from" in cell.get("metadata", {}).get("rnncourse", {})]


def provided_source(spec: dict, root: Path = REPO.root) -> str:
    """The source of a provided cell described by ``spec`` (see the module docstring)."""
    sources = solution_sources(spec["provided_from"], root)
    missing = [name for name in spec["functions"] if name not in sources]
    if missing:
        raise KeyError(f"{spec['provided_from']} has no solution cell {missing}")
    header = HEADER.format(names=", ".join(spec["functions"]), source=spec["provided_from"][:2])
    return header + "\n\n".join(sources[name].rstrip("\n") + "\n" for name in spec["functions"])


def expand(notebook: dict, root: Path = REPO.root) -> bool:
    """Fill every provided cell of ``notebook`` in place; True if any source changed."""
    changed = False
    for cell in notebook["cells"]:
        spec = cell.get("metadata", {}).get("rnncourse")
        if cell["cell_type"] != "code" or not spec or "provided_from" not in spec:
            continue
        source = provided_source(spec, root)
        if "".join(cell["source"]) != source:
            cell["source"] = source
            changed = True
    return changed
