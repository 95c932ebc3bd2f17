"""Reading and restoring submissions, the code scan, the by-hand rule, and the plain-data wire."""
import json
import os

import nbformat
import numpy as np
import pytest

from autograder.checks import gradecell
from autograder.checks.notebooks import vanilla_rnn
from autograder.layout import REPO
from autograder.notebook.integrity import delegations, kernel_findings, scan
from autograder.notebook.remote import plain, student_exception, synced
from autograder.notebook.restore import NotebookSource, read_submission, restore
from rnncourse._grading.wire import Opaque, decode, encode, read_data, write_data

A = vanilla_rnn.NOTEBOOK.id
NAME = f"{A}.ipynb"


@pytest.fixture(scope="module")
def source():
    return NotebookSource.load(REPO.solution_notebook(A), REPO.release_notebook(A))


def _ids(cells):
    return [c["metadata"].get("nbgrader", {}).get("grade_id") for c in cells]


def _copy(notebook):
    return json.loads(json.dumps(notebook))


def _checks(findings):
    return {f.check for f in findings}


# ------------------------------------------------------------------------------ reading
def test_the_hidden_call_of_every_grade_cell_is_understood(source):
    calls = [c.hidden for c in source.grade_cells]
    assert all(calls) and len(calls) == 6
    assert (calls[0].notebook, calls[0].exercise, calls[0].argument) == (A, "rnn_step_forward", "rnn_step_forward")
    for hidden in ["import os\nos.system('x')\n", "from autograder.checks import grade\ngrade(A, 'f', f)\n",
                   "from autograder.checks import grade\ngrade('a', 'f', f)\nimport os\n"]:
        assert gradecell.parse(f"### BEGIN HIDDEN TESTS\n{hidden}### END HIDDEN TESTS\n")[0] is None, hidden


@pytest.mark.parametrize("content, status, reason", [
    ('{"cells": [', "unreadable", "not valid notebook JSON"),
    ('[1, 2, 3]', "unreadable", "JSON but not a notebook"),
    (b"\xff\xfe\x00", "unreadable", "not valid notebook JSON"),
])
def test_a_broken_file_is_unreadable_with_a_reason(tmp_path, content, status, reason):
    path = tmp_path / NAME
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    read = read_submission(tmp_path, A)
    assert read.status == status and reason in read.reason


def test_missing_and_renamed_notebooks(tmp_path, source):
    assert read_submission(tmp_path, A).status == "missing"
    (tmp_path / "my copy.ipynb").write_text(json.dumps(source.release))
    read = read_submission(tmp_path, A)
    assert read.status == "ok" and _checks(read.findings) == {"renamed-notebook"}
    (tmp_path / "another.ipynb").write_text(json.dumps(source.release))
    assert read_submission(tmp_path, A).status == "missing"  # two candidates: no guessing


def test_an_old_format_is_converted(tmp_path, source):
    old = nbformat.writes(nbformat.convert(nbformat.from_dict(_copy(source.release)), 3))
    (tmp_path / NAME).write_text(old)
    read = read_submission(tmp_path, A)
    assert read.status == "ok" and read.notebook["nbformat"] == 4
    assert _checks(read.findings) == {"old-format"}
    cells, _ = restore(read.notebook, source)
    assert "grade_sample" in _ids(cells)


# ------------------------------------------------------------------------------ restoring
def test_an_untouched_release_needs_no_repair(source):
    cells, findings = restore(_copy(source.release), source)
    assert [f for f in findings if f.severity != "info"] == []
    grade = cells[_ids(cells).index("grade_rnn_step_forward")]
    assert "BEGIN HIDDEN TESTS" in grade["source"]  # graded from the source, hidden part included


def test_a_deleted_grade_cell_is_restored_where_it_was(source):
    notebook = _copy(source.release)
    notebook["cells"] = [c for c in notebook["cells"]
                         if c["metadata"].get("nbgrader", {}).get("grade_id") != "grade_rnn_forward"]
    cells, findings = restore(notebook, source)
    ids = _ids(cells)
    assert ids.index("grade_rnn_forward") == ids.index("check_rnn_forward") + 1
    assert ("grade_rnn_forward", "deleted-cell") in {(f.cell, f.check) for f in findings}


def test_a_duplicated_grade_cell_is_kept_once_where_its_last_copy_is(source):
    notebook = _copy(source.release)
    grade = _copy(notebook["cells"][_ids(notebook["cells"]).index("grade_rnn_step_forward")])
    notebook["cells"].insert(0, grade)
    cells, findings = restore(notebook, source)
    ids = _ids(cells)
    assert ids.count("grade_rnn_step_forward") == 1
    assert ids.index("grade_rnn_step_forward") > ids.index("rnn_step_forward")
    assert "duplicated-cell" in _checks(findings)


def test_retyped_stripped_and_edited_cells_are_repaired(source):
    notebook = _copy(source.release)
    ids = _ids(notebook["cells"])
    retyped = notebook["cells"][ids.index("grade_sample")]
    retyped.update(cell_type="markdown")
    retyped.pop("outputs"), retyped.pop("execution_count")
    notebook["cells"][ids.index("grade_rnn_forward")]["metadata"] = {}
    notebook["cells"][ids.index("check_rnn_forward")]["source"] = "pass"
    solution = notebook["cells"][ids.index("rnn_step_forward")]
    solution.update(cell_type="raw", source="def rnn_step_forward(*a):\n    return 1\n")
    solution.pop("outputs"), solution.pop("execution_count")
    notebook["cells"].insert(2, nbformat.v4.new_code_cell("100", metadata={"nbgrader": {
        "grade": True, "grade_id": "bonus", "points": 100, "locked": True, "solution": False}}))
    cells, findings = restore(notebook, source)
    by_id = dict(zip(_ids(cells), cells))
    assert by_id["grade_sample"]["cell_type"] == "code"
    assert "grade_rnn_forward" in by_id and by_id["check_rnn_forward"]["source"] != "pass"
    assert by_id["rnn_step_forward"]["cell_type"] == "code"
    assert by_id["rnn_step_forward"]["source"].endswith("return 1\n")  # the student's code stays
    assert "bonus" not in by_id
    assert {"retyped-cell", "metadata-stripped", "changed-cell", "unknown-cell"} <= _checks(findings)


# ------------------------------------------------------------------------------ scanning
def _scan(*sources, course_lines=()):
    cells = [dict(nbformat.v4.new_code_cell(s)) for s in sources]
    return scan(cells, [f"cell {i}" for i in range(len(cells))], [True] * len(cells),
                set(course_lines), "s", A)


@pytest.mark.parametrize("code, check", [
    ("get_ipython().input_transformers_cleanup.append(lambda lines: [])", "ipython-hook"),
    ("get_ipython().events.register('pre_run_cell', print)", "ipython-hook"),
    ("import numpy as np\nnp.allclose = lambda *a, **k: True", "monkeypatch"),
    ("import numpy as np\nsetattr(np, 'isclose', None)", "monkeypatch"),
    ("import sys\nsys.settrace(print)", "interpreter-hook"),
    ("import sys\nsys.modules['autograder'] = None", "interpreter-hook"),
    ("import builtins\nbuiltins.print = None", "builtins"),
    ("open('../../gradebook.db')", "grader-path"),
    ("import subprocess\nsubprocess.run(['ls'])", "process"),
    ("import os\nos._exit(0)", "process"),
    ("exec('x = 1')", "dynamic-code"),
    ("import os\nif os.environ.get('NBGRADER_EXECUTION'):\n    pass", "grading-probe"),
    ("!ls /", "magic"),
])
def test_the_scan_flags_what_could_alter_grading(code, check):
    assert check in _checks(_scan(code))


@pytest.mark.parametrize("code", [
    "import numpy as np\ndef f(x):\n    return np.tanh(x @ x.T)",
    "import sys\nprint('debug', file=sys.stderr)",
    "%timeit sum(range(10))",
    "import matplotlib.pyplot as plt\nplt.rcParams['figure.dpi'] = 80",
])
def test_the_scan_leaves_ordinary_code_alone(code):
    assert [f for f in _scan(code) if f.severity != "info"] == []


def test_lines_the_course_wrote_are_not_the_students(source):
    line = 'length = 80 if os.environ.get("NBGRADER_EXECUTION") else 400  # a small budget when graded'
    assert _scan("import os\n" + line, course_lines=[line]) == []
    assert "grading-probe" in _checks(_scan("import os\n" + line))


# ------------------------------------------------------------------------------ by hand
def _cells(*sources):
    return [dict(nbformat.v4.new_code_cell(s)) for s in sources]


def test_a_function_using_torch_directly_or_through_a_helper_delegates():
    cells = _cells("import numpy as np\nimport torch",
                   "def helper(a):\n    return torch.tanh(torch.from_numpy(a)).numpy()",
                   "def step(x):\n    return helper(x)",
                   "def own(x):\n    return np.tanh(x)",
                   "def inner(x):\n    from autograd import grad\n    return grad(np.sum)(x)")
    found = delegations(cells, ["step", "own", "inner", "undefined"])
    assert set(found) == {"step", "inner"}
    assert found["step"].path == ("step", "helper", "torch")
    assert found["inner"].library.startswith("autograd")
    assert "by hand" in found["step"].message()


def test_a_course_module_built_on_torch_counts_as_torch():
    cells = _cells("from rnncourse.torch_bridge import torch_lstm_forward_backward\n"
                   "from rnncourse.gradcheck import numeric_grad",
                   "def lstm_backward(dh, cache):\n    return torch_lstm_forward_backward(*cache, dh)",
                   "def checked(f, x):\n    return numeric_grad(f, x)")
    found = delegations(cells, ["lstm_backward", "checked"])
    assert set(found) == {"lstm_backward"}


def test_importing_torch_without_using_it_costs_nothing():
    cells = _cells("import torch\nimport numpy as np", "def step(x):\n    # torch.tanh would do\n    return np.tanh(x)")
    assert delegations(cells, ["step"]) == {}



def test_what_the_kernel_reports_becomes_findings():
    report = json.dumps({"hooks": ["input_transformers_cleanup: 1 added"], "patched": ["numpy.allclose"],
                         "events": ["socket.connect", "imported torch"]})
    found = kernel_findings(report, "s", A, "cell 3")
    assert [f.severity for f in found] == ["flag", "flag", "flag", "info"]
    assert kernel_findings(None, "s", A, "cell 3")[0].check == "kernel-silent"


# ------------------------------------------------------------------------------ the wire
def test_plain_data_crosses_both_ways(tmp_path):
    value = (np.arange(6.0).reshape(2, 3), [1, 2**70, float("nan"), None, "s"],
             {"W": np.ones(2, np.float32), 3: np.int64(7)}, object(), np.array([object()]))
    arrays = {}
    tree = {"value": encode(value, arrays), "status": "returned"}
    write_data(tmp_path / "r1", tree, arrays)
    back = read_data(tmp_path / "r1", 1 << 20)["value"]
    assert np.array_equal(back[0], value[0]) and back[1][1] == 2**70 and np.isnan(back[1][2])
    assert back[1][3:] == [None, "s"] and back[2]["W"].dtype == np.float32 and back[2][3] == 7
    assert isinstance(back[3], Opaque) and back[3].type_name == "object"
    assert isinstance(back[4], Opaque)  # an array of objects is not data
    with pytest.raises(ValueError):
        decode({"x": 1}, {})


def test_the_grader_reads_no_link_no_pickle_and_nothing_too_big(tmp_path):
    write_data(tmp_path / "r1", {"value": None}, {"a0": np.zeros(1000)})
    with pytest.raises(ValueError):
        read_data(tmp_path / "r1", 100)
    os.symlink(tmp_path / "r1.json", tmp_path / "r2.json")
    (tmp_path / "r2.bin").write_bytes((tmp_path / "r1.bin").read_bytes())
    with pytest.raises(OSError):
        read_data(tmp_path / "r2", 1 << 20)


@pytest.mark.parametrize("entry, words", [
    (["a0", "|O", [1], 0, 8], "objects"),  # a pickled object is never read
    (["a0", "f8,O", [1], 0, 16], "objects"),
    (["a0", "no such type", [1], 0, 8], "not a dtype"),
    (["a0", "<f8", [2], 0, 8], "does not fit"),  # more elements than bytes
    (["a0", "<f8", [1], 64, 8], "does not fit"),  # past the end of the file
    (["a0", "<f8", [-1], 0, 8], "not plain data"),
    (["a0", "<f8", [1], 0], "not plain data"),
    (["a0", "<f8", [2**62, 4], 0, 0], "does not fit"),  # a shape whose size overflows int64
    (["a0", "V0", [10**12], 0, 0], "empty items"),
])
def test_an_array_described_wrongly_is_refused(tmp_path, entry, words):
    (tmp_path / "r1.bin").write_bytes(np.zeros(2).tobytes())
    (tmp_path / "r1.json").write_text(json.dumps({"tree": {"value": {"a": "a0"}}, "arrays": [entry]}))
    with pytest.raises(ValueError, match=words):
        read_data(tmp_path / "r1", 1 << 20)


def test_arrays_read_back_are_writable_and_keep_their_dtype_shape_and_values(tmp_path):
    arrays = {"a0": np.arange(7, dtype=np.int8), "a1": np.arange(12.0).reshape(3, 4).T,
              "a2": np.zeros((0, 5), np.float32), "a3": np.array(2.5), "a4": np.array(["ab", "c"])}
    write_data(tmp_path / "r1", {"value": {"t": [{"a": key} for key in arrays]}}, arrays)
    back = read_data(tmp_path / "r1", 1 << 20)["value"]
    for given, got in zip(arrays.values(), back):
        assert got.dtype == given.dtype and got.shape == given.shape and np.array_equal(got, given)
        assert got.flags.writeable
    back[0][:] = 0  # a function may write into its inputs: only that array changes
    assert np.array_equal(back[1], arrays["a1"])


def test_inputs_changed_by_the_student_are_written_back():
    given = (np.zeros(3), {"W": np.zeros(2), "gone": 1}, [np.zeros(1)])
    after = (np.ones(3), {"W": np.full(2, 2.0), "new": 5}, [np.full(1, 3.0)])
    synced(given, after)
    assert given[0].tolist() == [1, 1, 1] and given[1] == {"W": given[1]["W"], "new": 5}
    assert given[1]["W"].tolist() == [2, 2] and given[2][0].tolist() == [3]


def test_a_student_exception_keeps_its_name_but_not_its_numbers():
    err = student_exception("ValueError", "x was [0.12345, -1.5e-3, 7]")
    assert type(err).__name__ == "ValueError" and "0.123" not in str(err) and "7" in str(err)
    assert isinstance(student_exception("NotImplementedError", ""), NotImplementedError)
    assert type(plain(Opaque("Weird thing"))).__name__ == "Weirdthing"
