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

import copy
import json
import warnings
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from autograder.cells import grade_id, kind, nbgrader_meta, text_of
from autograder.checks import gradecell
from autograder.checks.gradecell import HiddenCall
from autograder.kinds import CellKind, Check, Severity
from autograder.notebook.findings import Finding

MAX_NOTEBOOK_BYTES = 64 * 1024 * 1024


@dataclass(frozen=True)
class SourceCell:
    """One cell of the source notebook that nbgrader knows by its grade id."""

    grade_id: str
    kind: CellKind
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
        return cls.parse(Path(source_path).stem, Path(source_path).read_text(encoding="utf-8"),
                         Path(release_path).read_text(encoding="utf-8"))

    @classmethod
    def parse(cls, name: str, source_text: str, release_text: str) -> "NotebookSource":
        """From the two notebooks' texts (a cluster worker has no course folder)."""
        source, release = json.loads(source_text), json.loads(release_text)
        by_id = {grade_id(c): c for c in source["cells"] if grade_id(c)}
        cells = []
        for cell in release["cells"]:
            cell_id = grade_id(cell)
            if not cell_id:
                continue
            text = text_of(by_id.get(cell_id, cell))
            cell_kind = kind(cell)
            hidden, visible = (gradecell.parse(text) if cell_kind == CellKind.GRADE else (None, ""))
            cells.append(SourceCell(cell_id, cell_kind, cell["cell_type"], cell, text,
                                    float(nbgrader_meta(cell).get("points", 0) or 0), hidden, visible))
        return cls(name, tuple(cells), release)

    @property
    def grade_cells(self) -> list[SourceCell]:
        return [c for c in self.cells if c.kind == CellKind.GRADE]


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
        findings.append(Finding("", name, "notebook", Check.RENAMED_NOTEBOOK, Severity.FLAG, "graded",
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
            findings.append(Finding("", name, "notebook", Check.OLD_FORMAT, Severity.INFO, "converted",
                                    f"saved in notebook format {version}; converted to format 4"))
        return Submission("ok", json.loads(nbformat.writes(notebook)), findings=findings)
    except Exception as err:  # nbformat rejects it: keep whatever cells look like cells
        cells = [c for c in raw.get("cells", []) if isinstance(c, dict)
                 and c.get("cell_type") in ("code", "markdown", "raw")
                 and isinstance(c.get("source", ""), (str, list))]
        if not cells:
            return Submission("unreadable", reason=f"{path.name} holds no readable cell "
                              f"({type(err).__name__})", findings=findings)
        findings.append(Finding("", name, "notebook", Check.INVALID_NOTEBOOK, Severity.INFO, "read leniently",
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
               if c.kind in (CellKind.GRADE, CellKind.LOCKED) and c.cell_type == "code" and text_of(c.release).strip()}
    items = []  # [cell, grade id or None]
    for index, cell in enumerate(notebook.get("cells", [])):
        cell_id = grade_id(cell)
        label = cell_id or f"cell {index + 1}"
        if cell_id in known:
            items.append([cell, cell_id])
            continue
        if cell_id or nbgrader_meta(cell):
            graded = bool(nbgrader_meta(cell).get("grade"))
            found(label, Check.UNKNOWN_CELL, Severity.FLAG if graded else Severity.INFO, "treated as the student's own",
                  f"nbgrader metadata names {cell_id!r}, which this notebook does not have"
                  + (" (it claims points)" if graded else ""))
        elif text_of(cell).strip() in by_text:
            cell_id = by_text[text_of(cell).strip()]
            found(cell_id, Check.METADATA_STRIPPED, Severity.FLAG, "restored",
                  "the cell's nbgrader metadata was removed; recognised by its text")
            items.append([cell, cell_id])
            continue
        items.append([cell, None])

    _deduplicate(items, known, found)
    cells = []
    for cell, cell_id in items:
        if cell is None:
            continue
        if cell_id is None:
            cells.append(_own_cell(cell))
        else:
            cells.append(_restored(cell, known[cell_id], found))
    _put_back_missing(cells, source, found)
    return cells, findings


def _deduplicate(items: list, known: dict, found) -> None:
    """Keep the last copy of each identified cell (as nbgrader does); the others lose their id."""
    positions = defaultdict(list)
    for position, (_, cell_id) in enumerate(items):
        if cell_id:
            positions[cell_id].append(position)
    for cell_id, where in positions.items():
        if len(where) == 1:
            continue
        cell_kind = known[cell_id].kind
        for position in where[:-1]:
            if cell_kind == CellKind.GRADE:
                items[position][0] = None
            else:
                items[position][1] = None
        if cell_kind == CellKind.GRADE:
            found(cell_id, Check.DUPLICATED_CELL, Severity.FLAG, "graded once",
                  f"the grade cell appears {len(where)} times; it is graded once, where its last copy stands")
        else:
            found(cell_id, Check.DUPLICATED_CELL, Severity.INFO, "earlier copies run as ordinary cells",
                  f"the {cell_kind} cell appears {len(where)} times")


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
    student_meta = nbgrader_meta(cell)
    release_meta = spec.release.get("metadata", {})
    if cell.get("cell_type") != spec.cell_type:
        keep = "converted back" if spec.kind.student_writes else "restored"
        found(spec.grade_id, Check.RETYPED_CELL, Severity.FLAG if spec.kind == CellKind.GRADE else Severity.INFO, keep,
              f"the {spec.kind} cell was changed from {spec.cell_type} to {cell.get('cell_type')}")
    for key in ("grade", "solution", "locked", "points"):
        want = nbgrader_meta(spec.release).get(key)
        if key in student_meta and student_meta.get(key) != want and spec.kind != CellKind.FREE:
            found(spec.grade_id, Check.CHANGED_METADATA, Severity.FLAG, "restored",
                  f"nbgrader metadata {key!r} was changed from {want!r} to {student_meta.get(key)!r}")
    if spec.kind.student_writes:
        return _cell(spec.cell_type, text_of(cell), release_meta)
    if text_of(cell).strip() != text_of(spec.release).strip():
        severity = Severity.FLAG if spec.cell_type == "code" else Severity.INFO
        found(spec.grade_id, Check.CHANGED_CELL, severity, "restored",
              f"the locked {'grade ' if spec.kind == 'grade' else ''}cell was edited")
    return _cell(spec.cell_type, spec.source_text, release_meta)


def _put_back_missing(cells: list[dict], source: NotebookSource, found) -> None:
    """Insert each missing grade or locked cell after the nearest earlier source cell present."""
    present = {grade_id(c) for c in cells}
    for index, spec in enumerate(source.cells):
        if spec.grade_id in present:
            continue
        if spec.kind.student_writes and spec.kind != CellKind.MANUAL:
            found(spec.grade_id, Check.DELETED_CELL, Severity.INFO, "none",
                  f"the {spec.kind} cell was deleted (its code may live in another cell)")
            continue
        at = 0
        for earlier in reversed(source.cells[:index]):
            positions = [i for i, c in enumerate(cells) if grade_id(c) == earlier.grade_id]
            if positions:
                at = positions[-1] + 1
                break
        # a written answer comes back as released (unanswered: nbgrader scores it 0), never
        # with the model answer that is its source
        text = text_of(spec.release) if spec.kind == CellKind.MANUAL else spec.source_text
        cells.insert(at, _cell(spec.cell_type, text, spec.release.get("metadata", {})))
        present.add(spec.grade_id)
        what = {CellKind.GRADE: "grade cell was deleted; restored from the source and graded",
                CellKind.MANUAL: "written answer cell was deleted; put back unanswered (the "
                                 "student's own cells are kept for the TA to read)"
                }.get(spec.kind, "locked cell was deleted; restored from the source")
        found(spec.grade_id, Check.DELETED_CELL, Severity.FLAG if spec.cell_type == "code" else Severity.INFO,
              "restored", f"the {what}")
