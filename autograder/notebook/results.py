"""What grading one notebook produces: a part per grade cell, findings, a status."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field

from autograder.kinds import Check, PartStatus, Severity, Status
from autograder.notebook.findings import Finding
from autograder.notebook.restore import NotebookSource, SourceCell


@dataclass
class Part:
    """One grade cell's outcome."""

    grade_id: str
    points: float
    score: float
    feedback: str
    status: PartStatus = PartStatus.GRADED


@dataclass
class NotebookResult:
    """Everything the batch needs about one student's notebook."""

    student: str
    assignment: str
    notebook: str
    status: Status
    parts: list[Part] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # what went wrong while running, in words
    seconds: float = 0.0
    sandbox: str = ""

    @property
    def score(self) -> float:
        return round(sum(p.score for p in self.parts), 2)

    @property
    def max_score(self) -> float:
        return sum(p.points for p in self.parts)

    def to_json(self) -> dict:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict) -> "NotebookResult":
        data = dict(data, status=Status(data["status"]))
        data["parts"] = [Part(**dict(p, status=PartStatus(p["status"]))) for p in data["parts"]]
        data["findings"] = [Finding(**dict(f, check=Check(f["check"]), severity=Severity(f["severity"])))
                            for f in data["findings"]]
        return cls(**data)


def zero_parts(source: NotebookSource, reason: str, status: PartStatus = PartStatus.NOT_RUN) -> list[Part]:
    return [Part(c.grade_id, c.points, 0.0, f"{_function(c)}: not graded: {reason}. "
                 f"0 of {c.points:g} points.", status) for c in source.grade_cells]


def _function(cell: SourceCell) -> str:
    return cell.hidden.exercise if cell.hidden else cell.grade_id
