"""The release schedule: when each notebook opens to students and when it is due.

The schedule is one small file kept by hand at the root of the course, ``schedule.toml``, one
table per notebook::

    [02_bptt]
    opens = 2027-01-18   # the first day students may have the notebook
    due = 2027-01-24     # the last day any submission is accepted, late days included

Dates are TOML dates (or ISO strings, ``"2027-01-18"``). The loader checks the whole file and
reports every problem at once: an id the course does not declare, a notebook the file leaves
out, a value that is not a date, a key other than ``opens`` and ``due``, a notebook due before
it opens.

What the dates decide (``student-kit``, ``kit.py``): a notebook goes out only once it is open,
and a notebook whose provided cells hold an earlier notebook's solutions only once that
notebook's due date has *passed*: on the due date itself students may still be submitting.
"""
from __future__ import annotations

import datetime as dt
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from autograder.errors import CourseError
from autograder.layout import REPO

SCHEDULE = REPO.root / "schedule.toml"
FIELDS = ("opens", "due")


class ScheduleError(CourseError):
    """The schedule file is missing, not TOML, or disagrees with the course's notebooks."""


@dataclass(frozen=True)
class Window:
    """One notebook's dates: open from ``opens``; submissions accepted until ``due`` included."""

    opens: dt.date
    due: dt.date

    def is_open(self, today: dt.date) -> bool:
        return today >= self.opens

    def is_past_due(self, today: dt.date) -> bool:
        """True once no submission can come in any more: the day after ``due``."""
        return today > self.due


@dataclass(frozen=True)
class Schedule:
    """Every declared notebook's window, in course order, and the file they came from."""

    windows: dict[str, Window]
    path: Path

    def __getitem__(self, notebook_id: str) -> Window:
        return self.windows[notebook_id]

    def open_on(self, today: dt.date) -> list[str]:
        """The notebooks open on ``today``, in course order."""
        return [nb for nb, window in self.windows.items() if window.is_open(today)]

    def early(self, carries: dict[str, Iterable[str]]) -> list[str]:
        """Where a notebook opens before a notebook whose solutions it carries is past due.

        ``carries`` maps a notebook to the earlier notebooks its provided cells come from. Such
        a notebook cannot go out on its opening day; the schedule is legal but worth a warning.
        """
        return [f"{nb} opens on {self[nb].opens} but carries the solutions of {source}, due "
                f"{self[source].due}: it can go out only from {self[source].due + dt.timedelta(days=1)}"
                for nb, sources in carries.items() for source in sources
                if nb in self.windows and source in self.windows
                and not self[source].is_past_due(self[nb].opens)]


def parse_date(value: object, where: str) -> dt.date:
    """A TOML date or an ISO date string, else a :class:`ScheduleError` naming ``where``."""
    if isinstance(value, dt.datetime):  # a datetime is a date too: refuse it explicitly
        raise ScheduleError(f"{where} = {value.isoformat()} has a time of day; give a date, e.g. "
                            f"{value.date().isoformat()}")
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            pass
    raise ScheduleError(f"{where} = {value!r} is not a date; write it as YYYY-MM-DD, e.g. 2027-01-11")


def load(path: Path = SCHEDULE, declared: Iterable[str] | None = None) -> Schedule:
    """Read and check the schedule at ``path`` against the declared notebooks.

    Args:
        path: the schedule file (default: ``schedule.toml`` at the course's root).
        declared: the notebook ids the course has (default: every declared notebook).

    Raises:
        ScheduleError: every problem found, in one message.
    """
    if declared is None:
        from autograder.checks import registry
        declared = registry.declared()
    declared = list(declared)
    try:
        table = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ScheduleError(f"no release schedule at {path}: write one table per notebook "
                            f"({', '.join(declared)}) with its opens and due dates") from None
    except tomllib.TOMLDecodeError as err:
        raise ScheduleError(f"{path} is not valid TOML: {err}") from None
    problems, windows = [], {}
    for notebook_id, entry in table.items():
        if notebook_id not in declared:
            problems.append(f"unknown notebook {notebook_id!r}; the course has {', '.join(declared)}")
            continue
        if not isinstance(entry, dict):
            problems.append(f"{notebook_id} must be a table [{notebook_id}] with opens and due")
            continue
        problems += [f"{notebook_id}: unknown key {key!r}; a notebook has only {' and '.join(FIELDS)}"
                     for key in entry if key not in FIELDS]
        problems += [f"{notebook_id}: no {key} date" for key in FIELDS if key not in entry]
        dates = {}
        for key in (key for key in FIELDS if key in entry):
            try:
                dates[key] = parse_date(entry[key], f"{notebook_id}.{key}")
            except ScheduleError as err:
                problems.append(str(err))
        if len(dates) < len(FIELDS):
            continue
        if dates["due"] < dates["opens"]:
            problems.append(f"{notebook_id} is due on {dates['due']}, before it opens on {dates['opens']}")
            continue
        windows[notebook_id] = Window(**dates)
    missing = [nb for nb in declared if nb not in table]
    if missing:
        problems.append(f"no dates for {', '.join(missing)}: every notebook needs a table "
                        "with opens and due")
    if problems:
        raise ScheduleError(f"the release schedule {path} is wrong:\n  " + "\n  ".join(problems))
    return Schedule({nb: windows[nb] for nb in declared}, Path(path))
