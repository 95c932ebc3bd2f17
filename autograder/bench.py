"""Benchmark: plain ``nbgrader autograde`` against this course's grading, on one sample class.

Both graders get identical copies of a class of ``students`` submissions (the demo's sample
class repeated: perfect, blank, partial, float32, a subtle bug, code that raises, ...), in two
course folders, one after the other in the same run on the same machine:

- plain: ``nbgrader autograde`` (hidden tests in the student's kernel, one notebook at a
  time), then ``generate_feedback`` and ``export``;
- sandboxed: ``python -m autograder grade`` (sandboxed kernels, hidden checks outside them,
  parallel workers), which also writes feedback, grades.csv and the integrity report.

With ``--repeats N`` the two take turns N times. It prints the median wall-clock time of each,
the median time per notebook, the ratio of the medians, and whether the two gradebooks agree.
This is a measurement to read, not a test: nothing is asserted.
"""
from __future__ import annotations

import json
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path

from .batch import Options
from .course import Course
from .demo import SAMPLE_CLASSES, make_submission
from .grade import grade_assignments
from .jobs import STATE
from .reference import COURSE_ROOT, solution_notebook
from .sandbox import isolation

LOG_FORMAT = "--Application.log_format=%(relativeCreated)d %(message)s"


def sample_class(course: Course, assignment: str, students: int) -> dict[str, dict]:
    """``students`` submissions made by cycling through the assignment's sample class."""
    name = f"{assignment}.ipynb"
    release = json.loads((course.root / "assignments" / assignment / name).read_text())
    source = json.loads(solution_notebook(assignment, COURSE_ROOT).read_text())
    kinds = list(SAMPLE_CLASSES[assignment].items())
    files = {}
    for number in range(students):
        kind, changes = kinds[number % len(kinds)]
        notebook = make_submission(release, source, changes)
        files[f"s{number + 1:03d}-{kind}"] = {name: json.dumps(notebook, indent=1)}
    return files


def _per_notebook(log: str, end_ms: float) -> list[float]:
    """Seconds per student from nbgrader's log: the gaps between "Sanitizing" lines."""
    starts = [int(m.group(1)) for m in re.finditer(r"^(\d+) Sanitizing ", log, re.M)]
    ends = starts[1:] + [end_ms]
    return [(b - a) / 1000 for a, b in zip(starts, ends)]


def run_bench(work: Path, assignment: str = "01_vanilla_rnn", students: int = 50,
              workers: int = Options().workers, repeats: int = 1, log=print) -> dict:
    """Grade one class both ways ``repeats`` times under ``work`` (which must be empty), the
    two graders taking turns, and print the medians."""
    work = Path(work)
    if work.exists() and any(work.iterdir()):
        raise FileExistsError(f"{work} is not empty; choose a new folder for the benchmark")
    # warm the disk cache for both: the first kernel of a run otherwise pays for it
    subprocess.run([sys.executable, "-c", "import numpy, matplotlib.pyplot, IPython, ipykernel"], check=True)
    runs = [_one_run(work / f"run{n + 1}" if repeats > 1 else work, assignment, students, workers, log)
            for n in range(repeats)]
    median = {key: round(statistics.median(run[key] for run in runs), 2) for key in runs[0]
              if key.endswith("_s")}
    numbers = {"students": students, "workers": workers, "sandbox": isolation().mode,
               "repeats": repeats, **median,
               "ratio_total": round(median["plain_total_s"] / median["sandboxed_total_s"], 2),
               "ratio_autograde_only": round(median["plain_autograde_s"] / median["sandboxed_total_s"], 2),
               "gradebooks_agree": all(run["gradebooks_agree"] for run in runs),
               "runs": runs}
    (work / "bench.json").write_text(json.dumps(numbers, indent=1))
    log(_table(numbers))
    return numbers


def _one_run(work: Path, assignment: str, students: int, workers: int, log) -> dict:
    """Both graders on fresh copies of the class; the wall times and per-notebook medians."""
    plain, ours = (Course.create(work / name, [assignment]) for name in ("plain", "sandboxed"))
    for course in (plain, ours):
        course.release(assignment)
    for student, files in sample_class(plain, assignment, students).items():
        plain.submit(student, assignment, files)
        ours.submit(student, assignment, files)
    log(f"grading {students} submissions of {assignment} with plain nbgrader ...")
    started = time.perf_counter()
    output = plain.nbgrader("autograde", assignment, "--force", LOG_FORMAT)
    plain_autograde = time.perf_counter() - started
    plain_notebooks = _per_notebook(output, _last_ms(output))
    plain.nbgrader("generate_feedback", assignment, "--force")
    plain.export_csv(work / "plain-grades.csv")
    plain_total = time.perf_counter() - started
    log(f"grading the same class with this course's grader ({workers} workers, sandbox: "
        f"{isolation().mode}) ...")
    started = time.perf_counter()
    results = grade_assignments(ours, [assignment], work / "sandboxed-grades.csv",
                                Options(workers=workers, progress=False), log=lambda line: None)
    ours_total = time.perf_counter() - started
    ours_notebooks = [r["seconds"] for r in _stored(ours, assignment)]
    run = {"plain_autograde_s": round(plain_autograde, 1), "plain_total_s": round(plain_total, 1),
           "plain_median_notebook_s": round(statistics.median(plain_notebooks), 2),
           "sandboxed_total_s": round(ours_total, 1),
           "sandboxed_median_notebook_s": round(statistics.median(ours_notebooks), 2),
           "gradebooks_agree": plain.scores(assignment) == results[assignment].scores}
    log(f"  plain {plain_total:.1f} s, this course {ours_total:.1f} s")
    return run


def _last_ms(log: str) -> float:
    times = [int(m.group(1)) for m in re.finditer(r"^(\d+) ", log, re.M)]
    return float(times[-1]) if times else 0.0


def _stored(course: Course, assignment: str) -> list[dict]:
    folder = course.root / STATE / "results" / assignment
    return [r for path in sorted(folder.glob("*.json")) if path.name != "recorded.json"
            for r in json.loads(path.read_text())["results"]]


def _table(n: dict) -> str:
    return "\n".join([
        f"{n['students']} submissions, {n['workers']} workers, sandbox {n['sandbox']}, "
        f"median of {n['repeats']} run{'s' * (n['repeats'] > 1)}",
        f"{'':38}{'wall (s)':>10}{'median per notebook (s)':>26}",
        f"{'plain nbgrader: autograde':38}{n['plain_autograde_s']:>10.1f}{n['plain_median_notebook_s']:>26.2f}",
        f"{'plain nbgrader: + feedback + export':38}{n['plain_total_s']:>10.1f}",
        f"{'this course: grade (all of it)':38}{n['sandboxed_total_s']:>10.1f}"
        f"{n['sandboxed_median_notebook_s']:>26.2f}",
        f"ratio (plain total / this course): {n['ratio_total']:.2f}x; "
        f"plain autograde alone / this course: {n['ratio_autograde_only']:.2f}x",
        f"the two gradebooks agree: {'yes' if n['gradebooks_agree'] else 'NO'}",
    ])
