"""One line of the integrity report: who, which notebook and cell, what was seen, what was done."""
from __future__ import annotations

from dataclasses import asdict, dataclass

# How much a finding matters:
#   info  - recorded for the record; nothing suspicious (an old file format, a copied cell);
#   flag  - a TA should look: code that could alter grading elsewhere, or a repaired notebook.
#           It costs no points by itself, and it earns none either: grading never depends on it;
#   zero  - the finding cost the part its points (the graded function hands its work to a
#           library that does it, in a notebook that asks for it by hand).
SEVERITIES = ("info", "flag", "zero")


@dataclass(frozen=True)
class Finding:
    """What the integrity checks saw in one cell of one student's notebook."""

    student: str
    notebook: str
    cell: str  # the grade id, "cell 7", or "notebook"
    check: str  # a short name, e.g. "ipython-hook", "deleted-cell"
    severity: str  # one of SEVERITIES
    action: str  # what grading did about it: "restored", "part scored 0", "none", ...
    detail: str

    def for_student(self, student: str) -> "Finding":
        return Finding(student, *list(asdict(self).values())[1:])

    def as_dict(self) -> dict:
        return asdict(self)
