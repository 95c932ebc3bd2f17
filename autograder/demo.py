"""The whole loop on a sample class: release, submissions, autograde, gradebook, feedback.

The class is made from the released notebook the way students make theirs: by replacing the
stubs in the solution cells. Each sample student stands for a kind of submission a TA meets,
and the expected score of each is known, so the demo doubles as an end-to-end test.
"""
from __future__ import annotations

import ast
import json
import time
from collections.abc import Callable
from pathlib import Path

from .assignments import get
from .course import Course
from .grade import Results, grade_assignment
from .provided import without_markers as solved
from .reference import COURSE_ROOT, solution_notebook
from .release import release

def in_float32(source: str) -> str:
    """The solution computed in float32: every float argument is converted on entry."""
    function = next(n for n in ast.parse(source).body if isinstance(n, ast.FunctionDef))
    names = ", ".join(arg.arg for arg in function.args.args)
    convert = (f"    {names}, = [a.astype(np.float32) if isinstance(a, np.ndarray) and a.dtype.kind == 'f' "
               f"else a for a in ({names},)]\n")
    return solved(source.replace("    ### BEGIN SOLUTION\n", "    ### BEGIN SOLUTION\n" + convert))


def replaced(old: str, new: str) -> Callable[[str], str]:
    """A change to the solution source, which must apply (so the demo cannot silently drift)."""
    def change(source: str) -> str:
        if old not in source:
            raise ValueError(f"the demo's change {old!r} no longer applies to the solution")
        return solved(source.replace(old, new))
    return change


# student -> what they did to each solution cell (by grade id); cells not named stay stubs,
# and "*" applies to every solution cell. The expected points per exercise are in the tests.
SAMPLE_CLASS_01 = {
    "perfect": {"*": solved},
    "blank": {},
    "partial": {"rnn_step_forward": solved, "word_embedding_forward": solved,
                "temporal_affine_forward": solved},
    "float32": {"*": in_float32},
    "transposed": {"*": solved, "rnn_step_forward": replaced("h_prev @ Wh", "h_prev @ Wh.T")},
    "raises": {"*": solved, "temporal_softmax_loss": replaced("y[..., None]", "y")},
    "unstable": {"*": solved,
                 "temporal_softmax_loss": replaced("x - x.max(axis=2, keepdims=True)", "x")},
}

SAMPLE_CLASS_02 = {
    "perfect": {"*": solved},
    "blank": {},
    "partial": {"rnn_step_backward": solved, "word_embedding_backward": solved,
                "clip_grad_norm": solved},
    "float32": {"*": in_float32},
    # dh_prev with Wh instead of Wh.T: right when nothing is carried back, so it also costs
    # rnn_backward and tbptt_step, which call it
    "transposed": {"*": solved, "rnn_step_backward": replaced("da @ Wh.T", "da @ Wh")},
    "raises": {"*": solved, "temporal_affine_backward": replaced("axis=(0, 1)", "axis=(0, 3)")},
}

SAMPLE_CLASS_03 = {
    "perfect": {"*": solved},
    "blank": {},
    "partial": {"lstm_step_forward": solved, "lstm_forward": solved},
    "float32": {"*": in_float32},
    # PyTorch's gate order i, f, g, o read into our layout: o and g swapped. lstm_forward calls
    # the step, so it loses its points too; the backward checks use the reference's caches.
    "gate_order": {"*": solved, "lstm_step_forward": replaced(
        "    o = gates[:, 2 * H:]  # output gate: how much of the memory to show\n"
        "    g = np.tanh(a[:, 3 * H:])  # candidate: what could be written\n",
        "    o = 1 / (1 + np.exp(-a[:, 3 * H:]))  # output gate\n"
        "    g = np.tanh(a[:, 2 * H:3 * H])  # candidate\n")},
    # a wrong index into the step cache: an IndexError in every case of lstm_backward only
    "raises": {"*": solved, "lstm_backward": replaced("cache[0][3], cache[0][4]", "cache[0][3], cache[0][10]")},
}

SAMPLE_CLASS_06 = {
    "perfect": {"*": solved},
    "blank": {},
    "partial": {"attention_forward": solved, "length_normalise": solved},
    "float32": {"*": in_float32},
    # finished hypotheses keep no place: the beam always extends beam_size hypotheses, which
    # changes the answer only where a hypothesis finishes before the end
    "fixed_beam": {"*": solved, "beam_search": replaced("places = beam_size - len(finished)",
                                                        "places = beam_size")},
    # the length of a NumPy array asked for with a call: a TypeError in every case
    "raises": {"*": solved, "length_normalise": replaced("max(len(tokens), 1)", "max(tokens.size(), 1)")},
}

SAMPLE_CLASSES = {"01_vanilla_rnn": SAMPLE_CLASS_01, "02_bptt": SAMPLE_CLASS_02, "03_lstm": SAMPLE_CLASS_03,
                  "06_seq2seq": SAMPLE_CLASS_06}


def make_submission(release_nb: dict, source_nb: dict, changes: dict[str, Callable]) -> dict:
    """The released notebook with the solution cells named in ``changes`` filled in."""
    sources = {cell["metadata"]["nbgrader"]["grade_id"]: "".join(cell["source"])
               for cell in source_nb["cells"]
               if cell["metadata"].get("nbgrader", {}).get("solution")}
    submission = json.loads(json.dumps(release_nb))
    for cell in submission["cells"]:
        grade_id = cell["metadata"].get("nbgrader", {}).get("grade_id")
        change = changes.get(grade_id, changes.get("*"))
        if grade_id in sources and change is not None:
            cell["source"] = change(sources[grade_id])
    return submission


def run_demo(work: Path, assignments: list[str], log: Callable[[str], None] = print) -> dict[str, Results]:
    """Release with validation, submit the sample class, grade it, and write every output.

    Writes, under ``work``: ``course/`` (an nbgrader course with its gradebook.db, submitted/,
    autograded/, feedback/ and reports/) and ``grades.csv``.
    """
    work = Path(work)
    started = time.perf_counter()
    log(f"1. release {', '.join(assignments)} with validation")
    for validation in release(assignments, out=work / "release"):
        log(f"   {validation.assignment}: solution full marks, release zero, no solution text "
            f"({validation.seconds:.0f} s)")
    course = Course.create(work / "course", assignments)
    results = {}
    for assignment in assignments:
        get(assignment)
        course.release(assignment)
        name = f"{assignment}.ipynb"
        release_nb = json.loads((course.root / "assignments" / assignment / name).read_text())
        source_nb = json.loads(solution_notebook(assignment, COURSE_ROOT).read_text())
        students = SAMPLE_CLASSES[assignment]
        log(f"2. {assignment}: {len(students)} submissions: {', '.join(students)}")
        for student, changes in students.items():
            notebook = make_submission(release_nb, source_nb, changes)
            course.submit(student, assignment, {name: json.dumps(notebook, indent=1)})
        log(f"3. {assignment}: grade in sandboxed kernels, record in the gradebook, feedback, "
            "export, integrity report")
        results[assignment] = grade_assignment(course, assignment, csv_path=work / "grades.csv")
        log(results[assignment].table())
    log(f"gradebook: {course.root / 'gradebook.db'}")
    log(f"grades:    {work / 'grades.csv'}")
    log(f"feedback:  {course.root / 'feedback'}/<student>/<assignment>/<assignment>.html")
    log(f"integrity: {course.root / 'reports'}/<assignment>/report.html")
    log(f"done in {time.perf_counter() - started:.0f} s")
    return results
