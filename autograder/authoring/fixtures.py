"""The expected outputs of the visible checks, computed from the reference implementations.

``python -m autograder fixtures`` rewrites ``rnncourse/fixtures/<assignment>.npz`` (packed and
compressed: ``rnncourse.visible.pack_fixture``); a test recomputes them and fails if the stored
files are stale.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

import rnncourse
from autograder.checks import registry
from autograder.checks.reference import load_reference
from rnncourse.visible import pack_fixture

FIXTURE_DIR = Path(rnncourse.__file__).parent / "fixtures"


def compute_fixture(assignment_id: str) -> dict[str, np.ndarray]:
    """The expected outputs of ``assignment_id``'s visible checks, from its reference."""
    notebook = registry.get(assignment_id)
    reference = load_reference(assignment_id)
    values = notebook.visible.fixture_values(reference)
    if notebook.visible_mistakes is not None:
        values = {**values, **notebook.visible_mistakes(reference)}
    return {key: np.asarray(value) for key, value in values.items()}


def write_fixture(assignment_id: str, folder: Path = FIXTURE_DIR) -> Path:
    """Compute and store the fixture of ``assignment_id``; returns the file written."""
    path = Path(folder) / f"{assignment_id}.npz"
    np.savez_compressed(path, **pack_fixture(compute_fixture(assignment_id)))
    return path
