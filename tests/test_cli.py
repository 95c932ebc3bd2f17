"""`python -m autograder`: a wrong argument gets a clear error that names it, and nothing runs;
the TA's command works as the README types it, without an activated environment."""
import json
import os
import subprocess
import sys

import pytest

from autograder.__main__ import main
from autograder.batch.course import Course
from autograder.checks import registry
from autograder.checks.samples import make_submission
from autograder.layout import REPO


@pytest.mark.parametrize("args, says", [
    (["--workers", "0"], "--workers: 0 is too small: at least 1"),
    (["--memory", "lots"], "--memory: 'lots' is not a whole number"),
    (["--cell-timeout", "-1"], "--cell-timeout: -1 is too small"),
    (["--sandbox", "maybe"], "invalid choice: 'maybe'"),
    (["04_gru_typo"], "unknown assignment '04_gru_typo'; the course has "),
])
def test_a_bad_argument_is_refused_by_name(args, says, tmp_path, capsys):
    (tmp_path / "submitted").mkdir()
    with pytest.raises(SystemExit) as exit_:
        main(["grade", str(tmp_path), *args])
    assert exit_.value.code == 2
    assert says in capsys.readouterr().err


def test_a_folder_that_is_not_a_course_is_refused(tmp_path, capsys):
    assert main(["grade", str(tmp_path / "nowhere")]) == 1
    assert "has no submitted/ folder" in capsys.readouterr().err


def test_release_of_an_unknown_assignment_changes_nothing(capsys):
    with pytest.raises(SystemExit):
        main(["release", "99_nothing"])
    assert "unknown assignment '99_nothing'" in capsys.readouterr().err


def test_a_grader_bug_is_said_in_one_line_and_shown_whole_with_debug(monkeypatch, tmp_path, capsys):
    def broken(args):
        raise ZeroDivisionError("a bug of the grader")

    monkeypatch.setattr("autograder.__main__._demo", broken)
    assert main(["demo", "--work", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "the grader failed (ZeroDivisionError: a bug of the grader)" in err and "--debug" in err
    monkeypatch.setattr("autograder.__main__._demo", broken)
    with pytest.raises(ZeroDivisionError):
        main(["--debug", "demo", "--work", str(tmp_path)])


@pytest.mark.slow
def test_the_documented_grade_command_works_without_an_activated_environment(tmp_path):
    # nbgrader's gradebook runs `alembic` by name: a course folder with no gradebook yet once
    # failed with FileNotFoundError: 'alembic' when the environment's bin/ was not on PATH.
    notebook_id = next(iter(registry.declared()))
    course = Course.create(tmp_path / "course", [notebook_id])
    course.release(notebook_id)
    release = json.loads(course.layout.release_notebook(notebook_id).read_text())
    source = json.loads(REPO.solution_notebook(notebook_id).read_text())
    course.submit("blank", notebook_id, {f"{notebook_id}.ipynb": json.dumps(make_submission(release, source, {}))})
    course.layout.default_gradebook.unlink()  # as a TA's new course folder: no gradebook yet
    env = {key: value for key, value in os.environ.items() if key != "VIRTUAL_ENV"}
    env["PATH"] = "/usr/bin:/bin"
    done = subprocess.run([sys.executable, "-m", "autograder", "-q", "grade", str(course.root),
                           "--no-progress", "--sandbox", "off"],
                          cwd=REPO.root, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "alembic" not in done.stderr
    # with -q only warnings: none of nbgrader's own log lines or SQLAlchemy warnings
    assert not [line for line in done.stderr.splitlines() if "Warning" in line or line.startswith("[")], done.stderr
    assert Course(course.root).scores(notebook_id) == {
        "blank": {f"grade_{e.name}": 0.0 for e in registry.get(notebook_id).exercises}}
