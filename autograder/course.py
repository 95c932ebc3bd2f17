"""A course folder driven by real nbgrader: release, submit, autograde, read the gradebook.

nbgrader stays the workflow engine. This module only lays out a course folder (our
``nbgrader_config.py``, with ``solutions/`` as nbgrader's source directory and ``assignments/``
as its release directory), runs nbgrader's own commands in it, and reads scores back from its
gradebook (SQLite by default, any database URL nbgrader accepts otherwise).
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from nbgrader.api import Gradebook, MissingEntry

from .reference import COURSE_ROOT


class NbgraderFailed(RuntimeError):
    """An nbgrader command exited with an error; the message holds the end of its log."""


@dataclass(frozen=True)
class Course:
    """An nbgrader course folder at ``root``."""

    root: Path

    @classmethod
    def create(cls, root: Path, assignments: list[str], source: Path = COURSE_ROOT) -> "Course":
        """Lay out a fresh course folder with copies of the config and the solution notebooks.

        Args:
            root: the folder to create (it must not exist, or be empty).
            assignments: assignment ids whose solution folders to copy.
            source: the course checkout holding ``nbgrader_config.py`` and ``solutions/``.
        """
        root = Path(root)
        if root.exists() and any(root.iterdir()):
            raise FileExistsError(f"{root} is not empty; choose a new folder for the course")
        root.mkdir(parents=True, exist_ok=True)
        shutil.copy(source / "nbgrader_config.py", root / "nbgrader_config.py")
        for assignment in assignments:
            src = source / "solutions" / assignment
            if not src.is_dir():
                raise FileNotFoundError(f"no solution folder {src}")
            shutil.copytree(src, root / "solutions" / assignment,
                            ignore=shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__"))
        return cls(root)

    @property
    def db_url(self) -> str:
        return f"sqlite:///{self.root / 'gradebook.db'}"

    def nbgrader(self, *args: str, timeout: float | None = None) -> str:
        """Run an nbgrader command in this course folder and return its log.

        Raises:
            NbgraderFailed: the command exited with an error.
        """
        command = [sys.executable, "-m", "nbgrader", *args]
        # nbgrader calls `alembic` (its database migrations) by name: put our environment first.
        env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}")
        done = subprocess.run(command, cwd=self.root, env=env, capture_output=True, text=True,
                              timeout=timeout)
        log = done.stdout + done.stderr
        if done.returncode != 0:
            raise NbgraderFailed(f"`nbgrader {' '.join(args)}` failed:\n{log[-3000:]}")
        return log

    def release(self, assignment: str) -> Path:
        """Generate the student version of ``assignment``; returns its notebook folder."""
        self.nbgrader("generate_assignment", assignment, "--force")
        return self.root / "assignments" / assignment

    def ensure_released(self, assignment: str) -> None:
        """Record ``assignment`` in the gradebook (nbgrader's generate_assignment) if it is not yet."""
        with Gradebook(self.db_url) as gradebook:
            try:
                gradebook.find_assignment(assignment)
                return
            except MissingEntry:
                pass
        self.release(assignment)

    def submit(self, student: str, assignment: str, files: dict[str, str | bytes]) -> Path:
        """Place a student's files where nbgrader collects them: submitted/<student>/<assignment>/."""
        folder = self.root / "submitted" / student / assignment
        if folder.exists():
            shutil.rmtree(folder)
        folder.mkdir(parents=True)
        for name, content in files.items():
            path = folder / name
            if isinstance(content, bytes):
                path.write_bytes(content)
            else:
                path.write_text(content, encoding="utf-8")
        return folder

    def autograde(self, assignment: str, student: str | None = None) -> str:
        """Autograde every submission of ``assignment`` (or one student's) with nbgrader."""
        args = ["autograde", assignment, "--force"]
        if student:
            args += ["--student", student]
        return self.nbgrader(*args)

    def generate_feedback(self, assignment: str) -> Path:
        """Write feedback/<student>/<assignment>/<notebook>.html for every graded student."""
        self.nbgrader("generate_feedback", assignment, "--force")
        return self.root / "feedback"

    def export_csv(self, path: Path) -> Path:
        """Export the gradebook to a CSV file with nbgrader's own exporter."""
        self.nbgrader("export", "--to", str(Path(path).resolve()))
        return Path(path)

    def scores(self, assignment: str) -> dict[str, dict[str, float]]:
        """Points per student per graded cell (``grade_<function>``), read from the gradebook.

        A student with a submission folder but no gradebook entry for a notebook (nbgrader
        could not grade it) is listed with no grades, so nobody silently disappears.
        """
        result: dict[str, dict[str, float]] = {}
        submitted = sorted(p.parent.name for p in (self.root / "submitted").glob(f"*/{assignment}")
                           if p.is_dir())
        with Gradebook(self.db_url) as gradebook:
            notebooks = [n.name for n in gradebook.find_assignment(assignment).notebooks]
            for student in submitted:
                result[student] = {}
                for notebook in notebooks:
                    try:
                        graded = gradebook.find_submission_notebook(notebook, assignment, student)
                    except MissingEntry:
                        continue
                    for grade in graded.grades:
                        result[student][grade.name] = float(grade.score)
        return result

    def max_scores(self, assignment: str) -> dict[str, float]:
        """The points of each grade cell of ``assignment``, from the gradebook."""
        with Gradebook(self.db_url) as gradebook:
            return {cell.name: float(cell.max_score)
                    for notebook in gradebook.find_assignment(assignment).notebooks
                    for cell in notebook.grade_cells}


def read_notebook(path: Path) -> dict:
    """Load a notebook as plain JSON (no validation, so broken ones can be inspected)."""
    return json.loads(Path(path).read_text(encoding="utf-8"))
