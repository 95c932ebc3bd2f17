"""Where everything is, in one place (as nbgrader's ``CourseDirectory.format_path`` owns its
paths): the course's own checkout, and an nbgrader course folder with the grader's state in it.

A course folder, as nbgrader lays it out, with the grader's own state under ``.rnncourse/``::

    nbgrader_config.py            the course's configuration (solutions/ is the source folder)
    solutions/<a>/<a>.ipynb       source notebooks          assignments/<a>/   released notebooks
    submitted/<student>/<a>/      collected submissions     autograded/, feedback/<student>/<a>/
    gradebook.db                  nbgrader's gradebook (unless the configuration names a database)
    grades.csv                    nbgrader's export         reports/<a>/      integrity reports
    .rnncourse/lock               one grading run at a time
    .rnncourse/staged/<student>/<a>/    executed notebooks waiting for nbgrader to record them
    .rnncourse/results/<a>/<student>.json   each submission's result, under its key
    .rnncourse/ledger/<a>.json    which result each student's gradebook entry holds
    .rnncourse/matplotlib/        the kernels' font cache

The course's checkout (``REPO``) has the same ``solutions/`` and ``assignments/`` folders.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

STATE = ".rnncourse"


@dataclass(frozen=True)
class CourseLayout:
    """The paths of a course folder (or of the course's checkout) rooted at ``root``."""

    root: Path

    # --------------------------------------------------------------- nbgrader's folders
    @property
    def config(self) -> Path:
        return self.root / "nbgrader_config.py"

    def solution_folder(self, assignment: str) -> Path:
        return self.root / "solutions" / assignment

    def solution_notebook(self, assignment: str, notebook: str | None = None) -> Path:
        return self.solution_folder(assignment) / f"{notebook or assignment}.ipynb"

    def release_folder(self, assignment: str) -> Path:
        return self.root / "assignments" / assignment

    def release_notebook(self, assignment: str, notebook: str | None = None) -> Path:
        return self.release_folder(assignment) / f"{notebook or assignment}.ipynb"

    @property
    def submitted_root(self) -> Path:
        return self.root / "submitted"

    def submitted(self, student: str, assignment: str) -> Path:
        return self.submitted_root / student / assignment

    def submissions(self, assignment: str) -> list[Path]:
        """Every student's folder of ``assignment`` in ``submitted/``, sorted by student."""
        return sorted(p for p in self.submitted_root.glob(f"*/{assignment}") if p.is_dir())

    def autograded(self, student: str, assignment: str, notebook: str | None = None) -> Path:
        return self.root / "autograded" / student / assignment / f"{notebook or assignment}.ipynb"

    def feedback(self, student: str, assignment: str, notebook: str | None = None) -> Path:
        return self.root / "feedback" / student / assignment / f"{notebook or assignment}.html"

    @property
    def default_gradebook(self) -> Path:
        return self.root / "gradebook.db"

    def report(self, assignment: str) -> Path:
        return self.root / "reports" / assignment

    # --------------------------------------------------------------- the grader's state
    @property
    def state(self) -> Path:
        return self.root / STATE

    @property
    def lock(self) -> Path:
        return self.state / "lock"

    @property
    def staged_root(self) -> Path:
        """Given to nbgrader as its submitted folder when it records the staged notebooks."""
        return self.state / "staged"

    def staged(self, student: str, assignment: str) -> Path:
        return self.staged_root / student / assignment

    def staged_students(self, assignment: str) -> list[str]:
        return sorted(p.parent.name for p in self.staged_root.glob(f"*/{assignment}"))

    def results(self, assignment: str) -> Path:
        return self.state / "results" / assignment

    def result(self, assignment: str, student: str) -> Path:
        return self.results(assignment) / f"{student}.json"

    def ledger(self, assignment: str) -> Path:
        """Kept apart from the results, so no student id can name it."""
        return self.state / "ledger" / f"{assignment}.json"

    @property
    def matplotlib_cache(self) -> Path:
        return self.state / "matplotlib"


# The course's checkout holds solutions/ and assignments/. An installed (non-editable)
# autograder finds it through RNNCOURSE_ROOT; a checkout finds it next to this package.
REPO = CourseLayout(Path(os.environ.get("RNNCOURSE_ROOT", Path(__file__).resolve().parents[1])))
