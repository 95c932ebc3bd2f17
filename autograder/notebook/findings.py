"""One line of the integrity report: who, which notebook and cell, what was seen, what was done."""
from __future__ import annotations

from dataclasses import asdict, dataclass

from autograder.kinds import Check, Severity


@dataclass(frozen=True)
class Finding:
    """What the integrity checks saw in one cell of one student's notebook."""

    student: str
    notebook: str
    cell: str  # the grade id, "cell 7", or "notebook"
    check: Check
    severity: Severity
    action: str  # what grading did about it: "restored", "part scored 0", "none", ...
    detail: str

    def for_student(self, student: str) -> "Finding":
        return Finding(student, *list(asdict(self).values())[1:])

    def as_dict(self) -> dict:
        return asdict(self)
