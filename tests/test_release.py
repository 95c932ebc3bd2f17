"""assignments/ is exactly what a fresh release generates from solutions/, with no solution in it."""
import json
from pathlib import Path

import pytest

from autograder.authoring.release import leaked_solution_lines, release
from autograder.checks import registry
from autograder.layout import REPO

NOTEBOOKS = list(registry.declared())

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def fresh_release(tmp_path_factory):
    out = tmp_path_factory.mktemp("assignments")
    release(NOTEBOOKS, out=out, check=False)  # validation runs in the end-to-end test
    return out


def _files(folder: Path):
    return sorted(p.relative_to(folder) for p in folder.rglob("*") if p.is_file())


@pytest.mark.parametrize("assignment", NOTEBOOKS)
def test_committed_release_is_up_to_date(assignment, fresh_release):
    committed = REPO.release_folder(assignment)
    generated = fresh_release / assignment
    assert _files(committed) == _files(generated)
    for name in _files(generated):
        assert (committed / name).read_bytes() == (generated / name).read_bytes(), (
            f"assignments/{assignment}/{name} is stale: run `make release`")


@pytest.mark.parametrize("assignment", NOTEBOOKS)
def test_no_solution_text_in_the_release(assignment):
    source = json.loads(REPO.solution_notebook(assignment).read_text())
    released = json.loads(REPO.release_notebook(assignment).read_text())
    assert leaked_solution_lines(source, released) == []
    assert leaked_solution_lines(source, source) != []  # the scan does find solution lines


@pytest.mark.parametrize("assignment", NOTEBOOKS)
def test_released_notebooks_have_no_outputs(assignment):
    released = json.loads(REPO.release_notebook(assignment).read_text())
    for cell in released["cells"]:
        if cell["cell_type"] == "code":
            assert cell["outputs"] == [] and cell["execution_count"] is None
