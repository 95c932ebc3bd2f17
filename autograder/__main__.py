"""Commands for instructors and TAs: ``python -m autograder <command> --help``.

    release [ASSIGNMENT ...]       regenerate assignments/ from solutions/, after validation
    fixtures [ASSIGNMENT ...]      recompute the expected outputs of the visible checks
    grade COURSE [ASSIGNMENT ...]  grade a class collected in an nbgrader course folder
    bench [--students N] [--repeats R]  time plain nbgrader against this course's grading
    demo [--work DIR]              the whole loop on a sample class
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .assignments import ASSIGNMENTS, get
from .batch import Busy, Options
from .course import Course, NbgraderFailed
from .release import ReleaseInvalid
from .sandbox import Limits


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


def _release(args) -> None:
    from .provided import refresh
    from .release import release

    for assignment in args.assignments:
        if refresh(assignment):
            print(f"{assignment}: refreshed the provided cells from earlier notebooks")
    for validation in release(args.assignments, check=not args.no_validate):
        print(f"{validation.assignment}: valid ({validation.seconds:.0f} s): solution earns full "
              "marks, release earns zero, no solution text")
    print(f"wrote assignments/ for {', '.join(args.assignments)}")


def _fixtures(args) -> None:
    from .fixtures import write_fixture

    for assignment in args.assignments:
        print(f"wrote {write_fixture(assignment)}")


def _grade(args) -> None:
    from .grade import grade_assignments

    course = Course(Path(args.course).resolve())
    if not (course.root / "submitted").is_dir():
        raise SystemExit(f"{course.root} has no submitted/ folder: is it an nbgrader course folder?")
    submitted = {p.name for p in (course.root / "submitted").glob("*/*") if p.is_dir()}
    # assignments named on the command line were checked in main()
    assignments = args.assignments or sorted(a for a in ASSIGNMENTS if a in submitted)
    if not assignments:
        raise SystemExit(f"no submissions of any assignment under {course.root / 'submitted'}")
    limits = Limits(cell_timeout=args.cell_timeout, notebook_timeout=args.notebook_timeout,
                    call_timeout=args.call_timeout, memory_mb=args.memory)
    options = Options(workers=args.workers, limits=limits, sandbox=args.sandbox,
                      regrade=args.regrade, progress=not args.no_progress)
    csv = Path(args.csv) if args.csv else course.root / "grades.csv"
    results = grade_assignments(course, assignments, csv_path=csv, options=options)
    for result in results.values():
        print(f"\n{result.assignment}")
        print(result.table())
        print(f"integrity report: {result.report}")
    print(f"\ngrades: {csv}; feedback: {course.root / 'feedback'}")
    if any(status == "error" for r in results.values() for status in r.statuses.values()):
        raise SystemExit("some submissions hit a grader error (status 'error'); run the command "
                         "again to retry them, and see the integrity report")


def _bench(args) -> None:
    from .bench import run_bench

    run_bench(Path(args.work).resolve(), args.assignment, args.students, args.workers, args.repeats)


def _demo(args) -> None:
    from .demo import run_demo

    work = Path(args.work).resolve()
    if work.exists() and any(work.iterdir()):
        raise SystemExit(f"{work} is not empty: remove it or pass another --work folder")
    run_demo(work, args.assignments)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m autograder", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    every = sorted(ASSIGNMENTS)

    p = commands.add_parser("release", help="regenerate assignments/ from solutions/")
    p.add_argument("assignments", nargs="*", default=every, metavar="ASSIGNMENT")
    p.add_argument("--no-validate", action="store_true", help="skip running the notebooks")
    p.set_defaults(run=_release)

    p = commands.add_parser("fixtures", help="recompute the visible checks' expected outputs")
    p.add_argument("assignments", nargs="*", default=every, metavar="ASSIGNMENT")
    p.set_defaults(run=_fixtures)

    p = commands.add_parser(
        "grade", help="grade a class in an nbgrader course folder (sandboxed, in parallel)",
        description="Grade every collected submission (submitted/<student>/<assignment>/) in "
                    "sandboxed kernels, record the grades in nbgrader's gradebook, write the "
                    "feedback, grades.csv and the integrity report (reports/<assignment>/). A "
                    "second run grades only what is new or changed.")
    p.add_argument("course", help="the course folder holding nbgrader_config.py and submitted/")
    p.add_argument("assignments", nargs="*", metavar="ASSIGNMENT",
                   help=f"assignments to grade (default: every one with submissions): {', '.join(every)}")
    p.add_argument("--workers", type=_at_least(1), default=Options().workers,
                   help=f"notebooks graded at once (default: CPU cores + 1 = {Options().workers})")
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
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(run=_grade)

    p = commands.add_parser("bench", help="time plain nbgrader against this course's grading")
    p.add_argument("--students", type=_at_least(1), default=50, help="class size (default 50)")
    p.add_argument("--assignment", default="01_vanilla_rnn", choices=every)
    p.add_argument("--workers", type=_at_least(1), default=Options().workers)
    p.add_argument("--repeats", type=_at_least(1), default=1,
                   help="grade the class both ways this many times, taking turns; medians are shown")
    p.add_argument("--work", default="build/bench", help="an empty work folder (default build/bench)")
    p.set_defaults(run=_bench)

    p = commands.add_parser("demo", help="release, sample class, autograde, report")
    p.add_argument("--work", default="build/demo", help="an empty work folder (default build/demo)")
    p.add_argument("assignments", nargs="*", default=every, metavar="ASSIGNMENT")
    p.set_defaults(run=_demo)

    args = parser.parse_args(argv)
    try:
        for assignment in getattr(args, "assignments", []):
            get(assignment)  # argparse's choices reject a list default for nargs="*" (3.11)
        args.run(args)
    except (ReleaseInvalid, NbgraderFailed, FileNotFoundError, FileExistsError, ValueError,
            Busy, RuntimeError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
