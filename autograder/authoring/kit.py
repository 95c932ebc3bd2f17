"""The student kit: what students receive, and only when the release schedule allows it.

``python -m autograder student-kit --out DIR [ASSIGNMENT ...]`` writes::

    DIR/README.md                         how to install and open the kit
    DIR/rnncourse/                        the student package, installable with pip
    DIR/NN_topic/NN_topic.ipynb           each released notebook (from assignments/)
    DIR.zip                               the same folder, zipped (with --zip)

The notebooks are the released copies in ``assignments/`` (never ``solutions/``); the package
is ``rnncourse/`` without ``rnncourse/_grading/``, the in-kernel half of the hidden checks:
a released grade cell holds only a comment, no cell of a released notebook imports it, and
grading runs in the grader's own environment, so students have no use for it.

**The schedule decides what may go out** (``schedule.py``): a notebook not yet open is
refused, and so is a notebook whose provided cells hold an earlier notebook's solutions until
that notebook's due date has passed. The refusal comes before anything is written and names
the notebook, the notebook whose solutions it carries and that one's due date; ``--force``
overrides it with a loud warning. After writing, :func:`audit` reads back every file of the kit
and refuses it (removing it) if it holds anything a student must not see.

**Why** ``make release`` **is not restricted.** ``assignments/`` is the instructor's copy: the
release validation, the tests and the demo need every notebook in it, and it never reaches a
student by itself. What reaches students is the kit, or nbgrader's exchange
(``nbgrader release_assignment``), which hands out the same ``assignments/`` folder: release a
notebook to the exchange only on or after the day ``student-kit`` accepts it, which is why
``make release`` prints, for each notebook, the first day it may go out.
"""
from __future__ import annotations

import ast
import datetime as dt
import hashlib
import json
import logging
import re
import shutil
import tempfile
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from autograder.authoring import provided
from autograder.authoring import schedule as schedules
from autograder.authoring.release import SOLUTION_REGION
from autograder.cells import course_meta, is_provided, is_solution, text_of
from autograder.errors import CourseError
from autograder.layout import REPO, CourseLayout

log = logging.getLogger("autograder")

PACKAGE = "rnncourse"
PRIVATE = f"{PACKAGE}._grading"  # the in-kernel half of the hidden checks: graders only
NEVER = {"solutions", "autograder", "_grading", "__pycache__", "build", "dist"}  # path parts
MARKERS = ("BEGIN SOLUTION", "END SOLUTION", "BEGIN HIDDEN TESTS", "END HIDDEN TESTS",
           "BEGIN MARK SCHEME", "END MARK SCHEME")
MIN_LINE = 16  # shorter solution lines (``return h, cache``, ``else:``) are too common to count
IMPORTS_GRADER = re.compile(r"^\s*(?:from\s+autograder[\s.]|import\s+autograder\b)"
                            r"|import_module\(\s*['\"]autograder", re.M)


class KitRefused(CourseError):
    """The schedule does not allow a requested notebook to go out yet; nothing was written."""


class KitLeak(CourseError):
    """The written kit held something students must not see; it was removed."""


@dataclass
class Kit:
    """What :func:`build` wrote."""

    folder: Path
    notebooks: list[str]
    archive: Path | None = None
    forced: list[str] = field(default_factory=list)


# ------------------------------------------------------------------ what may go out, and when
def carries(notebook_id: str, repo: CourseLayout = REPO) -> list[str]:
    """The earlier notebooks whose solutions the released ``notebook_id`` holds."""
    return provided.provided_from(_read(repo.release_notebook(notebook_id)))


def refusals(notebooks: Iterable[str], plan: schedules.Schedule, today: dt.date,
             repo: CourseLayout = REPO) -> list[str]:
    """Why each of ``notebooks`` may not go out on ``today`` (empty: all may)."""
    reasons = []
    for nb in notebooks:
        if not plan[nb].is_open(today):
            reasons.append(f"{nb} is not open yet: it opens on {plan[nb].opens} (today is {today})")
        for source in carries(nb, repo):
            if not plan[source].is_past_due(today):
                reasons.append(
                    f"{nb} carries the solutions of {source} in its provided cells, and {source} "
                    f"is due on {plan[source].due}: {nb} may go out from "
                    f"{plan[source].due + dt.timedelta(days=1)} (today is {today})")
    return reasons


def first_day(notebook_id: str, plan: schedules.Schedule, repo: CourseLayout = REPO) -> dt.date:
    """The first day ``notebook_id`` may go out: it is open and what it carries is past due."""
    days = [plan[notebook_id].opens] + [plan[s].due + dt.timedelta(days=1) for s in carries(notebook_id, repo)]
    return max(days)


def release_notes(notebooks: Iterable[str], repo: CourseLayout = REPO) -> list[str]:
    """What ``make release`` says about handing out: each notebook's first day, and any
    notebook the schedule opens before what it carries is past due. A broken schedule is
    reported, not raised: releasing the instructor's copy does not depend on it."""
    try:
        plan = schedules.load(repo.root / "schedule.toml")
    except schedules.ScheduleError as err:
        return [f"warning: {err}\n(student-kit refuses to run until it is fixed)"]
    notes = [f"warning: {line}" for line in plan.early({nb: carries(nb, repo) for nb in plan.windows})]
    days = ", ".join(f"{nb} from {first_day(nb, plan, repo)}" for nb in notebooks)
    return notes + [f"assignments/ is the instructor's copy; by {plan.path.name}, students may have "
                    f"{days} (hand out with `python -m autograder student-kit`, or release to "
                    "nbgrader's exchange on those days only)"]


# ------------------------------------------------------------------ building the kit
def build(out: Path, notebooks: list[str] | None = None, today: dt.date | None = None,
          force: bool = False, archive: bool = False, plan: schedules.Schedule | None = None,
          repo: CourseLayout = REPO) -> Kit:
    """Write the student kit of ``notebooks`` (default: every one open on ``today``) to ``out``.

    Raises:
        KitRefused: a notebook may not go out on ``today`` (and not ``force``); nothing written.
        KitLeak: the kit held something students must not see; nothing is left behind.
        CourseError: ``out`` (or ``out.zip``) is in the way, or no notebook is open.
    """
    today = today or dt.date.today()
    plan = plan or schedules.load(repo.root / "schedule.toml")
    if not notebooks:
        notebooks = plan.open_on(today)
        if not notebooks:
            first = min(plan.windows, key=lambda nb: plan[nb].opens)
            raise KitRefused(f"no notebook is open on {today}: the first, {first}, opens on "
                             f"{plan[first].opens} (name notebooks, or pass --today)")
    missing = [nb for nb in notebooks if not repo.release_notebook(nb).exists()]
    if missing:
        raise CourseError(f"no released notebook for {', '.join(missing)} in {repo.root / 'assignments'}: "
                          "run `make release` first")
    reasons = refusals(notebooks, plan, today, repo)
    if reasons and not force:
        raise KitRefused("not handing out, by the release schedule "
                         f"{plan.path.name}:\n  " + "\n  ".join(reasons)
                         + "\n(--force hands them out anyway)")
    out = Path(out).resolve()
    zip_path = out.with_name(out.name + ".zip")
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise CourseError(f"{out} exists and is not an empty folder: remove it or choose another --out")
    if archive and zip_path.exists():
        raise CourseError(f"{zip_path} exists: remove it or choose another --out")
    for reason in reasons:
        log.warning(f"WARNING: --force: handing out against the release schedule: {reason}")
    allowed = {s for nb in notebooks for s in carries(nb, repo)
               if force or plan[s].is_past_due(today)}

    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=f".{out.name}-", dir=out.parent) as scratch:
        staging = Path(scratch) / out.name
        for nb in notebooks:
            target = staging / nb / repo.release_notebook(nb).name
            target.parent.mkdir(parents=True)
            shutil.copyfile(repo.release_notebook(nb), target)
        copy_package(repo.root / PACKAGE, staging / PACKAGE)
        (staging / "README.md").write_text(readme(notebooks, plan), encoding="utf-8")
        problems = audit(staging, allowed, repo)
        if problems:
            raise KitLeak("the kit was not written; it held what students must not see:\n  "
                          + "\n  ".join(problems))
        if out.exists():
            out.rmdir()
        staging.rename(out)
    kit = Kit(out, list(notebooks), forced=reasons)
    if archive:
        kit.archive = Path(shutil.make_archive(str(out), "zip", root_dir=out.parent, base_dir=out.name))
    return kit


def copy_package(source: Path, target: Path) -> None:
    """Copy the student package without its private grading half or build leftovers."""
    shutil.copytree(source, target, ignore=_unwanted)
    pyproject = target / "pyproject.toml"
    text = pyproject.read_text(encoding="utf-8")
    listed = f'"{PRIVATE}",'
    if listed in text:
        text = text.replace(f" {listed}", "").replace(listed, "")
    packages = tomllib.loads(text).get("tool", {}).get("setuptools", {}).get("packages", [])
    absent = [p for p in packages if not (target / Path(*p.split(".")[1:])).is_dir()]
    if PRIVATE in text or absent:
        raise CourseError(f"{source / 'pyproject.toml'}: the kit cannot leave out {PRIVATE} "
                          f"(list it in [tool.setuptools] packages as {listed!r}); packages "
                          f"the copy lacks: {absent or 'none'}")
    pyproject.write_text(text, encoding="utf-8")


def _unwanted(folder: str, names: list[str]) -> set[str]:
    return {n for n in names if n in NEVER or n.startswith(".") or n.endswith((".egg-info", ".pyc"))}


def readme(notebooks: list[str], plan: schedules.Schedule) -> str:
    """The students' README of a kit holding ``notebooks``."""
    rows = "\n".join(f"| `{nb}/{nb}.ipynb` | {plan[nb].due:%A %d %B %Y} |" for nb in notebooks)
    return README.format(rows=rows)


README = """\
# Recurrent neural networks: your notebooks

This kit holds the course's notebooks that are open now and `rnncourse`, the small package the
notebooks import (data, plots, gradient checking and the checks you run yourself). Later
notebooks come in a later kit, with its own copy of `rnncourse`.

| notebook | due (last day to submit) |
|---|---|
{rows}

## Install (once per kit)

You need Python 3.11 or newer. In this folder:

    python -m venv .venv
    .venv/bin/pip install torch==2.13.0 ./rnncourse
    .venv/bin/jupyter lab

(on Windows: `.venv\\Scripts\\pip` and `.venv\\Scripts\\jupyter`). pip fetches the pinned
versions of PyTorch, NumPy, Matplotlib and JupyterLab; the data and the pre-trained weights the
notebooks use are inside `rnncourse`, so nothing is downloaded while you work. To keep the
environment of an earlier kit instead, update its package from this kit's folder:
`path/to/.venv/bin/pip install --force-reinstall --no-deps ./rnncourse`.

## Work

Open a notebook in JupyterLab and run it from the top. In each exercise, replace
`raise NotImplementedError()` in the solution cell with your code (keep the function's name,
arguments and docstring), then run the check under it: it stops with a message that says what
is wrong and where to look. The cell under the check is empty on your side: when your
notebook is graded, hidden checks call your function on other inputs and give partial credit.
Submit the notebook file itself, under the same name, the way your course asks.

A later notebook may give you, in a locked cell marked "Provided", the course's solution of an
earlier notebook's functions: it goes out only after that notebook is due.
"""


# ------------------------------------------------------------------ proving it clean
def audit(kit: Path, allowed: Iterable[str] = (), repo: CourseLayout = REPO) -> list[str]:
    """Everything in the folder ``kit`` that students must not see (empty: it is clean).

    Checks every file: no path under a ``solutions``/``autograder``/``_grading`` folder, no file
    identical to one in ``solutions/`` or ``autograder/``, no solution or hidden-test marker, no
    import of ``autograder``, and no solution text of any notebook (a third or more of one solution
    cell's lines; see :func:`solution_text`), except in provided cells from the notebooks
    ``allowed`` (those the schedule lets out).
    """
    allowed, problems = set(allowed), []
    secret = _digests(repo.root / "solutions", repo.root / "autograder")
    regions = solution_regions(repo)
    for path in sorted(p for p in Path(kit).rglob("*") if p.is_file()):
        name = path.relative_to(kit).as_posix()
        if NEVER & set(path.relative_to(kit).parts[:-1]) or path.name.endswith(".pyc"):
            problems.append(f"{name}: a file the kit never holds")
        data = path.read_bytes()
        if hashlib.sha256(data).hexdigest() in secret:
            problems.append(f"{name}: a copy of a file from solutions/ or autograder/")
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            continue  # arrays and weights (.npz): no text to hide a solution in
        for where, code, source in _units(name, path, text, allowed):
            problems += [f"{where}: the marker {m!r}" for m in MARKERS if m in source]
            if code and _imports_grader(source):
                problems.append(f"{where}: imports autograder")
            problems += [f"{where}: {hit}" for hit in solution_text(source, regions)]
    return problems


def solution_regions(repo: CourseLayout = REPO) -> dict[str, set[str]]:
    """The distinctive lines of every solution cell of every solution notebook, by
    ``notebook/grade_id``: the lines inside its solution markers (a written answer: all of it)
    that are ``MIN_LINE`` characters or longer, stripped."""
    regions = {}
    for path in sorted((repo.root / "solutions").glob("*/*.ipynb")):
        for cell in _read(path)["cells"]:
            if not is_solution(cell):
                continue
            text = text_of(cell)
            parts = SOLUTION_REGION.findall(text) if cell["cell_type"] == "code" else [text]
            lines = {ln.strip() for part in parts for ln in part.splitlines() if len(ln.strip()) >= MIN_LINE}
            if lines:
                key = f"{path.parent.name}/{cell['metadata']['nbgrader'].get('grade_id', '?')}"
                regions[key] = lines
    return regions


def solution_text(text: str, regions: dict[str, set[str]]) -> list[str]:
    """The solution cells ``text`` reproduces: a third or more of their distinctive lines, and
    at least two (one for a one-line solution). A single shared line (``for t in range(T):``,
    ``rng = np.random.default_rng(seed)``) is the course's common idiom, not a solution."""
    lines = {ln.strip() for ln in text.splitlines()}
    hits = []
    for key, region in regions.items():
        found = len(region & lines)
        if found and found >= max(min(2, len(region)), len(region) / 3):
            hits.append(f"solution text of {key} ({found} of its {len(region)} lines)")
    return hits


def _units(name: str, path: Path, text: str, allowed: set[str]):
    """(where, is code, text) for each part of a file checked on its own: a notebook's cells
    (provided cells from ``allowed`` notebooks skipped), or the whole file."""
    if path.suffix != ".ipynb":
        yield name, path.suffix == ".py", text
        return
    try:
        cells = json.loads(text)["cells"]
    except (ValueError, KeyError, TypeError):
        yield name, True, text
        return
    for number, cell in enumerate(cells):
        if is_provided(cell) and course_meta(cell)["provided_from"] in allowed:
            continue
        yield f"{name} cell {number}", cell.get("cell_type") == "code", text_of(cell)


def _imports_grader(source: str) -> bool:
    """Whether code imports ``autograder`` (by statement, or by ``importlib``)."""
    code = "\n".join(ln for ln in source.splitlines() if not ln.lstrip().startswith(("%", "!")))
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return bool(IMPORTS_GRADER.search(source))
    modules = [a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names]
    modules += [n.module or "" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)]
    return any(m.split(".")[0] == "autograder" for m in modules) or bool(IMPORTS_GRADER.search(source))


def _digests(*folders: Path) -> set[str]:
    """The SHA-256 of every non-trivial file under ``folders`` (tiny files, such as an empty
    ``__init__.py``, say nothing)."""
    return {hashlib.sha256(p.read_bytes()).hexdigest() for folder in folders
            for p in folder.rglob("*") if p.is_file() and p.stat().st_size > 64 and "__pycache__" not in p.parts}


def _read(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))
