"""How the sample class is made: each sample student is the released notebook with some
solution cells filled in, as a student would, by one of these changes of the solution source.

A change that no longer applies to the solution raises, so a sample class cannot silently
drift from the notebook it stands for.
"""
from __future__ import annotations

import ast
import json
import re
from collections.abc import Callable

from autograder.cells import grade_id, is_solution, kind, text_of
from autograder.kinds import CellKind

MODEL = "model"  # a written answer: the model answer of the solution notebook, word for word

# a marker line, also when it is the cell's last line (no newline after it)
MARKER_LINE = re.compile(r"^[ \t]*### (BEGIN|END) SOLUTION[ \t]*(?:\n|\Z)", re.M)


def solved(source: str) -> str:
    """A solution cell as a student would write it: the solution markers removed."""
    return MARKER_LINE.sub("", source)


def in_float32(source: str) -> str:
    """The solution computed in float32: every float argument is converted on entry."""
    function = next(n for n in ast.parse(source).body if isinstance(n, ast.FunctionDef))
    names = ", ".join(arg.arg for arg in function.args.args)
    convert = (f"    {names}, = [a.astype(np.float32) if isinstance(a, np.ndarray) and a.dtype.kind == 'f' "
               f"else a for a in ({names},)]\n")
    return solved(source.replace("    ### BEGIN SOLUTION\n", "    ### BEGIN SOLUTION\n" + convert))


def replaced(old: str, new: str) -> Callable[[str], str]:
    """A change to the solution source, which must apply (so the demo cannot silently drift)."""
    def change(source: str) -> str:
        if old not in source:
            raise ValueError(f"the sample's change {old!r} no longer applies to the solution")
        return solved(source.replace(old, new))
    return change


def make_submission(release_nb: dict, source_nb: dict, changes: dict[str, Callable],
                    answers: dict[str, str] | None = None) -> dict:
    """The released notebook with the solution cells named in ``changes`` filled in.

    ``changes`` apply to the autograded solution cells (code); ``answers`` maps a written
    answer cell's grade id to the text the student writes there (``declaration.MODEL``: the
    model answer of ``source_nb``). A cell named in neither keeps the released stub.
    """
    sources = {grade_id(cell): text_of(cell) for cell in source_nb["cells"] if is_solution(cell)}
    submission = json.loads(json.dumps(release_nb))
    for cell in submission["cells"]:
        cell_id = grade_id(cell)
        if cell_id not in sources:
            continue
        if kind(cell) == CellKind.MANUAL:
            text = (answers or {}).get(cell_id)
            if text is not None:
                cell["source"] = sources[cell_id] if text == MODEL else text
            continue
        change = changes.get(cell_id, changes.get("*"))
        if change is not None:
            cell["source"] = change(sources[cell_id])
    return submission
