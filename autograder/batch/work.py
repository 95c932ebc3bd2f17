"""One submission's grading as plain data: the job function of the local pool and of a cluster.

A job becomes a *work* item (``pack``): the student's files as bytes, the assignment, the limits,
the sandbox mode and the grader's digest. With the texts of the assignment's source and released
notebooks (``sources``), ``grade_work`` grades it anywhere, reading nothing from the course folder,
and returns an *outcome*: each notebook's result and the executed notebook nbgrader records, as
text. ``store`` writes an outcome into the course folder: the staged notebooks, then the result,
atomically. Only dicts, lists, strings, bytes and numbers cross a process or a network.
"""
from __future__ import annotations

import dataclasses
import hashlib
import itertools
import json
import os
import shutil
import traceback
from pathlib import Path

from autograder.batch.jobs import Job, failed, grader_digest, write_atomic
from autograder.notebook import grader as runner
from autograder.notebook.restore import NotebookSource
from autograder.notebook.sandbox import Limits, Sandbox

_PARSED: dict[str, NotebookSource] = {}
_UNPACKED = itertools.count(1)


def pack(job: Job, limits: Limits, mode: str, sandbox: str = "auto") -> dict:
    """The work item of ``job``: everything a grading process needs besides the sources."""
    files, links = [], []
    for path in sorted(job.submitted.rglob("*")):
        relative = path.relative_to(job.submitted)
        if ".ipynb_checkpoints" in relative.parts:
            continue
        if path.is_symlink():  # kept as a link, as a copy of the folder would (the sandbox decides)
            links.append({"path": str(relative), "target": os.readlink(path)})
        elif path.is_file():
            files.append({"path": str(relative), "data": path.read_bytes()})
    return {"assignment": job.assignment, "student": job.student, "key": job.key,
            "notebooks": list(job.notebooks), "files": files, "links": links,
            "limits": dataclasses.asdict(limits), "mode": str(mode), "sandbox": sandbox,
            "grader": grader_digest()}


def sources(job: Job) -> list[dict]:
    """The texts of the source and released version of each notebook of ``job``'s assignment."""
    return [{"name": name,
             "source": job.layout.solution_notebook(job.assignment, name).read_text(encoding="utf-8"),
             "release": job.layout.release_notebook(job.assignment, name).read_text(encoding="utf-8")}
            for name in job.notebooks]


def _parsed(source: dict) -> NotebookSource:
    key = hashlib.sha256(json.dumps(source, sort_keys=True).encode()).hexdigest()
    if key not in _PARSED:
        _PARSED[key] = NotebookSource.parse(source["name"], source["source"], source["release"])
    return _PARSED[key]


def _unpack(work: dict, folder: Path) -> None:
    """Lay out the student's files in ``folder``; a path leaving it is not written."""
    folder.mkdir(parents=True)
    root = folder.resolve()
    for entry in [*work["files"], *work["links"]]:  # links last: no file is written through one
        path = Path(os.path.normpath(root / entry["path"]))
        if root not in path.parents:
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        if "data" in entry:
            path.write_bytes(entry["data"])
        else:
            os.symlink(entry["target"], path)


def grade_work(work: dict, notebooks: list[dict], sandbox: Sandbox, scratch: Path,
               cache: Path | None) -> dict:
    """Grade every notebook of one submission; returns the outcome (plain data).

    Args:
        work: a work item (see :func:`pack`).
        notebooks: the assignment's sources (see :func:`sources`).
        sandbox: how this process starts kernels (its limits are replaced by the work's).
        scratch: a folder of this process for kernel folders and the unpacked submission.
        cache: a prepared Matplotlib cache folder, or ``None``.
    """
    sandbox = dataclasses.replace(sandbox, limits=Limits(**work["limits"]))
    by_name = {source["name"]: source for source in notebooks}
    submission = Path(scratch) / f"submission-{os.getpid()}-{next(_UNPACKED)}"
    results, graded, key = [], {}, work["key"]
    try:
        _unpack(work, submission)
        for name in work["notebooks"]:
            source = _parsed(by_name[name])
            try:
                grader = runner.NotebookGrader(sandbox, source, work["assignment"], work["student"],
                                               submission, scratch, cache)
                result, notebook = grader.grade()
            except Exception:  # a grader bug: record it, never lose the submission
                result, notebook = failed(work["student"], work["assignment"], source,
                                          traceback.format_exc())
            if result.status == "error":
                key = ""  # never reused: the next run tries again
            graded[name] = json.dumps(notebook)
            results.append(json.loads(json.dumps(result.to_json())))  # enums as plain strings
    finally:
        shutil.rmtree(submission, ignore_errors=True)
    return {"assignment": work["assignment"], "student": work["student"], "key": key,
            "results": results, "notebooks": graded}


def store(job: Job, outcome: dict) -> list[dict]:
    """Write ``outcome`` into the course folder: the staged notebooks, then the result."""
    if (outcome["assignment"], outcome["student"]) != (job.assignment, job.student):
        raise ValueError(f"an outcome of {outcome['student']}/{outcome['assignment']} "
                         f"was given for {job.student}/{job.assignment}")
    if job.staged.exists():
        shutil.rmtree(job.staged)
    job.staged.mkdir(parents=True)
    timestamp = job.submitted / "timestamp.txt"
    if timestamp.is_file() and not timestamp.is_symlink():
        shutil.copy(timestamp, job.staged / "timestamp.txt")
    for name, text in outcome["notebooks"].items():
        write_atomic(job.staged / f"{name}.ipynb", text)
    write_atomic(job.result_path, json.dumps({"key": outcome["key"], "results": outcome["results"]}))
    return outcome["results"]
