"""The contract every declared notebook keeps, tested for each with no edit here.

A notebook is in the course when ``solutions/<id>/`` holds it and ``autograder/checks/notebooks/``
declares it; every test below is parametrized over the declarations, so a new notebook is
covered the moment it is declared. The end to end part (the sample class through real
nbgrader) is in ``test_end_to_end.py``, parametrized the same way.
"""
import ast
import copy
import json
import re
import subprocess
import sys

import numpy as np
import pytest

from autograder.authoring import generated, provided
from autograder.authoring.fixtures import compute_fixture
from autograder.authoring.release import SOLUTION_REGION
from autograder.cells import grade_id, solution_sources
from autograder.checks import gradecell, registry
from autograder.checks.framework import check, grade
from autograder.checks.reference import load_reference
from autograder.checks.samples import in_float32
from autograder.layout import REPO
from autograder.notebook.remote import _encoded
from rnncourse.compare import CheckFailure
from rnncourse.visible import load_fixture

NOTEBOOKS = list(registry.declared())
EXERCISES = [(n, e.name) for n in NOTEBOOKS for e in registry.get(n).exercises]
MISTAKES = [(n, e.name, i) for n, name in EXERCISES for e in [registry.get(n).exercise(name)]
            for i in range(len(e.mistakes))]
# the exercises whose function calls other graded functions of the student's, and their mistakes
CALLERS = [(n, name) for n, name in EXERCISES if registry.get(n).exercise(name).calls]
CALLER_MISTAKES = [(n, name, i) for n, name, i in MISTAKES if (n, name) in CALLERS]
# the exercises that declare every call of a case, for the grader to send ahead
AHEAD = [(n, name) for n, name in EXERCISES if registry.get(n).exercise(name).calls_ahead]


def _id(value):
    return value if isinstance(value, str) else str(value)


def _notebook(notebook_id):
    return json.loads(REPO.solution_notebook(notebook_id).read_text())


def _exercise(notebook_id, name):
    return registry.get(notebook_id).exercise(name)


# ------------------------------------------------------------------ the registry and solutions/
def test_every_solution_notebook_is_declared_and_every_declaration_has_a_notebook():
    folders = sorted(p.name for p in (REPO.root / "solutions").iterdir() if p.is_dir())
    assert folders == NOTEBOOKS, ("a notebook in solutions/ needs a declaration in "
                                  "autograder/checks/notebooks/, and a declaration a notebook")
    for notebook_id in NOTEBOOKS:
        assert REPO.solution_notebook(notebook_id).is_file()


@pytest.mark.parametrize("notebook_id", NOTEBOOKS)
def test_a_grade_cell_loads_its_own_declaration_only(notebook_id):
    # plain nbgrader runs the hidden call in the student's kernel: loading every declaration
    # there (PyTorch with 05's) once doubled its time per notebook
    probe = (f"import sys; from autograder.checks import registry; registry.get({notebook_id!r}); "
             "print(sorted(m.rsplit('.', 1)[1] for m in sys.modules if m.startswith('autograder.checks.notebooks.')))")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True, cwd=REPO.root)
    assert done.stdout.split() == [repr([notebook_id.partition("_")[2]])]


def test_an_unknown_notebook_is_a_clear_error():
    with pytest.raises(registry.UnknownNotebook, match="unknown assignment '07_nope'; the course has 01_"):
        registry.get("07_nope")


@pytest.mark.parametrize("notebook_id", NOTEBOOKS)
def test_generated_cells_are_up_to_date(notebook_id):
    assert not generated.expand(_notebook(notebook_id), notebook_id), \
        "run `python -m autograder release` to refresh the grade and provided cells"


@pytest.mark.parametrize("notebook_id", NOTEBOOKS)
def test_the_declared_provided_notebooks_are_the_provided_cells(notebook_id):
    assert provided.provided_from(_notebook(notebook_id)) == list(registry.get(notebook_id).provided_from)


@pytest.mark.parametrize("notebook_id", NOTEBOOKS)
def test_each_exercise_is_a_solution_then_its_visible_check_then_its_grade_cell(notebook_id):
    notebook = _notebook(notebook_id)
    ids = [grade_id(c) for c in notebook["cells"]]
    declaration = registry.get(notebook_id)
    assert set(solution_sources(notebook)) == {e.name for e in declaration.exercises}
    for exercise in declaration.exercises:
        at = ids.index(exercise.name)
        assert ids[at + 1: at + 3] == [f"check_{exercise.name}", gradecell.grade_id(exercise.name)]
        grade_cell = notebook["cells"][at + 2]
        call, _ = gradecell.parse("".join(grade_cell["source"]))
        assert (call.notebook, call.exercise, call.argument, call.helpers) == (
            notebook_id, exercise.name, gradecell.argument(exercise.name, exercise.adapter),
            exercise.calls)
        assert grade_cell["metadata"]["nbgrader"]["points"] == exercise.points
        assert hasattr(declaration.visible, f"check_{exercise.name}")


@pytest.mark.parametrize("notebook_id", NOTEBOOKS)
def test_reference_functions_are_the_solution_cells_with_docstrings_outside_the_solution(notebook_id):
    reference = load_reference(notebook_id)
    for name, source in solution_sources(_notebook(notebook_id)).items():
        function = getattr(reference, name)
        assert function.__code__.co_filename.endswith(f"[{name}]")  # the cell's own code
        tree = ast.parse(source).body[0]
        assert tree.name == name and ast.get_docstring(tree), f"{name} has no docstring"
        region = SOLUTION_REGION.search(source)
        assert region and '"""' not in region.group(1), f"{name}: docstring inside the solution"


# ------------------------------------------------------------------ hidden checks
@pytest.mark.parametrize("notebook_id, name", EXERCISES, ids=_id)
def test_the_reference_earns_exactly_full_marks(notebook_id, name, capsys):
    exercise = _exercise(notebook_id, name)
    assert grade(exercise, getattr(load_reference(notebook_id), name)) == exercise.points
    assert capsys.readouterr().err == ""  # nbgrader gives zero to a grade cell that writes to stderr


@pytest.mark.parametrize("notebook_id, name, index", MISTAKES, ids=_id)
def test_each_named_mistake_loses_points_and_is_named(notebook_id, name, index):
    exercise = _exercise(notebook_id, name)
    mistake = exercise.mistakes[index]
    report = check(exercise, mistake.make(load_reference(notebook_id)))
    assert report.passed < report.total
    feedback = report.feedback()
    # A NaN names the overflow itself; every other mistake must be recognised by its hint.
    assert mistake.hint in feedback or "NaN" in feedback, feedback
    # sizes, indices and the case's label are fine; a decimal number would be a hidden input
    # or output
    said = re.sub(r"\[[^\]]*\]", "", "\n".join(report.problems))
    assert not re.search(r"\d\.\d", said), report.problems


@pytest.mark.parametrize("notebook_id, name", EXERCISES, ids=_id)
def test_calls_names_every_graded_function_the_reference_calls(notebook_id, name):
    # a sequence function is graded over the student's own helpers only if it declares them
    declaration = registry.get(notebook_id)
    function = getattr(load_reference(notebook_id), name)
    codes = [function.__code__, *(c for c in function.__code__.co_consts if hasattr(c, "co_names"))]
    called = {n for code in codes for n in code.co_names} & {e.name for e in declaration.exercises}
    assert set(declaration.exercise(name).calls) == called - {name}


@pytest.mark.parametrize("notebook_id, name", CALLERS, ids=_id)
def test_the_reference_over_the_reference_helpers_earns_full_marks_and_no_blame(notebook_id, name):
    exercise, reference = _exercise(notebook_id, name), load_reference(notebook_id)
    report = check(exercise, getattr(reference, name), [getattr(reference, c) for c in exercise.calls])
    assert report.passed == report.total and report.own.passed_over == 0 and not report.own.wrong
    assert "your own" not in report.feedback() and "because of your" not in report.feedback()


class _Recording:
    """A function that records the inputs of each call (as the grader's stand-in, an object)."""

    def __init__(self, fn):
        self.fn, self.__name__, self.inputs = fn, fn.__name__, []

    def __call__(self, *args, **kwargs):
        self.inputs.append(_encoded(args, kwargs)[2])
        return self.fn(*args, **kwargs)


@pytest.mark.parametrize("notebook_id, name", AHEAD, ids=_id)
def test_the_calls_sent_ahead_are_every_call_the_check_makes(notebook_id, name):
    # a call the declaration misses costs a round trip to the kernel of its own; a call it
    # adds runs the student's function once more for nothing
    exercise, reference = _exercise(notebook_id, name), load_reference(notebook_id)
    helpers = {helper: getattr(reference, helper) for helper in exercise.calls}
    for case in exercise.make_cases(np.random.default_rng(exercise.seed)):
        ahead = [_encoded(args, {})[2] for args in exercise.calls_ahead(case.args)]
        alone, over_own = _Recording(getattr(reference, name)), _Recording(getattr(reference, name))
        exercise.call(alone, copy.deepcopy(case.args))
        if exercise.call_over_own:
            exercise.call_over_own(over_own, copy.deepcopy(case.args), helpers)
            assert over_own.inputs == ahead, case.label
        assert alone.inputs == ahead, case.label
        assert len(ahead) > 1


@pytest.mark.parametrize("notebook_id, name, index", CALLER_MISTAKES, ids=_id)
def test_each_named_mistake_over_correct_helpers_still_loses_points_and_is_named(notebook_id, name, index):
    # handed the correct helpers, a mistake of the function itself (or of a helper shown
    # through it, when the student's function calls a broken copy) is still charged and named
    exercise = _exercise(notebook_id, name)
    reference = load_reference(notebook_id)
    mistake = exercise.mistakes[index]
    report = check(exercise, mistake.make(reference), [getattr(reference, c) for c in exercise.calls])
    assert report.passed < report.total
    assert mistake.hint in report.feedback() or "NaN" in report.feedback(), report.feedback()


def test_a_grade_cell_handing_the_wrong_number_of_helpers_is_a_clear_error():
    notebook_id, name = CALLERS[0]
    exercise = _exercise(notebook_id, name)
    fn = getattr(load_reference(notebook_id), name)
    with pytest.raises(TypeError, match=f"{name} is graded with the functions it calls"):
        check(exercise, fn, [fn] * (len(exercise.calls) + 1))


@pytest.mark.parametrize("notebook_id, name", EXERCISES, ids=_id)
def test_a_stub_earns_zero_and_is_called_not_implemented(notebook_id, name):
    def stub(*args, **kwargs):
        raise NotImplementedError()

    report = check(_exercise(notebook_id, name), stub)
    assert report.passed == 0 and report.score == 0
    assert f"{name} is not implemented yet" in report.feedback()


@pytest.mark.parametrize("notebook_id, name", EXERCISES, ids=_id)
def test_the_solution_computed_in_float32_earns_full_marks(notebook_id, name):
    namespace = dict(vars(load_reference(notebook_id)))
    for other, source in solution_sources(_notebook(notebook_id)).items():  # calling each other
        exec(compile(in_float32(source), f"float32 {other}", "exec"), namespace)
    report = check(_exercise(notebook_id, name), namespace[name])
    assert report.passed == report.total, report.feedback()


@pytest.mark.parametrize("notebook_id, name", EXERCISES, ids=_id)
def test_cases_are_the_same_for_every_run_and_include_the_smallest_sizes(notebook_id, name):
    exercise = _exercise(notebook_id, name)
    first = exercise.make_cases(np.random.default_rng(exercise.seed))
    second = exercise.make_cases(np.random.default_rng(exercise.seed))
    assert len(first) == len(second) >= 3
    for a, b in zip(first, second):
        assert a.label == b.label
        assert all(np.array_equal(x, y, equal_nan=x.dtype.kind == "f")
                   for x, y in zip(_leaves(a.args), _leaves(b.args)))
    sizes = [case.dims for case in first]
    for letter in ("N", "T"):  # a batch of one and a sequence of one step, where they exist
        if any(letter in dims for dims in sizes):
            assert any(dims.get(letter) == 1 for dims in sizes), f"no case with {letter}=1"


def _leaves(value):
    if isinstance(value, dict):
        for item in value.values():
            yield from _leaves(item)
    elif isinstance(value, (tuple, list)):
        for item in value:
            yield from _leaves(item)
    elif hasattr(value, "to_data"):  # a course object that crosses to the kernel as its data
        yield from _leaves(value.to_data())
    elif isinstance(value, np.random.Generator):  # the same draws ahead: the same state
        yield np.asarray(json.dumps(value.bit_generator.state, sort_keys=True, default=str))
    else:
        yield np.asarray(value)


# ------------------------------------------------------------------ visible checks
@pytest.mark.parametrize("notebook_id", NOTEBOOKS)
def test_stored_fixtures_equal_what_the_reference_computes_now(notebook_id):
    stored, fresh = load_fixture(notebook_id), compute_fixture(notebook_id)
    assert stored.keys() == fresh.keys(), "run `python -m autograder fixtures`"
    for key in fresh:
        # Not bit for bit: BLAS kernels differ between CPUs in the last bits (seen: 3e-18 on
        # values of 0.1). A stale fixture after an edit to a solution differs by far more.
        assert stored[key].shape == fresh[key].shape, f"{key} is stale: run `python -m autograder fixtures`"
        if fresh[key].dtype.kind == "U":  # a named mistake's hint
            assert np.array_equal(stored[key], fresh[key]), f"{key} is stale: run `python -m autograder fixtures`"
            continue
        assert np.allclose(stored[key], fresh[key], rtol=1e-12, atol=1e-14, equal_nan=True), \
            f"{key} is stale: run `python -m autograder fixtures`"


@pytest.mark.parametrize("notebook_id, name", EXERCISES, ids=_id)
def test_the_reference_passes_its_visible_check(notebook_id, name, capsys):
    visible = registry.get(notebook_id).visible
    getattr(visible, f"check_{name}")(getattr(load_reference(notebook_id), name))
    assert "visible checks passed" in capsys.readouterr().out


@pytest.mark.parametrize("notebook_id, name, index", MISTAKES, ids=_id)
def test_each_named_mistake_fails_its_visible_check_with_a_message(notebook_id, name, index):
    mistake = _exercise(notebook_id, name).mistakes[index]
    check_visibly = getattr(registry.get(notebook_id).visible, f"check_{name}")
    with pytest.raises(CheckFailure) as failure:
        check_visibly(mistake.make(load_reference(notebook_id)))
    assert len(str(failure.value)) > 30  # a sentence that says what is wrong, not a bare assert
