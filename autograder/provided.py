"""Provided code: an earlier notebook's solutions, given to students in a later notebook.

Notebook 02 needs the forward pass students wrote in 01; notebook 03 needs the RNN of 01 and 02
to compare with the LSTM. Rather than a second hand-written copy, a later notebook holds a
*provided cell* whose metadata names where its code comes from::

    "rnncourse": {"provided_from": "01_vanilla_rnn",
                  "functions": ["rnn_step_forward", "rnn_forward"]}

``python -m autograder release`` fills such cells from the named solution cells (solution
markers removed) before generating the release, and a test fails if a provided cell is stale.
The instructor edits each function in one place only: the notebook that teaches it.
"""
from __future__ import annotations

import json
import re
from pathlib import Path

from .reference import COURSE_ROOT, solution_notebook

# a marker line, also when it is the cell's last line (no newline after it)
MARKER_LINE = re.compile(r"^[ \t]*### (BEGIN|END) SOLUTION[ \t]*(?:\n|\Z)", re.M)
HEADER = "# Provided: your {names} from notebook {source}, as the course solved them.\n"


def without_markers(source: str) -> str:
    """A solution cell as a student would write it: the solution markers removed."""
    return MARKER_LINE.sub("", source)


def solution_sources(assignment: str, root: Path = COURSE_ROOT) -> dict[str, str]:
    """The solution cells of ``assignment`` by grade id, markers removed."""
    notebook = json.loads(solution_notebook(assignment, root).read_text(encoding="utf-8"))
    return {
        cell["metadata"]["nbgrader"]["grade_id"]: without_markers("".join(cell["source"]))
        for cell in notebook["cells"]
        if cell["metadata"].get("nbgrader", {}).get("solution")
    }


def provided_source(spec: dict, root: Path = COURSE_ROOT) -> str:
    """The source of a provided cell described by ``spec`` (see the module docstring)."""
    sources = solution_sources(spec["provided_from"], root)
    missing = [name for name in spec["functions"] if name not in sources]
    if missing:
        raise KeyError(f"{spec['provided_from']} has no solution cell {missing}")
    header = HEADER.format(names=", ".join(spec["functions"]), source=spec["provided_from"][:2])
    return header + "\n\n".join(sources[name].rstrip("\n") + "\n" for name in spec["functions"])


def expand(notebook: dict, root: Path = COURSE_ROOT) -> bool:
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


def refresh(assignment: str, root: Path = COURSE_ROOT) -> bool:
    """Rewrite the provided cells of a solution notebook on disk; True if the file changed."""
    path = solution_notebook(assignment, root)
    notebook = json.loads(path.read_text(encoding="utf-8"))
    if not expand(notebook, root):
        return False
    path.write_text(json.dumps(notebook, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    return True
