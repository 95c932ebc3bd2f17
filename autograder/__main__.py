"""Commands for instructors and TAs: ``python -m autograder <command> --help``.

    release [ASSIGNMENT ...]       regenerate assignments/ from solutions/, after validation
    fixtures [ASSIGNMENT ...]      recompute the expected outputs of the visible checks
    grade COURSE ASSIGNMENT        autograde a class collected in an nbgrader course folder
    demo [--work DIR]              the whole loop on a sample class
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .assignments import ASSIGNMENTS
from .course import Course, NbgraderFailed
from .release import ReleaseInvalid


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
    from .grade import grade_assignment

    course = Course(Path(args.course).resolve())
    if not (course.root / "submitted").is_dir():
        raise SystemExit(f"{course.root} has no submitted/ folder: is it an nbgrader course folder?")
    results = grade_assignment(course, args.assignment, csv_path=Path(args.csv))
    print(results.table())
    print(f"grades: {args.csv}; feedback: {course.root / 'feedback'}")


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
    p.add_argument("assignments", nargs="*", default=every, choices=every, metavar="ASSIGNMENT")
    p.add_argument("--no-validate", action="store_true", help="skip running the notebooks")
    p.set_defaults(run=_release)

    p = commands.add_parser("fixtures", help="recompute the visible checks' expected outputs")
    p.add_argument("assignments", nargs="*", default=every, choices=every, metavar="ASSIGNMENT")
    p.set_defaults(run=_fixtures)

    p = commands.add_parser("grade", help="autograde a class in an nbgrader course folder")
    p.add_argument("course", help="the course folder holding nbgrader_config.py and submitted/")
    p.add_argument("assignment", choices=every)
    p.add_argument("--csv", default="grades.csv", help="where to export grades (default grades.csv)")
    p.set_defaults(run=_grade)

    p = commands.add_parser("demo", help="release, sample class, autograde, report")
    p.add_argument("--work", default="build/demo", help="an empty work folder (default build/demo)")
    p.add_argument("assignments", nargs="*", default=every, choices=every, metavar="ASSIGNMENT")
    p.set_defaults(run=_demo)

    args = parser.parse_args(argv)
    try:
        args.run(args)
    except (ReleaseInvalid, NbgraderFailed, FileNotFoundError, FileExistsError, ValueError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
