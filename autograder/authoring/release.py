"""The instructor's release: regenerate ``assignments/`` from ``solutions/`` and prove it sound.

Release runs nbgrader's ``generate_assignment`` in a scratch course folder, then validates
before anything reaches ``assignments/``:

- the solution notebook, autograded by real nbgrader, runs top to bottom without an error and
  earns full marks;
- the released notebook, autograded the same way, runs without a kernel failure (its only
  errors are the stubs' ``NotImplementedError``) and earns zero;
- no line of any solution survives in the released notebook, and no hidden test either;
- the written questions (graded by a TA) are the ones the declaration lists, with its points:
  the released notebook leaves them unanswered (nbgrader scores them 0), the solution's model
  answers wait for a TA, and no model answer or rubric is in the release.
"""
from __future__ import annotations

import json
import re
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from autograder.authoring import generated
from autograder.batch.course import Course
from autograder.cells import grade_id, kind
from autograder.checks import gradecell, registry
from autograder.errors import CourseError
from autograder.kinds import CellKind
from autograder.layout import REPO

SOLUTION_REGION = re.compile(r"### BEGIN SOLUTION\n(.*?)### END SOLUTION", re.S)
MARK_SCHEME = re.compile(r"^[^\n]*BEGIN MARK SCHEME[^\n]*\n(.*?)^[^\n]*END MARK SCHEME", re.S | re.M)
MARKERS = ("BEGIN SOLUTION", "END SOLUTION", "BEGIN HIDDEN TESTS", "END HIDDEN TESTS", "MARK SCHEME",
           "autograder")


class ReleaseInvalid(CourseError):
    """Validation found a problem; nothing was written to assignments/."""


@dataclass
class Validation:
    """What validating one assignment found."""

    assignment: str
    seconds: float = 0.0
    problems: list[str] = field(default_factory=list)


def leaked_solution_lines(source: dict, release: dict) -> list[str]:
    """Lines inside the source's solution regions, written model answers and rubrics (mark
    schemes) that appear in the release.

    Lines shorter than 16 characters (``return h, cache``, ``else:``) are too common to mean
    anything and are skipped.
    """
    released = "\n".join("".join(cell["source"]) for cell in release["cells"])
    released_lines = {line.strip() for line in released.splitlines()}
    leaked = []
    for cell in source["cells"]:
        text = "".join(cell["source"])
        regions = SOLUTION_REGION.findall(text) + MARK_SCHEME.findall(text)
        if kind(cell) == CellKind.MANUAL and not SOLUTION_REGION.search(text):
            regions.append(text)  # nbgrader replaces the whole written answer
        for region in regions:
            leaked += [line.strip() for line in region.splitlines()
                       if len(line.strip()) >= 16 and line.strip() in released_lines]
    leaked += [f"marker {m!r}" for m in MARKERS if m in released]
    return leaked


def cell_errors(notebook: dict) -> list[tuple[str, str]]:
    """(cell id, error name) for every error output in an executed notebook."""
    return [
        (grade_id(cell) or cell.get("id", "?"), output.get("ename", "?"))
        for cell in notebook["cells"] if cell["cell_type"] == "code"
        for output in cell.get("outputs", []) if output.get("output_type") == "error"
    ]


def autograded_cells(notebook: dict) -> set[str]:
    """The grade ids of the autograded grade cells (written answers are graded by hand)."""
    return {grade_id(c) for c in notebook["cells"] if kind(c) == CellKind.GRADE}


def written_cells(notebook: dict) -> set[str]:
    """The grade ids of the written answer cells, graded by a TA."""
    return {grade_id(c) for c in notebook["cells"] if kind(c) == CellKind.MANUAL}


def written_problems(assignment: str, source: dict, max_scores: dict[str, float],
                     scores: dict[str, dict[str, float]], pending: dict[str, set[str]]) -> list[str]:
    """What is wrong with the written questions of ``assignment`` after autograding the solution
    and the release: the declared questions against the notebook's, an answer left unanswered in
    the solution, an answer in the release."""
    declared = {q.grade_id: q.points for q in registry.get(assignment).written}
    found = {cell: points for cell, points in max_scores.items() if cell in written_cells(source)}
    problems = []
    if found != declared:
        problems.append(f"written answer cells {found} differ from the declaration's {declared}")
    questions = {grade_id(c) for c in source["cells"] if MARK_SCHEME.search("".join(c["source"]))}
    for question in registry.get(assignment).written:
        if question.question_id not in questions:
            problems.append(f"no read-only cell {question.question_id} with a mark scheme")
    for cell in found:
        if cell not in pending.get("solution", set()):
            problems.append(f"the solution's model answer at {cell} does not wait for a TA "
                            f"(nbgrader scored it {scores['solution'].get(cell)})")
        if scores["release"].get(cell) != 0 or cell in pending.get("release", set()):
            problems.append(f"the release's unanswered {cell} is not scored 0")
    return problems


def validate(course: Course, assignment: str) -> Validation:
    """Autograde the solution and the release of ``assignment`` in ``course`` and check both."""
    started = time.perf_counter()
    result = Validation(assignment)
    layout = course.layout
    name = layout.release_notebook(assignment).name
    source = json.loads(layout.solution_notebook(assignment).read_text())
    release = json.loads(layout.release_notebook(assignment).read_text())
    result.problems += [f"solution text in the release: {line}"
                        for line in leaked_solution_lines(source, release)]
    course.submit("solution", assignment, {name: json.dumps(source)})
    course.submit("release", assignment, {name: json.dumps(release)})
    course.autograde(assignment)
    scores, max_scores = course.scores(assignment), course.max_scores(assignment)
    expected_cells = {gradecell.grade_id(e.name): e.points for e in registry.get(assignment).exercises}
    autograded = {cell: points for cell, points in max_scores.items() if cell in autograded_cells(source)}
    if autograded != expected_cells:
        result.problems.append(f"grade cells {autograded} differ from the hidden checks {expected_cells}")
    result.problems += written_problems(assignment, source, max_scores, scores,
                                        course.needs_manual_grading(assignment))
    for cell, points in autograded.items():
        if scores["solution"].get(cell) != points:
            result.problems.append(f"the solution earns {scores['solution'].get(cell)} of {points} at {cell}")
        if scores["release"].get(cell) != 0:
            result.problems.append(f"the release earns {scores['release'].get(cell)} at {cell}")
    for student, allowed in [("solution", set()), ("release", {"NotImplementedError"})]:
        path = layout.autograded(student, assignment)
        if not path.exists():
            result.problems.append(f"nbgrader did not grade the {student} notebook")
            continue
        errors = [(cell, e) for cell, e in cell_errors(json.loads(path.read_text())) if e not in allowed]
        result.problems += [f"the {student} notebook fails at cell {cell} with {e}" for cell, e in errors]
    result.seconds = time.perf_counter() - started
    return result


def release(assignments: list[str], out: Path = REPO.root / "assignments",
            check: bool = True) -> list[Validation]:
    """Regenerate ``out/<assignment>/`` from the solutions, after validating every assignment.

    Raises:
        ReleaseInvalid: validation failed; ``out`` is left as it was.
    """
    for assignment in assignments:
        registry.get(assignment)  # a clear error for an unknown id before any work
        source = json.loads(REPO.solution_notebook(assignment).read_text(encoding="utf-8"))
        if generated.expand(source, assignment):
            raise ReleaseInvalid(f"{assignment}: provided or grade cells are stale; "
                                 "`python -m autograder release` refreshes them")
    with tempfile.TemporaryDirectory(prefix="rnncourse-release-") as scratch:
        course = Course.create(Path(scratch) / "course", assignments)
        for assignment in assignments:
            course.release(assignment)
        results = [validate(course, a) for a in assignments] if check else []
        problems = [f"{r.assignment}: {p}" for r in results for p in r.problems]
        if problems:
            raise ReleaseInvalid("release not written:\n  " + "\n  ".join(problems))
        for assignment in assignments:
            target = Path(out) / assignment
            if target.exists():
                shutil.rmtree(target)
            shutil.copytree(course.layout.release_folder(assignment), target)
    return results
