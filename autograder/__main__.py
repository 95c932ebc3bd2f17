"""Commands for instructors and TAs: ``python -m autograder <command> --help``.

    release [ASSIGNMENT ...]       regenerate assignments/ from solutions/, after validation
    fixtures [ASSIGNMENT ...]      recompute the expected outputs of the visible checks
    grade COURSE [ASSIGNMENT ...]  grade a class collected in an nbgrader course folder
                                   (--scheduler ADDRESS: on a Dask cluster)
    bench [--students N] [--repeats R]  time plain nbgrader against this course's grading
    bench-class [--quick]          time this course's grading against class size and workers
    demo [--work DIR]              the whole loop on the sample classes
    student-kit --out DIR [ASSIGNMENT ...]  what students receive, as the release schedule allows

Options before the command: -v (more detail), -q (warnings and errors only), --debug (a
traceback when the grader itself fails).
"""
from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from autograder.batch.course import Course, tools_on_path
from autograder.batch.pool import Options
from autograder.checks import registry
from autograder.errors import CourseError
from autograder.kinds import Status
from autograder.notebook.sandbox import Limits

log = logging.getLogger("autograder")


def _at_least(low: float, kind=int):
    """An argparse type: a number of ``kind`` no smaller than ``low``, or a clear error."""
    def parse(text: str):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"{text!r} is not a {'whole number' if kind is int else 'number'}") from None
        if value < low:
            raise argparse.ArgumentTypeError(f"{text} is too small: at least {low:g}")
        return value
    return parse


def _assignment(text: str) -> str:
    """An argparse type: a declared notebook id, or a clear error listing them."""
    try:
        return registry.get(text).id
    except registry.UnknownNotebook as err:
        raise argparse.ArgumentTypeError(str(err)) from None


def _release(args) -> None:
    from autograder.authoring.generated import refresh
    from autograder.authoring.kit import release_notes
    from autograder.authoring.release import release

    for assignment in args.assignments:
        if refresh(assignment):
            log.info(f"{assignment}: refreshed the provided and grade cells")
    for validation in release(args.assignments, check=not args.no_validate):
        log.info(f"{validation.assignment}: valid ({validation.seconds:.0f} s): solution earns "
                 "full marks, release earns zero, no solution text")
    log.info(f"wrote assignments/ for {', '.join(args.assignments)}")
    for note in release_notes(args.assignments):
        (log.warning if note.startswith("warning") else log.info)(note)


def _fixtures(args) -> None:
    from autograder.authoring.fixtures import write_fixture

    for assignment in args.assignments:
        log.info(f"wrote {write_fixture(assignment)}")


def _grade(args) -> None:
    from autograder.batch.grade import grade_assignments

    course = Course(Path(args.course).resolve(), db=args.db)
    layout = course.layout
    if not layout.submitted_root.is_dir():
        raise CourseError(f"{course.root} has no submitted/ folder: is it an nbgrader course folder?")
    assignments = args.assignments or [a for a in registry.declared() if layout.submissions(a)]
    if not assignments:
        raise CourseError(f"no submissions of any assignment under {layout.submitted_root}")
    limits = Limits(cell_timeout=args.cell_timeout, notebook_timeout=args.notebook_timeout,
                    call_timeout=args.call_timeout, memory_mb=args.memory)
    options = Options(workers=args.workers, limits=limits, sandbox=args.sandbox,
                      regrade=args.regrade, progress=not args.no_progress,
                      scheduler=args.scheduler, scheduler_file=args.scheduler_file)
    csv = Path(args.csv) if args.csv else course.root / "grades.csv"
    results = grade_assignments(course, assignments, csv_path=csv, options=options)
    for result in results.values():
        print(f"\n{result.assignment}\n{result.table()}\nintegrity report: {result.report}")
    print(f"\ngrades: {csv}; feedback: {course.root / 'feedback'}")
    if any(status == Status.ERROR for r in results.values() for status in r.statuses.values()):
        raise CourseError("some submissions hit a grader error (status 'error'); run the command "
                          "again to retry them, and see the integrity report")


def _bench(args) -> None:
    from autograder.tools.bench import run_bench

    run_bench(Path(args.work).resolve(), args.assignment, args.students, args.workers, args.repeats)


def _bench_class(args) -> None:
    from autograder.tools.bench_class import QUICK, Plan, run_class_bench

    plan = QUICK if args.quick else Plan(
        class_students=args.class_students, class_workers=args.class_workers, sizes=tuple(args.sizes),
        workers=tuple(args.workers), workers_size=args.workers_size, repeats=args.repeats)
    run_class_bench(Path(args.work).resolve(), plan)


def _demo(args) -> None:
    from autograder.tools.demo import run_demo

    work = Path(args.work).resolve()
    if work.exists() and any(work.iterdir()):
        raise CourseError(f"{work} is not empty: remove it or pass another --work folder")
    run_demo(work, args.assignments)


def _date(text: str):
    """An argparse type: a date written YYYY-MM-DD, or a clear error."""
    import datetime as dt

    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date written YYYY-MM-DD") from None


def _student_kit(args) -> None:
    from autograder.authoring.kit import build

    kit = build(Path(args.out), args.assignments, today=args.today, force=args.force, archive=args.zip)
    log.info(f"wrote the student kit {kit.folder}: {', '.join(kit.notebooks)}, the rnncourse "
             f"package and README.md" + (f"; zipped as {kit.archive}" if kit.archive else ""))


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="python -m autograder", description=__doc__,
                                  formatter_class=argparse.RawDescriptionHelpFormatter)
    top.add_argument("-v", "--verbose", action="store_true", help="say more of what is done")
    top.add_argument("-q", "--quiet", action="store_true", help="only warnings and errors")
    top.add_argument("--debug", action="store_true", help="show the traceback of a grader failure")
    commands = top.add_subparsers(dest="command", required=True)
    every = list(registry.declared())
    assignment_args = dict(nargs="*", type=_assignment, metavar="ASSIGNMENT")

    p = commands.add_parser("release", help="regenerate assignments/ from solutions/")
    p.add_argument("assignments", default=every, **assignment_args)
    p.add_argument("--no-validate", action="store_true", help="skip running the notebooks")
    p.set_defaults(run=_release)

    p = commands.add_parser("fixtures", help="recompute the visible checks' expected outputs")
    p.add_argument("assignments", default=every, **assignment_args)
    p.set_defaults(run=_fixtures)

    p = commands.add_parser(
        "grade", help="grade a class in an nbgrader course folder (sandboxed, in parallel)",
        description="Grade every collected submission (submitted/<student>/<assignment>/) in "
                    "sandboxed kernels, record the grades in nbgrader's gradebook, write the "
                    "feedback, grades.csv and the integrity report (reports/<assignment>/). A "
                    "second run grades only what is new or changed.")
    p.add_argument("course", help="the course folder holding nbgrader_config.py and submitted/")
    p.add_argument("assignments", default=[], help="assignments to grade (default: every one with "
                   f"submissions): {', '.join(every)}", **assignment_args)
    p.add_argument("--workers", type=_at_least(1), default=Options().workers,
                   help=f"notebooks graded at once (default: CPU cores = {Options().workers})")
    p.add_argument("--cell-timeout", type=_at_least(0.1, float), default=Limits.cell_timeout, metavar="SECONDS",
                   help=f"time limit of one cell (default {Limits.cell_timeout:g})")
    p.add_argument("--notebook-timeout", type=_at_least(0.1, float), default=Limits.notebook_timeout, metavar="SECONDS",
                   help=f"time limit of a whole notebook (default {Limits.notebook_timeout:g})")
    p.add_argument("--call-timeout", type=_at_least(0.1, float), default=Limits.call_timeout, metavar="SECONDS",
                   help=f"time limit of one hidden-check call (default {Limits.call_timeout:g})")
    p.add_argument("--memory", type=_at_least(256), default=Limits.memory_mb, metavar="MB",
                   help=f"memory (address space) of a kernel (default {Limits.memory_mb})")
    p.add_argument("--sandbox", choices=["auto", "require", "off"], default="auto",
                   help="auto: sandbox if this machine can, and warn loudly if not; require: "
                        "refuse to grade without it; off: no sandbox (debugging only)")
    p.add_argument("--regrade", action="store_true", help="grade everything again, ignoring stored results")
    p.add_argument("--csv", default=None, help="where to export grades (default COURSE/grades.csv)")
    p.add_argument("--db", default=None, metavar="URL",
                   help="the gradebook's database, an SQLAlchemy URL nbgrader accepts (default: the "
                        "course's CourseDirectory.db_url, else COURSE/gradebook.db)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    cluster = p.add_mutually_exclusive_group()
    cluster.add_argument("--scheduler", default=None, metavar="ADDRESS",
                         help="grade on the existing Dask cluster whose scheduler is at ADDRESS "
                              "(tcp://host:port); --workers is then ignored")
    cluster.add_argument("--scheduler-file", default=None, metavar="PATH",
                         help="the same, with the scheduler file `dask scheduler --scheduler-file` wrote")
    p.set_defaults(run=_grade)

    p = commands.add_parser("bench", help="time plain nbgrader against this course's grading")
    p.add_argument("--students", type=_at_least(1), default=50, help="class size (default 50)")
    p.add_argument("--assignment", default=every[0], type=_assignment, help=f"one of {', '.join(every)}")
    p.add_argument("--workers", type=_at_least(1), default=Options().workers)
    p.add_argument("--repeats", type=_at_least(1), default=1,
                   help="grade the class both ways this many times, taking turns; medians are shown")
    p.add_argument("--work", default="build/bench", help="an empty work folder (default build/bench)")
    p.set_defaults(run=_bench)

    p = commands.add_parser(
        "bench-class", help="time this course's grading against class size and workers",
        description="Grade a whole class (students x every notebook), then classes of several "
                    "sizes, then one class with several numbers of workers, each in a fresh "
                    "course folder; print the wall times and their medians over the repeats.")
    p.add_argument("--class-students", type=_at_least(0), default=100, metavar="N",
                   help="the whole class: N students x every notebook (default 100; 0 skips it)")
    p.add_argument("--class-workers", type=_at_least(1), default=Options().workers, metavar="W",
                   help=f"workers for the whole class and the sizes (default {Options().workers})")
    p.add_argument("--sizes", type=_at_least(1), nargs="+", default=[10, 50, 200], metavar="N",
                   help="class sizes in submissions, spread over the notebooks (default 10 50 200)")
    p.add_argument("--workers", type=_at_least(1), nargs="+", default=[1, 2, 4], metavar="W",
                   help="numbers of workers to compare (default 1 2 4)")
    p.add_argument("--workers-size", type=_at_least(1), default=50, metavar="N",
                   help="submissions graded with each number of workers (default 50)")
    p.add_argument("--repeats", type=_at_least(1), default=1, help="runs per configuration; medians shown")
    p.add_argument("--quick", action="store_true",
                   help="the smallest version, to check the command works (overrides the sizes)")
    p.add_argument("--work", default="build/bench-class", help="an empty work folder (default build/bench-class)")
    p.set_defaults(run=_bench_class)

    p = commands.add_parser("demo", help="release, sample classes, autograde, report")
    p.add_argument("--work", default="build/demo", help="an empty work folder (default build/demo)")
    p.add_argument("assignments", default=every, **assignment_args)
    p.set_defaults(run=_demo)

    p = commands.add_parser(
        "student-kit", help="the released notebooks and the rnncourse package, for students",
        description="Write DIR/<assignment>/<assignment>.ipynb for each released notebook named "
                    "(from assignments/), DIR/rnncourse (the student package, no grader code) and "
                    "DIR/README.md. The release schedule (schedule.toml) decides what may go out: "
                    "a notebook not yet open, or one whose provided cells hold the solutions of a "
                    "notebook not yet past its due date, is refused before anything is written.")
    p.add_argument("assignments", default=[], help="notebooks to hand out (default: every one open "
                   f"on --today): {', '.join(every)}", **assignment_args)
    p.add_argument("--out", required=True, metavar="DIR", help="a new or empty folder")
    p.add_argument("--today", type=_date, default=None, metavar="YYYY-MM-DD",
                   help="the day the schedule is checked against (default: today)")
    p.add_argument("--force", action="store_true",
                   help="hand out what the schedule refuses, with a warning")
    p.add_argument("--zip", action="store_true", help="also write DIR.zip")
    p.set_defaults(run=_student_kit)
    return top


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    level = logging.DEBUG if args.verbose else logging.WARNING if args.quiet else logging.INFO
    logging.basicConfig(level=level, format="%(message)s", stream=sys.stderr, force=True)
    tools_on_path()  # nbgrader runs `alembic` by name, also when the environment is not activated
    try:
        args.run(args)
    except CourseError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    except Exception as err:  # a bug of the grader: say so, with the traceback on request
        if args.debug:
            raise
        print(f"error: the grader failed ({type(err).__name__}: {err}); run again with --debug "
              "for the traceback", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
