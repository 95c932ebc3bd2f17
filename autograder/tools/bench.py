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
import logging
import re
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

from autograder.batch.course import Course
from autograder.batch.grade import grade_assignments
from autograder.batch.pool import Options
from autograder.checks import registry
from autograder.errors import CourseError
from autograder.notebook.sandbox import isolation
from autograder.tools.demo import submit_sample_class

log = logging.getLogger(__name__)
LOG_FORMAT = "--Application.log_format=%(relativeCreated)d %(message)s"


def _per_notebook(output: str, end_ms: float) -> list[float]:
    """Seconds per student from nbgrader's log: the gaps between "Sanitizing" lines."""
    starts = [int(m.group(1)) for m in re.finditer(r"^(\d+) Sanitizing ", output, re.M)]
    ends = starts[1:] + [end_ms]
    return [(b - a) / 1000 for a, b in zip(starts, ends)]


def run_bench(work: Path, assignment: str, students: int = 50,
              workers: int = Options().workers, repeats: int = 1) -> dict:
    """Grade one class both ways ``repeats`` times under ``work`` (which must be empty), the
    two graders taking turns, and print the medians."""
    work = Path(work)
    if work.exists() and any(work.iterdir()):
        raise CourseError(f"{work} is not empty; choose a new folder for the benchmark")
    # warm the disk cache for both: the first kernel of a run otherwise pays for it
    subprocess.run([sys.executable, "-c", "import numpy, matplotlib.pyplot, IPython, ipykernel"], check=True)
    runs = [_one_run(work / f"run{n + 1}" if repeats > 1 else work, assignment, students, workers)
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
    log.info(_table(numbers))
    return numbers


def _one_run(work: Path, assignment: str, students: int, workers: int) -> dict:
    """Both graders on fresh copies of the class; the wall times and per-notebook medians."""
    plain, ours = (Course.create(work / name, [assignment]) for name in ("plain", "sandboxed"))
    for course in (plain, ours):
        course.release(assignment)
    copies = -(-students // len(registry.get(assignment).samples))  # then cut to ``students``
    for course in (plain, ours):
        for extra in submit_sample_class(course, assignment, copies)[students:]:
            shutil.rmtree(course.layout.submitted(extra, assignment).parent)
    log.info(f"grading {students} submissions of {assignment} with plain nbgrader ...")
    started = time.perf_counter()
    output = plain.nbgrader("autograde", assignment, "--force", LOG_FORMAT)
    plain_autograde = time.perf_counter() - started
    plain_notebooks = _per_notebook(output, _last_ms(output))
    plain.nbgrader("generate_feedback", assignment, "--force")
    plain.nbgrader("export", "--to", str((work / "plain-grades.csv").resolve()))  # nbgrader's own CSV
    plain_total = time.perf_counter() - started
    log.info(f"grading the same class with this course's grader ({workers} workers, sandbox: "
        f"{isolation().mode}) ...")
    started = time.perf_counter()
    results = grade_assignments(ours, [assignment], work / "sandboxed-grades.csv",
                                Options(workers=workers, progress=False))
    ours_total = time.perf_counter() - started
    ours_notebooks = [r["seconds"] for r in _stored(ours, assignment)]
    run = {"plain_autograde_s": round(plain_autograde, 1), "plain_total_s": round(plain_total, 1),
           "plain_median_notebook_s": round(statistics.median(plain_notebooks), 2),
           "sandboxed_total_s": round(ours_total, 1),
           "sandboxed_median_notebook_s": round(statistics.median(ours_notebooks), 2),
           "gradebooks_agree": plain.scores(assignment) == results[assignment].scores}
    log.info(f"  plain {plain_total:.1f} s, this course {ours_total:.1f} s")
    return run


def _last_ms(output: str) -> float:
    times = [int(m.group(1)) for m in re.finditer(r"^(\d+) ", output, re.M)]
    return float(times[-1]) if times else 0.0


def _stored(course: Course, assignment: str) -> list[dict]:
    folder = course.layout.results(assignment)
    return [r for path in sorted(folder.glob("*.json")) for r in json.loads(path.read_text())["results"]]


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
