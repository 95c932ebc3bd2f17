"""Visible checks pass the reference, fail broken code with a message, and match the grader."""
import numpy as np
import pytest

from autograder.assignments import ASSIGNMENTS
from autograder.fixtures import compute_fixture
from rnncourse.checks import CheckFailure
from rnncourse.visible import load_fixture


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_stored_fixtures_equal_what_the_reference_computes_now(assignment):
    stored, fresh = load_fixture(assignment), compute_fixture(assignment)
    assert stored.keys() == fresh.keys(), "run `python -m autograder fixtures`"
    for key in fresh:
        # Not bit for bit: BLAS kernels differ between CPUs in the last bits (seen: 3e-18 on
        # values of 0.1). A stale fixture after an edit to a solution differs by far more.
        assert stored[key].shape == fresh[key].shape, f"{key} is stale: run `python -m autograder fixtures`"
        assert np.allclose(stored[key], fresh[key], rtol=1e-12, atol=1e-14, equal_nan=True), \
            f"{key} is stale: run `python -m autograder fixtures`"


@pytest.mark.parametrize("assignment, name", [(a, e.name) for a in ASSIGNMENTS for e in ASSIGNMENTS[a].exercises])
def test_the_reference_passes_its_visible_check(assignment, name, capsys):
    from autograder.reference import load_reference

    getattr(ASSIGNMENTS[assignment].visible, f"check_{name}")(getattr(load_reference(assignment), name))
    assert "visible checks passed" in capsys.readouterr().out


@pytest.mark.parametrize("assignment, name, mistake",
                         [(a, e.name, m) for a in ASSIGNMENTS for e in ASSIGNMENTS[a].exercises for m in e.mistakes],
                         ids=lambda v: v if isinstance(v, str) else v.hint[:25] if hasattr(v, "hint") else None)
def test_a_broken_variant_fails_its_visible_check_with_a_message(assignment, name, mistake):
    from autograder.reference import load_reference

    check = getattr(ASSIGNMENTS[assignment].visible, f"check_{name}")
    with pytest.raises(CheckFailure) as failure:
        check(mistake.make(load_reference(assignment)))
    assert len(str(failure.value)) > 30  # a sentence that says what is wrong, not a bare assert
