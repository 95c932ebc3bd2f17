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


def make_submission(release_nb: dict, source_nb: dict, changes: dict[str, Callable]) -> dict:
    """The released notebook with the solution cells named in ``changes`` filled in."""
    sources = {cell["metadata"]["nbgrader"]["grade_id"]: "".join(cell["source"])
               for cell in source_nb["cells"]
               if cell["metadata"].get("nbgrader", {}).get("solution")}
    submission = json.loads(json.dumps(release_nb))
    for cell in submission["cells"]:
        grade_id = cell["metadata"].get("nbgrader", {}).get("grade_id")
        change = changes.get(grade_id, changes.get("*"))
        if grade_id in sources and change is not None:
            cell["source"] = change(sources[grade_id])
    return submission
