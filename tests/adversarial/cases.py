"""A corpus of adversarial and broken submissions of notebook 01, each with its expected outcome.

Every case is one student of a sample class. ``build`` makes the student's files from the
released and solution notebooks; the expectations say what the grader must do with them:

- ``status``: the submission's status in the integrity report;
- ``points``: per exercise, FULL (all its points), a number, SAME (what the control student
  ``same_as`` earns: the trick changes nothing), or ANY; "*" is the default;
- ``findings``: checks that must appear in the integrity report for this student;
- ``clean``: no finding above "info" may appear (a control case);
- ``feedback_has`` / ``feedback_lacks``: text the student's feedback must or must not show.

The limits of the run are small (see ``LIMITS`` in test_corpus.py) so the corpus runs in CI.
"""
from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field

import nbformat

from autograder.checks.notebooks import vanilla_rnn
from autograder.checks.samples import make_submission, replaced, solved

ASSIGNMENT = vanilla_rnn.NOTEBOOK.id
NAME = f"{ASSIGNMENT}.ipynb"
FULL, SAME, ANY = "full", "same", "any"
SLEEPS = 7  # cells of 4.5 s: more than the corpus's notebook time limit
TRANSPOSED = {"*": solved, "rnn_step_forward": replaced("h_prev @ Wh", "h_prev @ Wh.T")}


@dataclass
class Context:
    release: dict
    source: dict
    course: str  # the course folder, which a student might try to reach
    repository: str  # the checkout holding solutions/ and autograder/


@dataclass(frozen=True)
class Case:
    name: str
    tries: str  # what the submission does, in words
    build: Callable[[Context], dict]
    status: str = "graded"
    points: dict = field(default_factory=lambda: {"*": FULL})
    same_as: str = ""
    findings: tuple[str, ...] = ()
    clean: bool = False
    feedback_has: tuple[str, ...] = ()
    feedback_lacks: tuple[str, ...] = ()


# ------------------------------------------------------------------------------ helpers
def notebook(ctx: Context, changes: dict) -> dict:
    return make_submission(ctx.release, ctx.source, changes)


def as_files(nb: dict, name: str = NAME) -> dict:
    return {name: json.dumps(nb, indent=1)}


def index_of(nb: dict, grade_id: str) -> int:
    return next(i for i, c in enumerate(nb["cells"])
                if c["metadata"].get("nbgrader", {}).get("grade_id") == grade_id)


def with_cell(nb: dict, after: str, code: str, metadata: dict | None = None) -> dict:
    """``nb`` with a new code cell of the student's after the cell ``after`` (a grade id)."""
    cell = nbformat.v4.new_code_cell(code, metadata=metadata or {})
    nb["cells"].insert(index_of(nb, after) + 1, dict(cell))
    return nb


def solution_body(ctx: Context, grade_id: str) -> str:
    cell = ctx.source["cells"][index_of(ctx.source, grade_id)]
    return solved("".join(cell["source"]))


def function(ctx: Context, grade_id: str, body: str) -> Callable[[str], str]:
    """A change replacing the body of ``grade_id``'s function (keeping its signature line)."""
    header = solution_body(ctx, grade_id).splitlines()[0]
    return lambda source: header + "\n" + body


def edit(nb: dict, grade_id: str, change: Callable[[dict], None]) -> dict:
    change(nb["cells"][index_of(nb, grade_id)])
    return nb


GRADE_IDS = ["grade_rnn_step_forward", "grade_rnn_forward", "grade_word_embedding_forward",
             "grade_temporal_affine_forward", "grade_temporal_softmax_loss", "grade_sample"]


# ------------------------------------------------------------------------------ the cases
def _transformer(ctx):
    nb = notebook(ctx, {})
    return as_files(with_cell(nb, "setup", (
        "def _pass_every_grade_cell(lines):\n"
        "    # plain nbgrader: every grade cell becomes a number, so every part earns full marks\n"
        "    return ['3.0\\n'] if any('grade_' in line for line in lines) else lines\n"
        "get_ipython().input_transformers_cleanup.append(_pass_every_grade_cell)\n")))


def _monkeypatch(ctx):
    nb = notebook(ctx, TRANSPOSED)
    return as_files(with_cell(nb, "setup", (
        "import rnncourse.compare\n"
        "np.allclose = lambda *args, **kwargs: True\n"
        "np.isclose = lambda a, b, **kwargs: np.ones(np.broadcast(a, b).shape, dtype=bool)\n"
        "np.array_equal = lambda *args, **kwargs: True\n"
        "rnncourse.compare.value_problem = lambda *args, **kwargs: None\n"
        "import builtins\n"
        "builtins.round = lambda number, digits=None: number\n")))


def _fake_autograder(ctx):
    nb = notebook(ctx, {})
    names = ", ".join(f"{g}=lambda fn: 100.0" for g in GRADE_IDS)
    return as_files(with_cell(nb, "setup", (
        "import sys, types\n"
        f"fake = types.SimpleNamespace({names})\n"
        "for name in ['autograder', 'autograder.checks', 'autograder.checks.notebooks.vanilla_rnn']:\n"
        "    sys.modules[name] = fake\n")))


def _grader_files(ctx):
    nb = notebook(ctx, {})
    targets = [f"{ctx.course}/gradebook.db", f"{ctx.course}/solutions/{ASSIGNMENT}/{NAME}",
               f"{ctx.course}/submitted/control-perfect/{ASSIGNMENT}/{NAME}",
               f"{ctx.repository}/autograder/checks/vanilla_rnn.py",
               f"{ctx.repository}/solutions/{ASSIGNMENT}/{NAME}",
               "../../gradebook.db", "../../../gradebook.db", "/etc/shadow"]
    return as_files(with_cell(nb, "setup", (
        "import glob, os\n"
        f"targets = {targets!r}\n"
        "readable = []\n"
        "others = [p for p in glob.glob('/tmp/**/*.ipynb', recursive=True) if not p.startswith(os.getcwd())]\n"
        "for path in targets + others + glob.glob('/tmp/**/gradebook.db', recursive=True):\n"
        "    try:\n"
        "        open(path, 'rb').read(10)\n"
        "        readable.append(path)\n"
        "    except OSError:\n"
        "        pass\n"
        "try:\n"
        "    from autograder.checks.reference import load_reference\n"
        "    readable.append('autograder')\n"
        "except Exception:\n"
        "    pass\n"
        "print('READABLE:', readable)\n")))


FORK_LEFTOVERS = (
    "    import os, time\n"
    "    for _ in range(300):  # children that outlive the call, until the process limit\n"
    "        try:\n"
    "            if os.fork() == 0:\n"
    "                time.sleep(600)\n"
    "                os._exit(0)\n"
    "        except OSError:\n"
    "            break\n")


def _fork_leftovers(ctx):
    def change(source):
        return solved(source.replace("    ### BEGIN SOLUTION\n", "    ### BEGIN SOLUTION\n" + FORK_LEFTOVERS))
    return as_files(notebook(ctx, {"*": solved, "rnn_step_forward": change}))


def _network(ctx):
    nb = notebook(ctx, {})
    return as_files(with_cell(nb, "setup", (
        "import socket, urllib.request\n"
        "reached = []\n"
        "for host, port in [('1.1.1.1', 53), ('8.8.8.8', 443), ('127.0.0.1', 22)]:\n"
        "    try:\n"
        "        socket.create_connection((host, port), timeout=2).close()\n"
        "        reached.append(host)\n"
        "    except OSError:\n"
        "        pass\n"
        "print('NETWORK:', 'reached ' + str(reached) if reached else 'blocked')\n")))


def _fake_equality(ctx):
    body = ('    class AlwaysEqual(np.ndarray):\n'
            '        def __eq__(self, other):\n'
            '            return np.ones(np.shape(other), dtype=bool)\n'
            '    class Anything:\n'
            '        def __eq__(self, other):\n'
            '            return True\n'
            '    if x.shape[0] % 2:\n'
            '        return np.zeros((x.shape[0], Wh.shape[0])).view(AlwaysEqual), None\n'
            '    return Anything(), None\n')
    return as_files(notebook(ctx, {"*": solved, "rnn_step_forward": function(ctx, "rnn_step_forward", body)}))


def _exit_in_cell(ctx):
    nb = notebook(ctx, {"*": solved})
    return as_files(with_cell(nb, "grade_word_embedding_forward", "import os\nos._exit(1)\n"))


def _segfault(ctx):
    body = "    import ctypes\n    ctypes.string_at(0)\n"
    return as_files(notebook(ctx, {"*": solved, "temporal_affine_forward":
                                   function(ctx, "temporal_affine_forward", body)}))


def _infinite_loop(ctx):
    body = "    while True:\n        pass\n"
    return as_files(notebook(ctx, {"*": solved, "word_embedding_forward":
                                   function(ctx, "word_embedding_forward", body)}))


def _swallow_interrupt(ctx):
    body = ("    import signal, time\n"
            "    signal.signal(signal.SIGINT, signal.SIG_IGN)\n"
            "    while True:\n"
            "        try:\n"
            "            time.sleep(0.01)\n"
            "        except KeyboardInterrupt:\n"
            "            pass\n")
    return as_files(notebook(ctx, {"*": solved, "rnn_forward": function(ctx, "rnn_forward", body)}))


def _memory_bomb(ctx):
    body = "    hog = []\n    while True:\n        hog.append(np.ones(10**7))\n"
    nb = notebook(ctx, {"*": solved, "temporal_softmax_loss": function(ctx, "temporal_softmax_loss", body)})
    return as_files(with_cell(nb, "setup", "too_big = np.ones((100000, 100000))  # 80 GB\n"))


def _huge_output(ctx):
    nb = notebook(ctx, {"*": solved})
    return as_files(with_cell(nb, "setup", "for i in range(200000):\n    print('x' * 100)\n"))


def _odd_output(ctx):
    nb = notebook(ctx, {"*": solved})
    return as_files(with_cell(nb, "setup", (
        "from IPython.display import publish_display_data\n"
        "publish_display_data({'text/plain': 123, 'application/x-odd': {'a': [1, 2]}})\n")))


def _old_format(ctx):
    nb = nbformat.from_dict(notebook(ctx, {"*": solved}))
    return {NAME: nbformat.writes(nbformat.convert(nb, 3))}


def _deleted_grade_cells(ctx):
    nb = notebook(ctx, {"*": solved})
    nb["cells"] = [c for c in nb["cells"] if not c["metadata"].get("nbgrader", {}).get("grade")]
    return as_files(nb)


def _duplicated_grade_cell(ctx):
    nb = notebook(ctx, {"*": solved})
    first = json.loads(json.dumps(nb["cells"][index_of(nb, "grade_rnn_step_forward")]))
    nb["cells"].insert(1, first)  # before anything is defined
    nb["cells"].append(json.loads(json.dumps(nb["cells"][index_of(nb, "grade_sample")])))
    return as_files(nb)


def _retyped(ctx):
    nb = notebook(ctx, {"*": solved})
    edit(nb, "grade_rnn_forward", lambda c: (c.update(cell_type="markdown"), c.pop("outputs"),
                                             c.pop("execution_count")))
    edit(nb, "rnn_step_forward", lambda c: (c.update(cell_type="raw"), c.pop("outputs"),
                                            c.pop("execution_count")))
    return as_files(nb)


def _stripped(ctx):
    nb = notebook(ctx, {"*": solved})
    edit(nb, "grade_temporal_affine_forward", lambda c: c["metadata"].clear())
    edit(nb, "grade_sample", lambda c: (c["metadata"].clear(), c.update(source="# gone\n")))
    return as_files(nb)


def _edited_grade_cells(ctx):
    nb = notebook(ctx, {})
    for grade_id in GRADE_IDS:
        edit(nb, grade_id, lambda c: c.update(source="3.0"))
    edit(nb, "grade_sample", lambda c: c["metadata"]["nbgrader"].update(points=100))
    return as_files(nb)


def _fake_grade_cell(ctx):
    nb = notebook(ctx, {})
    meta = {"nbgrader": {"grade": True, "grade_id": "bonus", "locked": True, "points": 100,
                         "schema_version": 3, "solution": False, "task": False}}
    return as_files(with_cell(nb, "setup", "100.0", meta))


def _torch(ctx):
    body = ('    import torch\n'
            '    t = lambda a: torch.from_numpy(np.asarray(a, dtype=np.float64))\n'
            '    h = torch.tanh(t(x) @ t(Wx) + t(h_prev) @ t(Wh) + t(b)).numpy()\n'
            '    return h, (x, h_prev, Wx, Wh, h)\n')
    return as_files(notebook(ctx, {"*": solved, "rnn_step_forward": function(ctx, "rnn_step_forward", body)}))


def _torch_unused(ctx):
    nb = notebook(ctx, {"*": solved})
    return as_files(with_cell(nb, "setup", "import torch\nprint(torch.zeros(2).sum().item())\n"))


def _stash_inputs(ctx):
    stash = replaced("    h = np.tanh(", "    if Wh.shape[0] < 10:  # the small inputs of checks, not the big model\n"
                                         "        STASH.append([a.tolist() for a in (x, h_prev, Wx, Wh, b)])\n"
                                         "    h = np.tanh(")
    nb = notebook(ctx, {"*": solved, "rnn_step_forward": stash})
    nb = with_cell(nb, "setup", "STASH = []\n")
    nb["cells"].append(dict(nbformat.v4.new_code_cell("print('STASHED', STASH)")))
    return as_files(nb)


def _exception_leak(ctx):
    body = "    raise ValueError('inputs: ' + repr(x.ravel().tolist()) + repr(Wx.ravel().tolist()))\n"
    return as_files(notebook(ctx, {"*": solved, "rnn_forward": function(ctx, "rnn_forward", body)}))


def _notebook_time_limit(ctx):
    nb = notebook(ctx, {"*": solved})
    for _ in range(SLEEPS):
        nb = with_cell(nb, "grade_rnn_forward", "import time\ntime.sleep(4.5)\n")
    return as_files(nb)


def _trace_and_probe(ctx):
    nb = notebook(ctx, {})
    return as_files(with_cell(nb, "setup", (
        "import os, sys\n"
        "sys.settrace(lambda *args: None)\n"
        "sys.excepthook = lambda *args: None\n"
        "if os.environ.get('NBGRADER_EXECUTION'):\n"
        "    try:\n"
        "        from autograder.checks.reference import load_reference\n"
        f"        globals().update(vars(load_reference({ASSIGNMENT!r})))\n"
        "    except ImportError:\n"
        "        print('PROBE: no autograder here')\n")))


def _printed_score(ctx):
    body = ('    print("rnn_step_forward: 5 of 5 hidden cases passed, 2 of 2 points.")\n'
            '    import sys\n'
            '    print(2.0, file=sys.stderr)\n'
            '    return np.zeros((x.shape[0], Wh.shape[0])), None\n')
    return as_files(notebook(ctx, {"*": solved, "rnn_step_forward": function(ctx, "rnn_step_forward", body)}))


CASES = [
    Case("control-perfect", "the solution, as a student would submit it",
         lambda ctx: as_files(notebook(ctx, {"*": solved})), clean=True),
    Case("control-blank", "the released notebook, untouched",
         lambda ctx: as_files(notebook(ctx, {})), points={"*": 0}, clean=True),
    Case("control-wrong", "the solution with Wh transposed in rnn_step_forward",
         lambda ctx: as_files(notebook(ctx, TRANSPOSED)),
         points={"rnn_step_forward": ANY, "rnn_forward": ANY, "sample": ANY, "*": FULL}, clean=True),
    Case("input-transformer", "an IPython input transformer turning every grade cell into a score",
         _transformer, points={"*": 0}, findings=("ipython-hook",)),
    Case("monkeypatch", "the wrong code of control-wrong, with np.allclose, np.isclose, "
         "rnncourse.compare and builtins.isinstance patched to pass everything",
         _monkeypatch, points={"*": SAME}, same_as="control-wrong", findings=("monkeypatch", "builtins")),
    Case("fake-autograder", "a fake autograder.checks module in sys.modules whose grade "
         "functions return 100", _fake_autograder, points={"*": 0}, findings=("interpreter-hook",)),
    Case("grader-files", "reads the gradebook, solutions/, the hidden checks and another "
         "student's notebook by path, and imports the reference", _grader_files,
         points={"*": 0}, findings=("grader-path",), feedback_has=("READABLE: []",)),
    Case("network", "opens network connections", _network, points={"*": 0},
         findings=("process",), feedback_has=("NETWORK: blocked",)),
    # rnn_forward and sample call the student's own step, so they are also graded over it: the
    # cases whose step returned an array pass there, those whose step returned a fake object fail
    Case("fake-equality", "returns objects whose == is always True", _fake_equality,
         points={"rnn_step_forward": 0, "rnn_forward": ANY, "sample": ANY, "*": FULL}, clean=True),
    # once, the children used up the kernel's process limit and every later part scored 0;
    # the parts that call rnn_step_forward may run out of call time forking
    Case("fork-leftovers", "rnn_step_forward starts 300 sleeping children, then returns the "
         "right answer", _fork_leftovers, findings=("process",),
         points={"rnn_step_forward": ANY, "rnn_forward": ANY, "sample": ANY, "*": FULL}),
    Case("exit-in-cell", "os._exit in a cell between two parts", _exit_in_cell,
         findings=("kernel-died",)),
    Case("segfault", "temporal_affine_forward crashes the interpreter (a NULL read through ctypes)",
         _segfault, points={"temporal_affine_forward": 0, "*": FULL}, findings=("kernel-died",),
         feedback_has=("ended the Python process",)),
    Case("infinite-loop", "word_embedding_forward never returns", _infinite_loop,
         points={"word_embedding_forward": 0, "*": FULL}, feedback_has=("did not finish within",),
         clean=True),
    Case("swallow-interrupt", "rnn_forward ignores SIGINT and loops forever", _swallow_interrupt,
         points={"rnn_forward": 0, "*": FULL}, findings=("kernel-died",),
         feedback_has=("ignored the interrupt",)),
    Case("memory-bomb", "a cell allocates 80 GB; temporal_softmax_loss allocates until memory "
         "runs out", _memory_bomb, points={"temporal_softmax_loss": 0, "*": FULL},
         feedback_has=("MemoryError",), clean=True),
    Case("huge-output", "a cell prints 20 MB", _huge_output, feedback_has=("[output cut",), clean=True),
    Case("odd-output", "publishes display data that is not valid notebook output", _odd_output,
         findings=("interpreter-hook",), feedback_has=("not valid notebook output was dropped",)),
    Case("missing-notebook", "a submission with no notebook in it",
         lambda ctx: {"notes.txt": "I could not finish"}, status="missing", points={"*": 0},
         feedback_has=(f"no file {NAME}",), clean=True),
    Case("renamed-notebook", "the solution saved under another name",
         lambda ctx: as_files(notebook(ctx, {"*": solved}), f"{ASSIGNMENT}-Copy1.ipynb"),
         findings=("renamed-notebook",)),
    Case("invalid-json", "a notebook file cut in the middle",
         lambda ctx: {NAME: json.dumps(notebook(ctx, {"*": solved}))[:5000]},
         status="unreadable", points={"*": 0}, feedback_has=("not valid notebook JSON",), clean=True),
    Case("old-format", "the solution saved in notebook format 3", _old_format,
         findings=("old-format",)),
    Case("deleted-grade-cells", "the solution with every grade cell deleted", _deleted_grade_cells,
         findings=("deleted-cell",)),
    Case("duplicated-grade-cell", "a grade cell copied above the code it grades, another copied "
         "to the end", _duplicated_grade_cell, findings=("duplicated-cell",)),
    Case("retyped-cells", "a grade cell turned into markdown, a solution cell into a raw cell",
         _retyped, findings=("retyped-cell",)),
    Case("stripped-metadata", "grade cells without their nbgrader metadata (one also emptied)",
         _stripped, findings=("metadata-stripped", "deleted-cell")),
    Case("edited-grade-cells", "every grade cell replaced by a score, and its points raised to 100",
         _edited_grade_cells, points={"*": 0}, findings=("changed-cell", "changed-metadata")),
    Case("fake-grade-cell", "a cell of its own claiming to be a grade cell worth 100 points",
         _fake_grade_cell, points={"*": 0}, findings=("unknown-cell",)),
    Case("torch-delegation", "rnn_step_forward computed with PyTorch in a NumPy-by-hand notebook",
         _torch, points={"rnn_step_forward": 0, "rnn_forward": 0, "sample": 0, "*": FULL},
         findings=("delegation",), feedback_has=("asks for the computation by hand",)),
    Case("torch-imported-unused", "imports PyTorch without using it in a graded function",
         _torch_unused, findings=("library",)),
    Case("stash-inputs", "rnn_step_forward stores its inputs and the last cell prints them",
         _stash_inputs, clean=True),
    Case("exception-leak", "rnn_forward raises an error whose message holds its inputs",
         _exception_leak, points={"rnn_forward": 0, "*": FULL}, feedback_has=("raised ValueError",),
         clean=True),
    Case("notebook-time-limit", "cells that sleep until the notebook runs out of time",
         _notebook_time_limit, status="incomplete",
         points={"rnn_step_forward": FULL, "rnn_forward": FULL, "*": 0},
         feedback_has=("not reached",), clean=True),
    Case("trace-and-probe", "sets a trace function and an excepthook, and imports the reference "
         "when it detects NBGRADER_EXECUTION", _trace_and_probe, points={"*": 0},
         findings=("interpreter-hook", "grading-probe"), feedback_has=("PROBE: no autograder here",)),
    Case("printed-score", "prints a passing report and a score to stderr, returns zeros",
         _printed_score, points={"rnn_step_forward": 0, "*": FULL},  # the callers: over its own step
         clean=True),
]
