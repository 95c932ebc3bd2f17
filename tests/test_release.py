"""assignments/ is exactly what a fresh release generates from solutions/, with no solution in it."""
import json
from pathlib import Path

import pytest

from autograder.assignments import ASSIGNMENTS
from autograder.reference import COURSE_ROOT
from autograder.release import leaked_solution_lines, release

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def fresh_release(tmp_path_factory):
    out = tmp_path_factory.mktemp("assignments")
    release(sorted(ASSIGNMENTS), out=out, check=False)  # validation runs in the end-to-end test
    return out


def _files(folder: Path):
    return sorted(p.relative_to(folder) for p in folder.rglob("*") if p.is_file())


@pytest.mark.parametrize("assignment", sorted(ASSIGNMENTS))
def test_committed_release_is_up_to_date(assignment, fresh_release):
    committed = COURSE_ROOT / "assignments" / assignment
    generated = fresh_release / assignment
    assert _files(committed) == _files(generated)
    for name in _files(generated):
        assert (committed / name).read_bytes() == (generated / name).read_bytes(), (
            f"assignments/{assignment}/{name} is stale: run `make release`")


@pytest.mark.parametrize("assignment", sorted(ASSIGNMENTS))
def test_no_solution_text_in_the_release(assignment):
    source = json.loads((COURSE_ROOT / "solutions" / assignment / f"{assignment}.ipynb").read_text())
    released = json.loads((COURSE_ROOT / "assignments" / assignment / f"{assignment}.ipynb").read_text())
    assert leaked_solution_lines(source, released) == []
    assert leaked_solution_lines(source, source) != []  # the scan does find solution lines


@pytest.mark.parametrize("assignment", sorted(ASSIGNMENTS))
def test_released_notebooks_have_no_outputs(assignment):
    released = json.loads((COURSE_ROOT / "assignments" / assignment / f"{assignment}.ipynb").read_text())
    for cell in released["cells"]:
        if cell["cell_type"] == "code":
            assert cell["outputs"] == [] and cell["execution_count"] is None
