"""What students receive: the release schedule, the student kit it gates, and proof that the kit
holds nothing a student must not see and installs without the grader."""
import ast
import datetime as dt
import hashlib
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from autograder.__main__ import main
from autograder.authoring import kit, provided, release
from autograder.authoring import schedule as schedules
from autograder.checks import registry
from autograder.layout import REPO, CourseLayout

ROOT = REPO.root
DAY = dt.timedelta(days=1)
EVERY = list(registry.declared())
CARRIES = {nb: kit.carries(nb) for nb in EVERY}


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "schedule.toml"
    path.write_text(text)
    return path


def _weekly(first: dt.date = dt.date(2030, 3, 4), overlap: int = 0) -> str:
    """A schedule text with one notebook a week; ``overlap`` days of each opening before the
    previous notebook is due."""
    rows = []
    for week, nb in enumerate(EVERY):
        opens = first + 7 * week * DAY - (overlap * DAY if week else 0 * DAY)
        rows.append(f"[{nb}]\nopens = {opens}\ndue = {first + (7 * week + 6) * DAY}\n")
    return "\n".join(rows)


@pytest.fixture
def plan(tmp_path):
    """A weekly schedule where 02 opens two days before 01 is due (so it is open, and refused)."""
    return schedules.load(_write(tmp_path, _weekly(overlap=2)))


# ------------------------------------------------------------------ the schedule file
def test_the_course_schedule_loads_and_lets_each_notebook_out_on_its_opening_day():
    plan = schedules.load()
    assert list(plan.windows) == EVERY
    assert plan.early(CARRIES) == []
    for nb in EVERY:
        assert kit.first_day(nb, plan) == plan[nb].opens
    assert [nb for nb in EVERY if CARRIES[nb]], "no notebook carries solutions: the gate is untested"


@pytest.mark.parametrize("change, message", [
    (lambda t: t + "\n[07_transformers]\nopens = 2030-05-01\ndue = 2030-05-07\n",
     "unknown notebook '07_transformers'"),
    (lambda t: t.replace("opens = 2030-03-04", 'opens = "next monday"', 1),
     "01_vanilla_rnn.opens = 'next monday' is not a date"),
    (lambda t: t.replace("opens = 2030-03-04", "opens = 2030-03-40", 1), "is not valid TOML"),
    (lambda t: t.replace("due = 2030-03-10", "due = 2030-03-01", 1),
     "01_vanilla_rnn is due on 2030-03-01, before it opens on 2030-03-04"),
    (lambda t: t.split("[02_bptt]")[0], "no dates for 02_bptt"),
    (lambda t: t.replace("due = 2030-03-10", "dues = 2030-03-10", 1), "01_vanilla_rnn: unknown key 'dues'"),
    (lambda t: t.replace("due = 2030-03-10", "due = 2030-03-10T17:00:00", 1), "has a time of day"),
])
def test_a_wrong_schedule_is_refused_with_what_is_wrong(tmp_path, change, message):
    with pytest.raises(schedules.ScheduleError) as err:
        schedules.load(_write(tmp_path, change(_weekly())))
    assert message in str(err.value)


def test_iso_strings_are_dates_too_and_a_missing_file_is_named(tmp_path):
    text = _weekly().replace("opens = 2030-03-04", 'opens = "2030-03-04"', 1)
    assert schedules.load(_write(tmp_path, text))[EVERY[0]].opens == dt.date(2030, 3, 4)
    with pytest.raises(schedules.ScheduleError, match="no release schedule at"):
        schedules.load(tmp_path / "absent.toml")


def test_a_schedule_that_opens_a_notebook_before_what_it_carries_is_due_is_flagged(plan):
    early = plan.early(CARRIES)
    assert any(line.startswith("02_bptt opens on") and "01_vanilla_rnn" in line for line in early)


def test_release_says_when_each_notebook_may_go_out_and_warns_of_a_broken_schedule(tmp_path):
    plan = schedules.load()
    notes = kit.release_notes(EVERY)
    assert not any(note.startswith("warning") for note in notes)
    assert all(f"{nb} from {kit.first_day(nb, plan)}" in notes[-1] for nb in EVERY)
    (tmp_path / "schedule.toml").write_text("[01_vanilla_rnn]\nopens = 2030-03-04\n")
    broken = kit.release_notes(EVERY, CourseLayout(tmp_path))
    assert len(broken) == 1 and broken[0].startswith("warning") and "01_vanilla_rnn: no due date" in broken[0]


# ------------------------------------------------------------------ the gate
def test_a_notebook_is_refused_until_the_notebook_whose_solutions_it_carries_is_past_due(tmp_path, plan):
    due = plan["01_vanilla_rnn"].due
    assert "01_vanilla_rnn" in CARRIES["02_bptt"] and plan["02_bptt"].is_open(due)
    out = tmp_path / "kit"
    with pytest.raises(kit.KitRefused) as err:
        kit.build(out, ["02_bptt"], today=due, plan=plan)
    assert f"02_bptt carries the solutions of 01_vanilla_rnn in its provided cells, and " \
           f"01_vanilla_rnn is due on {due}" in str(err.value)
    assert "not open" not in str(err.value)
    assert not out.exists()  # refused before anything was written
    built = kit.build(out, ["02_bptt"], today=due + DAY, plan=plan)
    assert built.notebooks == ["02_bptt"] and (out / "02_bptt" / "02_bptt.ipynb").is_file()


def test_a_notebook_not_yet_open_is_refused_and_the_default_is_what_is_open(tmp_path, plan):
    opens = plan["03_lstm"].opens
    with pytest.raises(kit.KitRefused, match=f"03_lstm is not open yet: it opens on {opens}"):
        kit.build(tmp_path / "early", ["03_lstm"], today=opens - DAY, plan=plan)
    assert not (tmp_path / "early").exists()
    with pytest.raises(kit.KitRefused, match="no notebook is open"):
        kit.build(tmp_path / "early", today=plan["01_vanilla_rnn"].opens - DAY, plan=plan)
    built = kit.build(tmp_path / "week1", today=plan["01_vanilla_rnn"].opens, plan=plan)
    assert built.notebooks == ["01_vanilla_rnn"]


def test_force_hands_out_with_a_loud_warning(tmp_path, plan, caplog):
    today = plan["01_vanilla_rnn"].due
    built = kit.build(tmp_path / "kit", ["02_bptt"], today=today, plan=plan, force=True)
    assert built.forced and (tmp_path / "kit" / "02_bptt" / "02_bptt.ipynb").is_file()
    assert any(r.levelname == "WARNING" and "--force" in r.message and "01_vanilla_rnn" in r.message
               for r in caplog.records)


def test_the_command_refuses_with_a_message_and_writes_nothing(tmp_path, capsys):
    plan = schedules.load()
    today = plan["02_bptt"].opens - DAY
    code = main(["student-kit", "--out", str(tmp_path / "kit"), "02_bptt", "--today", str(today)])
    assert code == 1 and not (tmp_path / "kit").exists()
    assert "02_bptt is not open yet" in capsys.readouterr().err
    assert main(["student-kit", "--out", str(tmp_path / "kit"), "--today", str(plan["02_bptt"].opens),
                 "--zip"]) == 0
    assert sorted(p.name for p in (tmp_path / "kit").iterdir()) == \
        ["01_vanilla_rnn", "02_bptt", "README.md", "rnncourse"]
    assert (tmp_path / "kit.zip").is_file()
    code = main(["student-kit", "--out", str(tmp_path / "kit"), "--today", str(plan["02_bptt"].opens)])
    assert code == 1 and "not an empty folder" in capsys.readouterr().err  # nothing overwritten


# ------------------------------------------------------------------ nothing leaks
@pytest.fixture(scope="module")
def full_kit(tmp_path_factory):
    """Every notebook, on a day when every one is open and everything carried is past due."""
    out = tmp_path_factory.mktemp("kits") / "rnn-kit"
    plan = schedules.load()
    built = kit.build(out, EVERY, today=plan[EVERY[-1]].due + DAY, plan=plan, archive=True)
    return built


def _files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file())


def _kit_notebooks(folder: Path) -> dict[str, dict]:
    return {p.parent.name: json.loads(p.read_text()) for p in folder.glob("*/*.ipynb")}


def test_the_kit_holds_the_released_notebooks_the_package_and_a_readme(full_kit):
    folder = full_kit.folder
    for nb in EVERY:  # the released copies, byte for byte, never the solutions
        assert (folder / nb / f"{nb}.ipynb").read_bytes() == REPO.release_notebook(nb).read_bytes()
    assert (folder / "rnncourse" / "pyproject.toml").is_file()
    assert "pip install torch==2.13.0 ./rnncourse" in (folder / "README.md").read_text()
    with zipfile.ZipFile(full_kit.archive) as archive:
        zipped = {n for n in archive.namelist() if not n.endswith("/")}
    assert zipped == {f"{folder.name}/{p.relative_to(folder).as_posix()}" for p in _files(folder)}


def test_no_file_of_the_kit_comes_from_solutions_or_the_grader(full_kit):
    folder = full_kit.folder
    secret = {hashlib.sha256(p.read_bytes()).hexdigest(): p
              for top in ("solutions", "autograder") for p in _files(ROOT / top)
              if p.stat().st_size > 64 and "__pycache__" not in p.parts}
    for path in _files(folder):
        parts = set(path.relative_to(folder).parts)
        assert not parts & {"solutions", "autograder", "_grading", "__pycache__"}, path
        assert hashlib.sha256(path.read_bytes()).hexdigest() not in secret, path
    assert not (folder / "rnncourse" / "_grading").exists()
    assert "_grading" not in (folder / "rnncourse" / "pyproject.toml").read_text()


def test_no_code_in_the_kit_imports_the_grader(full_kit):
    sources = {p: p.read_text() for p in full_kit.folder.rglob("*.py")}
    for nb, notebook in _kit_notebooks(full_kit.folder).items():
        for n, cell in enumerate(notebook["cells"]):
            if cell["cell_type"] == "code":
                sources[f"{nb} cell {n}"] = "".join(cell["source"])
    assert len(sources) > 50
    for where, source in sources.items():
        clean = "\n".join(ln for ln in source.splitlines() if not ln.lstrip().startswith(("%", "!")))
        for node in ast.walk(ast.parse(clean)):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                [node.module or ""] if isinstance(node, ast.ImportFrom) else []
            assert not any(name.split(".")[0] in ("autograder", "nbgrader") for name in names), where
        assert "_grading" not in source, where


def test_no_solution_and_no_hidden_test_is_in_the_kit(full_kit):
    folder = full_kit.folder
    texts = {}
    for path in _files(folder):
        try:
            texts[path] = path.read_text()
        except UnicodeDecodeError:
            assert path.suffix == ".npz", path  # only arrays are binary
    for path, text in texts.items():
        for marker in kit.MARKERS:
            assert marker not in text, (path, marker)
    for nb, notebook in _kit_notebooks(folder).items():
        # each provided cell is exactly the course's cell from a notebook past due ...
        for cell in notebook["cells"]:
            if "provided_from" in cell["metadata"].get("rnncourse", {}):
                spec = cell["metadata"]["rnncourse"]
                assert "".join(cell["source"]) == provided.provided_source(spec), nb
        # ... and nothing else holds a line of the notebook's own solutions
        rest = {**notebook, "cells": [c for c in notebook["cells"]
                                      if "provided_from" not in c["metadata"].get("rnncourse", {})]}
        source = json.loads(REPO.solution_notebook(nb).read_text())
        assert release.leaked_solution_lines(source, rest) == [], nb
    assert kit.audit(folder, {s for nb in EVERY for s in CARRIES[nb]}) == []


def test_the_audit_sees_what_must_not_go_out(full_kit, tmp_path):
    """The audit can fail: every kind of leak planted in a copy of the kit is reported."""
    import shutil

    copy = tmp_path / "kit"
    shutil.copytree(full_kit.folder, copy)
    allowed = {s for nb in EVERY for s in CARRIES[nb]}
    assert kit.audit(copy, allowed) == []
    # provided cells of a notebook not past due: 03 carries 02's backward
    assert any("03_lstm" in p and "02_bptt/rnn_backward" in p for p in kit.audit(copy, allowed - {"02_bptt"}))
    solution = json.loads(REPO.solution_notebook("03_lstm").read_text())
    cell = next(c for c in solution["cells"] if c["metadata"].get("nbgrader", {}).get("grade_id") == "lstm_step_forward")
    (copy / "rnncourse" / "helpers.py").write_text(provided.solution_sources("03_lstm")["lstm_step_forward"])
    (copy / "notes.md").write_text("".join(cell["source"]))
    shutil.copy(ROOT / "autograder" / "checks" / "registry.py", copy / "rnncourse" / "registry.py")
    notebook = json.loads((copy / "01_vanilla_rnn" / "01_vanilla_rnn.ipynb").read_text())
    first_code = next(n for n, c in enumerate(notebook["cells"]) if c["cell_type"] == "code")
    notebook["cells"][first_code]["source"] = ["import numpy as np\n", "from autograder.checks import grade\n"]
    (copy / "01_vanilla_rnn" / "01_vanilla_rnn.ipynb").write_text(json.dumps(notebook))
    problems = "\n".join(kit.audit(copy, allowed))
    assert "rnncourse/helpers.py: solution text of 03_lstm/lstm_step_forward" in problems
    assert "notes.md: the marker 'BEGIN SOLUTION'" in problems
    assert "rnncourse/registry.py: a copy of a file from solutions/ or autograder/" in problems
    assert f"01_vanilla_rnn/01_vanilla_rnn.ipynb cell {first_code}: imports autograder" in problems


# ------------------------------------------------------------------ it installs on its own
@pytest.mark.slow
def test_the_kit_package_installs_and_imports_without_network_or_grader(full_kit, tmp_path):
    """A fresh virtual environment that sees this one's third-party packages (NumPy, PyTorch,
    Matplotlib: a student's pip would fetch them) but neither the grader nor the course's own
    rnncourse: the kit's package installs offline and every import of every kit notebook works."""
    venv = tmp_path / "venv"
    subprocess.run([sys._base_executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    purelib = subprocess.run([python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
                             capture_output=True, text=True, check=True).stdout.strip()
    ours = next(p for p in sys.path if p.endswith("site-packages") and Path(p).is_dir())
    Path(purelib, "third_party.pth").write_text(ours + "\n")  # a path only: its .pth files stay off
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install", "--quiet",
                    "--no-index", "--no-deps", "--no-build-isolation", "--ignore-installed",
                    str(full_kit.folder / "rnncourse")], check=True, env=env, cwd=tmp_path)
    imports = sorted({ln.strip() for nb in _kit_notebooks(full_kit.folder).values()
                      for c in nb["cells"] if c["cell_type"] == "code"
                      for ln in "".join(c["source"]).splitlines()
                      if ln.startswith(("import ", "from ")) and not ln.rstrip().endswith(("(", "\\"))})
    script = "\n".join([
        "import importlib.util, pkgutil, sys, rnncourse",
        "assert importlib.util.find_spec('autograder') is None, 'the grader is importable'",
        "assert importlib.util.find_spec('rnncourse._grading') is None",
        f"assert rnncourse.__file__.startswith({purelib!r}), rnncourse.__file__",
        "for m in pkgutil.walk_packages(rnncourse.__path__, 'rnncourse.'):",
        "    importlib.import_module(m.name)",
        "from rnncourse.visible import load_fixture",
        f"for nb in {EVERY!r}:",
        "    assert load_fixture(nb), nb",
        *imports,
        "print('ok')",
    ])
    done = subprocess.run([python, "-I", "-c", script], capture_output=True, text=True, env=env,
                          cwd=tmp_path, timeout=600)
    assert done.returncode == 0 and done.stdout.strip().endswith("ok"), done.stderr[-3000:]
