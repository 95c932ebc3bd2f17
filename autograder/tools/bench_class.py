"""Class benchmark: how the cost of grading grows with the class and with the workers.

A class of N submissions is spread over every notebook (01 to 06 in turn, each a student of
that notebook's sample class: perfect, blank, partial, a subtle bug, ...). This course's whole
``grade`` (sandboxed; feedback, export and integrity report included) grades it in a fresh copy
of a prepared course folder, so every configuration starts from the same empty gradebook:

- the whole class: ``--class-students`` students x every notebook, with ``--class-workers``;
- time against class size: each of ``--sizes`` submissions, with ``--class-workers``;
- time against workers: ``--workers-size`` submissions with each of ``--workers``.

Besides the wall time it shows the command's own CPU per submission (this process: recording
with nbgrader, feedback, export, report; not its workers), the part a cluster cannot share.

With ``--repeats R`` each configuration is graded R times and the medians are shown. Preparing
the courses (releasing with nbgrader, submitting) is not timed. This is a measurement to read,
not a test: nothing is asserted. ``--quick`` runs the smallest useful version (a check that the
command works, not a figure to quote).
"""
from __future__ import annotations

import json
import logging
import resource
import shutil
import statistics
import time
from dataclasses import dataclass
from pathlib import Path

from autograder.batch.course import Course
from autograder.batch.grade import grade_assignments
from autograder.batch.pool import Options
from autograder.checks import registry
from autograder.errors import CourseError
from autograder.notebook.sandbox import isolation
from autograder.tools.demo import submit_sample_class

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Plan:
    """What to grade: the whole class, the sizes, the workers, how often."""

    class_students: int = 100  # x every notebook; 0 skips the whole-class run
    class_workers: int = Options().workers
    sizes: tuple[int, ...] = (10, 50, 200)
    workers: tuple[int, ...] = (1, 2, 4)
    workers_size: int = 50
    repeats: int = 1
    assignments: tuple[str, ...] = tuple(registry.declared())


QUICK = Plan(class_students=1, class_workers=2, sizes=(3, 6), workers=(1, 2), workers_size=3)


def run_class_bench(work: Path, plan: Plan = Plan()) -> dict:
    """Grade every configuration of ``plan`` under ``work`` (which must be empty); print and
    return the table (also written to ``work/bench-class.json``)."""
    work = Path(work)
    if work.exists() and any(work.iterdir()):
        raise CourseError(f"{work} is not empty; choose a new folder for the benchmark")
    work.mkdir(parents=True, exist_ok=True)
    template = _released(work / "released", plan.assignments)
    rows = []
    if plan.class_students:
        count = plan.class_students * len(plan.assignments)
        rows.append(_measure(work, template, "whole class", count, plan.class_workers, plan,
                             per_notebook=plan.class_students))
    rows += [_measure(work, template, "class size", n, plan.class_workers, plan) for n in plan.sizes]
    rows += [_measure(work, template, "workers", plan.workers_size, w, plan) for w in plan.workers]
    numbers = {"sandbox": isolation().mode, "repeats": plan.repeats,
               "assignments": list(plan.assignments), "rows": rows}
    (work / "bench-class.json").write_text(json.dumps(numbers, indent=1))
    log.info(_table(numbers))
    return numbers


def _released(folder: Path, assignments: tuple[str, ...]) -> Path:
    """A course folder with every assignment released and no submission (copied per run)."""
    course = Course.create(folder, list(assignments))
    for assignment in assignments:
        course.release(assignment)
    return folder


def spread(count: int, assignments: tuple[str, ...], per_notebook: int | None = None) -> dict[str, int]:
    """Submissions per assignment: ``per_notebook`` each, or ``count`` dealt out in turn."""
    if per_notebook:
        return dict.fromkeys(assignments, per_notebook)
    share, rest = divmod(count, len(assignments))
    return {a: share + (i < rest) for i, a in enumerate(assignments) if share + (i < rest)}


def _submit(course: Course, assignments: tuple[str, ...], count: int,
            per_notebook: int | None = None) -> list[str]:
    """Submit the sample classes as :func:`spread` says; returns the assignments submitted."""
    submitted = []
    for assignment, wanted in spread(count, assignments, per_notebook).items():
        copies = -(-wanted // len(registry.get(assignment).samples))  # then cut to ``wanted``
        for extra in submit_sample_class(course, assignment, copies)[wanted:]:
            shutil.rmtree(course.layout.submitted(extra, assignment).parent)
        submitted.append(assignment)
    return submitted


def _measure(work: Path, template: Path, kind: str, count: int, workers: int, plan: Plan,
             per_notebook: int | None = None) -> dict:
    """Grade ``count`` submissions with ``workers``, ``plan.repeats`` times; the medians."""
    walls, notebooks, command_cpu = [], [], []
    for repeat in range(plan.repeats):
        root = work / f"{kind.replace(' ', '-')}-{count}-w{workers}-r{repeat + 1}"
        shutil.copytree(template, root)
        course = Course(root)
        graded = _submit(course, plan.assignments, count, per_notebook)
        log.info(f"{kind}: {count} submissions, {workers} workers (run {repeat + 1} of {plan.repeats}) ...")
        started, cpu = time.perf_counter(), _own_cpu()
        results = grade_assignments(course, graded, root / "grades.csv",
                                    Options(workers=workers, progress=False))
        walls.append(time.perf_counter() - started)
        command_cpu.append(_own_cpu() - cpu)
        notebooks += [seconds for a in graded for seconds in _seconds(course, a)]
        errors = sum(s == "error" for r in results.values() for s in r.statuses.values())
        if errors:
            log.warning(f"  {errors} submissions had a grader error: the time is not a fair figure")
    wall = statistics.median(walls)
    return {"kind": kind, "submissions": count, "workers": workers, "wall_s": round(wall, 1),
            "per_submission_s": round(wall / count, 2),
            "median_notebook_s": round(statistics.median(notebooks), 2) if notebooks else None,
            "command_cpu_per_submission_s": round(statistics.median(command_cpu) / count, 2),
            "walls_s": [round(w, 1) for w in walls]}


def _own_cpu() -> float:
    """CPU seconds of this process so far, every thread (its workers are other processes)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _seconds(course: Course, assignment: str) -> list[float]:
    folder = course.layout.results(assignment)
    return [r["seconds"] for path in sorted(folder.glob("*.json"))
            for r in json.loads(path.read_text())["results"]]


def _table(numbers: dict) -> str:
    lines = [f"this course's grade (sandbox {numbers['sandbox']}; feedback, export and report "
             f"included), median of {numbers['repeats']} run{'s' * (numbers['repeats'] > 1)}",
             f"{'':14}{'submissions':>12}{'workers':>9}{'wall (s)':>10}{'s/submission':>14}"
             f"{'median notebook (s)':>21}{'command CPU/submission (s)':>28}"]
    for row in numbers["rows"]:
        median = "" if row["median_notebook_s"] is None else f"{row['median_notebook_s']:.2f}"
        lines.append(f"{row['kind']:14}{row['submissions']:>12}{row['workers']:>9}{row['wall_s']:>10.1f}"
                     f"{row['per_submission_s']:>14.2f}{median:>21}"
                     f"{row['command_cpu_per_submission_s']:>28.2f}")
    return "\n".join(lines)
