"""The jobs of a grading run: one per submission, keyed so that a result is never redone.

A job's key is a hash of the student's files and of everything else that decides the grade
(the source and released notebooks, the grader's code, the limits, the sandbox). A result is
stored under its key, written atomically; a later run reuses exactly the results whose key
still matches, so a run killed half way and started again loses nothing and counts nothing twice.
"""
from __future__ import annotations

import hashlib
import json
import os
import tempfile
from dataclasses import asdict, dataclass
from functools import lru_cache
from pathlib import Path

import autograder
import rnncourse
from autograder.batch.course import Course
from autograder.kinds import Check, Severity
from autograder.layout import REPO, CourseLayout
from autograder.notebook.findings import Finding
from autograder.notebook.grader import placeholder
from autograder.notebook.restore import NotebookSource
from autograder.notebook.results import NotebookResult, zero_parts
from autograder.notebook.sandbox import Limits


@dataclass(frozen=True)
class Job:
    """One student's submission of one assignment."""

    course: Path
    assignment: str
    student: str
    notebooks: tuple[str, ...]
    key: str

    @property
    def layout(self) -> CourseLayout:
        return CourseLayout(self.course)

    @property
    def submitted(self) -> Path:
        return self.layout.submitted(self.student, self.assignment)

    @property
    def staged(self) -> Path:
        return self.layout.staged(self.student, self.assignment)

    @property
    def result_path(self) -> Path:
        return self.layout.result(self.assignment, self.student)

    def sources(self) -> list[NotebookSource]:
        """The source and released versions of every notebook of the assignment."""
        return [NotebookSource.load(self.layout.solution_notebook(self.assignment, name),
                                    self.layout.release_notebook(self.assignment, name))
                for name in self.notebooks]


def _hash_files(digest, folder: Path) -> None:
    for path in sorted(p for p in folder.rglob("*") if p.is_file() and ".ipynb_checkpoints" not in p.parts):
        digest.update(str(path.relative_to(folder)).encode() + b"\0")
        digest.update(hashlib.sha256(path.read_bytes()).digest())


@lru_cache(maxsize=None)
def grader_digest() -> str:
    """A hash of the grader as installed here: its code, the student side it talks to, and the
    reference solutions its hidden checks compile (a cluster worker must have the same)."""
    digest = hashlib.sha256()
    grader = Path(autograder.__file__).parent
    student_side = Path(rnncourse.__file__).parent
    for path in sorted([*grader.rglob("*.py"), *(student_side / "_grading").glob("*.py"),
                        student_side / "compare.py", *REPO.root.glob("solutions/*/*.ipynb")]):
        digest.update(path.read_bytes())
    return digest.hexdigest()


def fingerprint(course: Course, assignment: str, limits: Limits, mode: str) -> str:
    """A hash of everything that decides a grade besides the student's files."""
    limits = {name: float(value) for name, value in asdict(limits).items()}  # 30 == 30.0
    digest = hashlib.sha256(json.dumps([limits, mode], sort_keys=True).encode())
    for folder in (course.layout.solution_folder(assignment), course.layout.release_folder(assignment)):
        _hash_files(digest, folder)
    digest.update(grader_digest().encode())
    return digest.hexdigest()


def collect(course: Course, assignment: str, limits: Limits, mode: str) -> list[Job]:
    """A job for every student folder holding this assignment in submitted/."""
    base = fingerprint(course, assignment, limits, mode)
    notebooks = tuple(sorted(p.stem for p in course.layout.solution_folder(assignment).glob("*.ipynb")))
    jobs = []
    for folder in course.layout.submissions(assignment):
        digest = hashlib.sha256(base.encode())
        _hash_files(digest, folder)
        jobs.append(Job(course.root, assignment, folder.parent.name, notebooks, digest.hexdigest()))
    return jobs


def stored(job: Job) -> list[NotebookResult] | None:
    """The stored results of ``job`` if they were made under the same key."""
    try:
        data = json.loads(job.result_path.read_text())
    except (OSError, ValueError):
        return None
    if data.get("key") != job.key:
        return None
    return [NotebookResult.from_json(r) for r in data["results"]]


def loaded(job: Job) -> list[NotebookResult]:
    """The results stored for ``job`` even under another key (a grader error is never reused)."""
    try:
        return [NotebookResult.from_json(r) for r in json.loads(job.result_path.read_text())["results"]]
    except (OSError, ValueError, KeyError):
        return []


def write_atomic(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` so that a reader sees the old file or the new, never half."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile("w", dir=path.parent, delete=False, suffix=".tmp",
                                     encoding="utf-8") as file:
        file.write(text)
        temporary = Path(file.name)
    os.replace(temporary, path)


def failed(student: str, assignment: str, source: NotebookSource, why: str) -> tuple[NotebookResult, dict]:
    """A grader error as a result: every part 0 for now, flagged for the TA, retried next run."""
    parts = zero_parts(source, "the grader failed on this notebook; your TA will look at it", "error")
    result = NotebookResult(student, assignment, source.name, "error", parts,
                            [Finding(student, source.name, "notebook", Check.GRADER_ERROR, Severity.FLAG,
                                     "not graded", why[-600:])], [f"grader error: {why[-200:]}"])
    return result, placeholder(source, parts, "the grader failed on it; your TA will look")


def store_failure(job: Job, sources: list[NotebookSource], why: str) -> None:
    """Stage placeholders and store a grader error for ``job`` (key "": retried next run)."""
    job.staged.mkdir(parents=True, exist_ok=True)
    results = []
    for source in sources:
        result, notebook = failed(job.student, job.assignment, source, why)
        write_atomic(job.staged / f"{source.name}.ipynb", json.dumps(notebook))
        results.append(result.to_json())
    write_atomic(job.result_path, json.dumps({"key": "", "results": results}))
