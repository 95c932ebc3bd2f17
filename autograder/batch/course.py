"""A course folder driven by real nbgrader: release, submit, autograde, read the gradebook.

nbgrader stays the workflow engine. This module only lays out a course folder (our
``nbgrader_config.py``, with ``solutions/`` as nbgrader's source directory and ``assignments/``
as its release directory), runs nbgrader's own commands in it, and reads scores back from its
gradebook: the database the course's configuration names (``CourseDirectory.db_url``), or
``gradebook.db`` in the folder, SQLite, as nbgrader does by default.
"""
from __future__ import annotations

import contextlib
import io
import logging
import os
import shutil
import subprocess
import sys
import threading
import warnings
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import jsonschema
from nbgrader.api import Gradebook, MissingEntry
from sqlalchemy.exc import SAWarning
from traitlets.config import Config
from traitlets.config.loader import ConfigFileNotFound, PyFileConfigLoader

from autograder.errors import CourseError
from autograder.layout import REPO, CourseLayout

log = logging.getLogger(__name__)
# nbgrader's gradebook code sets off SQLAlchemy's autoflush warnings on every autograde; run in a
# process of its own they went to its captured output, here they would reach the TA's console.
warnings.filterwarnings("ignore", category=SAWarning, module=r"nbgrader\.")


class NbgraderFailed(CourseError):
    """An nbgrader command exited with an error; the message holds the end of its log."""


def tools_on_path() -> None:
    """Put this Python's own folder first on PATH: nbgrader's gradebook runs ``alembic`` (its
    database migrations) by name, which fails when the course's environment is not activated."""
    folder = str(Path(sys.executable).parent)
    path = os.environ.get("PATH", "")
    if path.split(os.pathsep)[0] != folder:
        os.environ["PATH"] = folder + (os.pathsep + path if path else "")


@dataclass(frozen=True)
class Course:
    """An nbgrader course folder at ``root``; ``db_url`` overrides the configuration's."""

    root: Path
    db: str | None = None

    @classmethod
    def create(cls, root: Path, assignments: list[str], source: Path = REPO.root) -> "Course":
        """Lay out a fresh course folder with copies of the config and the solution notebooks.

        Args:
            root: the folder to create (it must not exist, or be empty).
            assignments: assignment ids whose solution folders to copy.
            source: the course checkout holding ``nbgrader_config.py`` and ``solutions/``.
        """
        root = Path(root)
        if root.exists() and any(root.iterdir()):
            raise CourseError(f"{root} is not empty; choose a new folder for the course")
        root.mkdir(parents=True, exist_ok=True)
        origin, layout = CourseLayout(Path(source)), CourseLayout(root)
        shutil.copy(origin.config, layout.config)
        for assignment in assignments:
            src = origin.solution_folder(assignment)
            if not src.is_dir():
                raise CourseError(f"no solution folder {src}")
            shutil.copytree(src, layout.solution_folder(assignment),
                            ignore=shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__"))
        return cls(root)

    @property
    def layout(self) -> CourseLayout:
        return CourseLayout(self.root)

    @cached_property
    def db_url(self) -> str:
        """The gradebook's database: ``db`` if given, else the configuration's, else SQLite."""
        if self.db:
            return self.db
        try:
            config = PyFileConfigLoader(self.layout.config.name, str(self.root)).load_config()
        except ConfigFileNotFound:
            config = {}
        configured = config.get("CourseDirectory", {}).get("db_url") if config else None
        return configured or f"sqlite:///{self.layout.default_gradebook}"

    def gradebook(self) -> Gradebook:
        """nbgrader's gradebook of this course (use it in a ``with`` block)."""
        tools_on_path()
        return Gradebook(self.db_url)

    def nbgrader(self, *args: str, timeout: float | None = None) -> str:
        """Run an nbgrader command in this course folder and return its log.

        Raises:
            NbgraderFailed: the command exited with an error.
        """
        command = [sys.executable, "-m", "nbgrader", *args]
        if self.db:
            command.append(f"--CourseDirectory.db_url={self.db}")
        tools_on_path()
        log.debug("nbgrader %s", " ".join(args))
        done = subprocess.run(command, cwd=self.root, capture_output=True, text=True, timeout=timeout)
        output = done.stdout + done.stderr
        if done.returncode != 0:
            raise NbgraderFailed(f"`nbgrader {' '.join(args)}` failed:\n{output[-3000:]}")
        return output

    def convert(self, step: str, assignment: str, exclude: list[str] = (),
                submitted: Path | None = None, force: bool = True) -> str:
        """Run nbgrader's ``autograde --no-execute`` (``step="autograde"``) or
        ``generate_feedback`` in this process and return its log: nbgrader's own converter
        classes, configured as those commands configure them, without starting a Python that
        imports nbgrader again for each batch (seconds of CPU each time).

        Args:
            exclude: the students to leave out.
            submitted: the folder nbgrader reads submissions from (default: the course's).

        Raises:
            NbgraderFailed: nbgrader refused the batch.
        """
        from nbgrader.converters import Autograde, GenerateFeedback, NbGraderException
        from nbgrader.coursedir import CourseDirectory

        from autograder.batch.feedback import FeedbackPage

        converter_class = {"autograde": Autograde, "generate_feedback": GenerateFeedback}[step]
        config = self._config()
        config.CourseDirectory.assignment_id = assignment
        config.CourseDirectory.student_id_exclude = ",".join(exclude)
        if submitted is not None:
            config.CourseDirectory.submitted_directory = str(submitted)
        config.BaseConverter.force = force
        # nbconvert validates the whole notebook after each of nbgrader's preprocessors; once,
        # after the last, still refuses an invalid one (its own option)
        config.Exporter.optimistic_validation = True
        if step == "autograde":  # what ``--no-execute`` sets: the outputs are the grader's
            config.Execute.enabled = False
            config.ClearOutput.enabled = False
        else:  # the same pages as nbgrader's, rendered once (batch/feedback.py)
            config.GenerateFeedback.exporter_class = FeedbackPage
        tools_on_path()
        _schema_checked_once()
        log.debug("nbgrader %s %s (in this process)", step, assignment)
        captured = io.StringIO()
        quiet = logging.Logger(f"nbgrader {step}")  # its own, outside the logging tree: the TA's
        handler = logging.StreamHandler(captured)   # console gets only what the grader says
        handler.setFormatter(logging.Formatter("[%(levelname)s] %(message)s"))
        quiet.addHandler(handler)
        coursedir = CourseDirectory(config=config, log=quiet)
        try:
            with _one_engine(self.db_url):
                converter_class(coursedir=coursedir, config=config, log=quiet).start()
        except NbGraderException as err:
            raise NbgraderFailed(f"`nbgrader {step} {assignment}` failed:\n{captured.getvalue()[-3000:]}") from err
        log.debug("nbgrader %s %s said:\n%s", step, assignment, captured.getvalue())
        return captured.getvalue()

    def _config(self) -> Config:
        """The course's nbgrader configuration, rooted at this folder, with ``db`` if given."""
        config = Config()
        try:
            config.merge(PyFileConfigLoader(self.layout.config.name, str(self.root)).load_config())
        except ConfigFileNotFound:
            pass
        config.CourseDirectory.root = str(self.root)
        config.CourseDirectory.db_url = self.db_url
        return config

    def release(self, assignment: str) -> Path:
        """Generate the student version of ``assignment``; returns its notebook folder."""
        self.nbgrader("generate_assignment", assignment, "--force")
        return self.layout.release_folder(assignment)

    def ensure_released(self, assignment: str) -> None:
        """Record ``assignment`` in the gradebook (nbgrader's generate_assignment) if it is not yet."""
        with self.gradebook() as gradebook:
            try:
                gradebook.find_assignment(assignment)
                return
            except MissingEntry:
                pass
        self.release(assignment)

    def submit(self, student: str, assignment: str, files: dict[str, str | bytes]) -> Path:
        """Place a student's files where nbgrader collects them: submitted/<student>/<assignment>/."""
        folder = self.layout.submitted(student, assignment)
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

    def export_csv(self, path: Path) -> Path:
        """Export the gradebook to a CSV file with the course's nbgrader export plugin, in this
        process (nbgrader's columns, then the autograded and written parts: ``batch/export.py``)."""
        from autograder.batch.export import CourseCsvExport

        config = self._config()
        config.ExportPlugin.to = str(Path(path).resolve())
        with self.gradebook() as gradebook:
            CourseCsvExport(config=config).export(gradebook)
        return Path(path)

    def scores(self, assignment: str) -> dict[str, dict[str, float]]:
        """Points per student per graded cell (``grade_<function>``), read from the gradebook.

        A student with a submission folder but no gradebook entry for a notebook (nbgrader
        could not grade it) is listed with no grades, so nobody silently disappears.
        """
        result: dict[str, dict[str, float]] = {}
        students = [folder.parent.name for folder in self.layout.submissions(assignment)]
        with self.gradebook() as gradebook:
            notebooks = [n.name for n in gradebook.find_assignment(assignment).notebooks]
            for student in students:
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
        with self.gradebook() as gradebook:
            return {cell.name: float(cell.max_score)
                    for notebook in gradebook.find_assignment(assignment).notebooks
                    for cell in notebook.grade_cells}

    def needs_manual_grading(self, assignment: str) -> dict[str, set[str]]:
        """The grade cells of each student that wait for a TA in formgrader (a written answer
        that is not blank, without a manual score yet), from the gradebook."""
        with self.gradebook() as gradebook:
            return {submission.student.id: {grade.name for notebook in submission.notebooks
                                             for grade in notebook.grades if grade.needs_manual_grade}
                    for submission in gradebook.find_assignment(assignment).submissions}


class _SchemaCheckedOnce:
    """``jsonschema`` as nbgrader's cell metadata validator uses it, with each schema checked once.

    nbgrader validates every cell's metadata with ``jsonschema.validate``, which checks the
    schema itself before each cell: a fifth of the gradebook writer's time. ``validate`` here
    checks a schema the first time it sees it, then validates as ``jsonschema.validate`` does
    and raises the same error. Everything else is jsonschema's own.
    """

    def __init__(self):
        self._validators: dict[int, tuple[dict, object]] = {}  # id(schema) -> (schema, validator)

    def __getattr__(self, name):
        return getattr(jsonschema, name)

    def validate(self, instance, schema) -> None:
        kept = self._validators.get(id(schema))
        if kept is None or kept[0] is not schema:
            if len(self._validators) > 64:
                self._validators.clear()
            cls = jsonschema.validators.validator_for(schema)
            cls.check_schema(schema)
            kept = self._validators[id(schema)] = (schema, cls(schema))
        error = jsonschema.exceptions.best_match(kept[1].iter_errors(instance))
        if error is not None:
            raise error


def _schema_checked_once() -> None:
    """Give nbgrader's metadata validator the :class:`_SchemaCheckedOnce` jsonschema (once)."""
    from nbgrader.nbgraderformat import common

    if not isinstance(common.jsonschema, _SchemaCheckedOnce):
        common.jsonschema = _SchemaCheckedOnce()


_ENGINE_LOCK = threading.Lock()


@contextlib.contextmanager
def _one_engine(db_url: str):
    """Within the block, every nbgrader gradebook of ``db_url`` uses one SQLAlchemy engine.

    nbgrader opens the gradebook anew for each notebook it records, several times (the
    assignment, then each preprocessor that reads or writes grades), and each opening creates
    an engine, whose cache of compiled queries starts empty, so every query was compiled again
    for every notebook. One engine keeps them compiled for a batch.
    nbgrader's own ``close`` still ends each gradebook's session and returns its connections.
    """
    from nbgrader import api
    from sqlalchemy import create_engine

    with _ENGINE_LOCK:  # one batch at a time patches nbgrader's module
        engine = create_engine(db_url, echo=False, future=True)
        original = api.create_engine
        api.create_engine = lambda url, **kwargs: engine if url == db_url else original(url, **kwargs)
        try:
            yield
        finally:
            api.create_engine = original
            engine.dispose()
