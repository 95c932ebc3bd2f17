"""Reading a submitted notebook, whatever state it is in, and restoring what a student may not change.

A student can delete, duplicate, re-type or edit any cell, strip its metadata, save the file
in an old format, or break its JSON. Before anything runs, :func:`read_submission` reads what
can be read, and :func:`restore` rebuilds the notebook the course grades: the student's own
cells as they wrote them, and every locked cell (setup, visible checks, grade cells, text) as
the source has it, in its place. Each repair is a :class:`Finding` for the integrity report.

Which cell is which comes from the nbgrader grade id in the cell's metadata or, where the
metadata was stripped, from the cell's text matching a released locked cell.
"""
from __future__ import annotations

import ast
import copy
import json
import re
import warnings
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from .findings import Finding

HIDDEN = re.compile(r"### BEGIN HIDDEN TESTS\n(.*?)### END HIDDEN TESTS\n?", re.S)
MAX_NOTEBOOK_BYTES = 64 * 1024 * 1024


@dataclass(frozen=True)
class HiddenCall:
    """The hidden part of a grade cell: ``from <module> import <function>; <function>(<argument>)``."""

    module: str
    function: str
    argument: str  # an expression of the student's namespace, e.g. "rnn_step_forward"


@dataclass(frozen=True)
class SourceCell:
    """One cell of the source notebook that nbgrader knows by its grade id.

    ``kind`` is "grade" (an autograded test cell), "solution", "manual" (a solution cell that
    is also graded, by hand), "locked" (setup, visible checks, instructions) or "free" (an
    editable cell the student may change, such as an experiment).
    """

    grade_id: str
    kind: str
    cell_type: str
    release: dict  # the cell as released to students
    source_text: str  # its source in solutions/ (a grade cell's includes the hidden tests)
    points: float = 0.0
    hidden: HiddenCall | None = None
    visible_code: str = ""  # a grade cell's code outside the hidden part, if any


@dataclass(frozen=True)
class NotebookSource:
    """The source and released versions of one notebook of an assignment."""

    name: str
    cells: tuple[SourceCell, ...]
    release: dict

    @classmethod
    def load(cls, source_path: Path, release_path: Path) -> "NotebookSource":
        source = json.loads(Path(source_path).read_text(encoding="utf-8"))
        release = json.loads(Path(release_path).read_text(encoding="utf-8"))
        by_id = {_meta(c).get("grade_id"): c for c in source["cells"] if _meta(c).get("grade_id")}
        cells = []
        for cell in release["cells"]:
            meta = _meta(cell)
            grade_id = meta.get("grade_id")
            if not grade_id:
                continue
            text = text_of(by_id.get(grade_id, cell))
            kind = ("manual" if meta.get("grade") and meta.get("solution") else
                    "grade" if meta.get("grade") else "solution" if meta.get("solution") else
                    "locked" if meta.get("locked") else "free")
            hidden, visible = (parse_hidden(text) if kind == "grade" else (None, ""))
            cells.append(SourceCell(grade_id, kind, cell["cell_type"], cell, text,
                                    float(meta.get("points", 0) or 0), hidden, visible))
        return cls(Path(source_path).stem, tuple(cells), release)

    def cell(self, grade_id: str) -> SourceCell:
        return next(c for c in self.cells if c.grade_id == grade_id)

    @property
    def grade_cells(self) -> list[SourceCell]:
        return [c for c in self.cells if c.kind == "grade"]


def _meta(cell: dict) -> dict:
    meta = cell.get("metadata") if isinstance(cell, dict) else None
    nbgrader = meta.get("nbgrader") if isinstance(meta, dict) else None
    return nbgrader if isinstance(nbgrader, dict) else {}


def text_of(cell: dict) -> str:
    source = cell.get("source", "")
    return "".join(source) if isinstance(source, list) else str(source)


def parse_hidden(text: str) -> tuple[HiddenCall | None, str]:
    """The hidden call of a grade cell's source, and its visible code (comments stripped)."""
    match = HIDDEN.search(text)
    visible = HIDDEN.sub("", text)
    visible_code = "\n".join(line for line in visible.splitlines()
                             if line.strip() and not line.strip().startswith("#"))
    if not match:
        return None, visible_code
    body = ast.parse(match.group(1)).body
    imports = {alias.asname or alias.name: (node.module, alias.name)
               for node in body if isinstance(node, ast.ImportFrom)
               and (node.module or "").startswith("autograder.checks.") for alias in node.names}
    calls = [node.value for node in body if isinstance(node, ast.Expr)
             and isinstance(node.value, ast.Call) and isinstance(node.value.func, ast.Name)
             and node.value.func.id in imports and len(node.value.args) == 1
             and not node.value.keywords]
    if len(calls) != 1 or len(body) != len(imports) + 1:
        return None, visible_code
    module, function = imports[calls[0].func.id]
    return HiddenCall(module, function, ast.unparse(calls[0].args[0])), visible_code


# ------------------------------------------------------------------------------ reading
@dataclass
class Submission:
    """What could be read of one submitted notebook: ``status`` "ok", "missing" or "unreadable"."""

    status: str
    notebook: dict | None = None
    reason: str = ""
    findings: list[Finding] = field(default_factory=list)


def read_submission(folder: Path, name: str) -> Submission:
    """Read ``folder/<name>.ipynb``; a lone notebook of another name stands in for a missing one."""
    path = Path(folder) / f"{name}.ipynb"
    findings = []
    if not path.exists():
        others = sorted(p for p in Path(folder).glob("*.ipynb") if p.is_file())
        if len(others) != 1:
            found = ", ".join(p.name for p in others) or "no notebook at all"
            return Submission("missing", reason=f"no file {path.name} in the submission (found: {found})")
        path = others[0]
        findings.append(Finding("", name, "notebook", "renamed-notebook", "flag", "graded",
                                f"{path.name} was submitted instead of {name}.ipynb"))
    if path.is_symlink() or not path.is_file():
        return Submission("unreadable", reason=f"{path.name} is not a regular file", findings=findings)
    if path.stat().st_size > MAX_NOTEBOOK_BYTES:
        return Submission("unreadable", reason=f"{path.name} is larger than "
                          f"{MAX_NOTEBOOK_BYTES >> 20} MB", findings=findings)
    try:
        text = path.read_text(encoding="utf-8")
        raw = json.loads(text)
    except (UnicodeDecodeError, ValueError, RecursionError) as err:
        return Submission("unreadable", reason=f"{path.name} is not valid notebook JSON "
                          f"({type(err).__name__}: {str(err)[:120]})", findings=findings)
    if not isinstance(raw, dict) or not isinstance(raw.get("cells", raw.get("worksheets")), list):
        return Submission("unreadable", reason=f"{path.name} is JSON but not a notebook",
                          findings=findings)
    version = raw.get("nbformat")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            notebook = nbformat.reads(text, as_version=4)
        if version != 4:
            findings.append(Finding("", name, "notebook", "old-format", "info", "converted",
                                    f"saved in notebook format {version}; converted to format 4"))
        return Submission("ok", json.loads(nbformat.writes(notebook)), findings=findings)
    except Exception as err:  # nbformat rejects it: keep whatever cells look like cells
        cells = [c for c in raw.get("cells", []) if isinstance(c, dict)
                 and c.get("cell_type") in ("code", "markdown", "raw")
                 and isinstance(c.get("source", ""), (str, list))]
        if not cells:
            return Submission("unreadable", reason=f"{path.name} holds no readable cell "
                              f"({type(err).__name__})", findings=findings)
        findings.append(Finding("", name, "notebook", "invalid-notebook", "info", "read leniently",
                                f"the notebook does not validate ({type(err).__name__}); "
                                f"{len(cells)} cells were read"))
        return Submission("ok", {"cells": cells, "metadata": {}}, findings=findings)


# ------------------------------------------------------------------------------ restoring
def restore(notebook: dict, source: NotebookSource, student: str = "") -> tuple[list[dict], list[Finding]]:
    """The cells to grade: the student's cells, and every locked cell as the source has it.

    Returns the cells (nbformat 4 dictionaries without outputs) and the findings.
    """
    findings: list[Finding] = []

    def found(cell, check, severity, action, detail):
        findings.append(Finding(student, source.name, cell, check, severity, action, detail))

    known = {c.grade_id: c for c in source.cells}
    by_text = {text_of(c.release).strip(): c.grade_id for c in source.cells
               if c.kind in ("grade", "locked") and c.cell_type == "code" and text_of(c.release).strip()}
    items = []  # [cell, grade id or None]
    for index, cell in enumerate(notebook.get("cells", [])):
        grade_id = _meta(cell).get("grade_id")
        label = grade_id or f"cell {index + 1}"
        if grade_id in known:
            items.append([cell, grade_id])
            continue
        if grade_id or _meta(cell):
            graded = bool(_meta(cell).get("grade"))
            found(label, "unknown-cell", "flag" if graded else "info", "treated as the student's own",
                  f"nbgrader metadata names {grade_id!r}, which this notebook does not have"
                  + (" (it claims points)" if graded else ""))
        elif text_of(cell).strip() in by_text:
            grade_id = by_text[text_of(cell).strip()]
            found(grade_id, "metadata-stripped", "flag", "restored",
                  "the cell's nbgrader metadata was removed; recognised by its text")
            items.append([cell, grade_id])
            continue
        items.append([cell, None])

    _deduplicate(items, known, found)
    cells = []
    for cell, grade_id in items:
        if cell is None:
            continue
        if grade_id is None:
            cells.append(_own_cell(cell))
        else:
            cells.append(_restored(cell, known[grade_id], found))
    _put_back_missing(cells, source, found)
    return cells, findings


def _deduplicate(items: list, known: dict, found) -> None:
    """Keep the last copy of each identified cell (as nbgrader does); the others lose their id."""
    positions = defaultdict(list)
    for position, (_, grade_id) in enumerate(items):
        if grade_id:
            positions[grade_id].append(position)
    for grade_id, where in positions.items():
        if len(where) == 1:
            continue
        kind = known[grade_id].kind
        for position in where[:-1]:
            if kind == "grade":
                items[position][0] = None
            else:
                items[position][1] = None
        if kind == "grade":
            found(grade_id, "duplicated-cell", "flag", "graded once",
                  f"the grade cell appears {len(where)} times; it is graded once, where its last copy stands")
        else:
            found(grade_id, "duplicated-cell", "info", "earlier copies run as ordinary cells",
                  f"the {kind} cell appears {len(where)} times")


def _own_cell(cell: dict) -> dict:
    """A student's own cell, as nbformat 4, without nbgrader metadata or outputs."""
    kind = cell.get("cell_type") if cell.get("cell_type") in ("code", "markdown", "raw") else "raw"
    metadata = {k: v for k, v in (cell.get("metadata") or {}).items() if k != "nbgrader"} \
        if isinstance(cell.get("metadata"), dict) else {}
    return _cell(kind, text_of(cell), metadata)


def _cell(kind: str, text: str, metadata: dict) -> dict:
    maker = {"code": nbformat.v4.new_code_cell, "markdown": nbformat.v4.new_markdown_cell,
             "raw": nbformat.v4.new_raw_cell}[kind]
    return dict(maker(source=text, metadata=copy.deepcopy(metadata)))


def _restored(cell: dict, spec: SourceCell, found) -> dict:
    """The cell ``spec`` as the course grades it, given what the student's copy looks like."""
    student_meta = _meta(cell)
    release_meta = spec.release.get("metadata", {})
    if cell.get("cell_type") != spec.cell_type:
        keep = "converted back" if spec.kind in ("solution", "manual", "free") else "restored"
        found(spec.grade_id, "retyped-cell", "flag" if spec.kind == "grade" else "info", keep,
              f"the {spec.kind} cell was changed from {spec.cell_type} to {cell.get('cell_type')}")
    for key in ("grade", "solution", "locked", "points"):
        want = _meta(spec.release).get(key)
        if key in student_meta and student_meta.get(key) != want and spec.kind != "free":
            found(spec.grade_id, "changed-metadata", "flag", "restored",
                  f"nbgrader metadata {key!r} was changed from {want!r} to {student_meta.get(key)!r}")
    if spec.kind in ("solution", "manual", "free"):
        return _cell(spec.cell_type, text_of(cell), release_meta)
    if text_of(cell).strip() != text_of(spec.release).strip():
        severity = "flag" if spec.cell_type == "code" else "info"
        found(spec.grade_id, "changed-cell", severity, "restored",
              f"the locked {'grade ' if spec.kind == 'grade' else ''}cell was edited")
    return _cell(spec.cell_type, spec.source_text, release_meta)


def _put_back_missing(cells: list[dict], source: NotebookSource, found) -> None:
    """Insert each missing grade or locked cell after the nearest earlier source cell present."""
    present = {_meta(c).get("grade_id") for c in cells}
    for index, spec in enumerate(source.cells):
        if spec.grade_id in present:
            continue
        if spec.kind in ("solution", "manual", "free"):
            found(spec.grade_id, "deleted-cell", "info", "none",
                  f"the {spec.kind} cell was deleted (its code may live in another cell)")
            continue
        at = 0
        for earlier in reversed(source.cells[:index]):
            positions = [i for i, c in enumerate(cells) if _meta(c).get("grade_id") == earlier.grade_id]
            if positions:
                at = positions[-1] + 1
                break
        cells.insert(at, _cell(spec.cell_type, spec.source_text, spec.release.get("metadata", {})))
        present.add(spec.grade_id)
        what = "grade cell was deleted; restored from the source and graded" if spec.kind == "grade" \
            else "locked cell was deleted; restored from the source"
        found(spec.grade_id, "deleted-cell", "flag" if spec.cell_type == "code" else "info",
              "restored", f"the {what}")
