"""The expected outputs of the visible checks, computed from the reference implementations.

``python -m autograder fixtures`` rewrites ``rnncourse/fixtures/<assignment>.npz``; a test
recomputes them and fails if the stored files are stale.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

import rnncourse

from .assignments import get
from .reference import load_reference

FIXTURE_DIR = Path(rnncourse.__file__).parent / "fixtures"


def compute_fixture(assignment_id: str) -> dict[str, np.ndarray]:
    """The expected outputs of ``assignment_id``'s visible checks, from its reference."""
    assignment = get(assignment_id)
    values = assignment.visible.fixture_values(load_reference(assignment_id))
    # the outputs of the named mistakes, for visible checks that name them (06 has them)
    if hasattr(assignment.checks, "visible_mistakes"):
        values.update(assignment.checks.visible_mistakes(load_reference(assignment_id)))
    return {key: np.asarray(value) for key, value in values.items()}


def write_fixture(assignment_id: str, folder: Path = FIXTURE_DIR) -> Path:
    """Compute and store the fixture of ``assignment_id``; returns the file written."""
    path = Path(folder) / f"{assignment_id}.npz"
    np.savez(path, **compute_fixture(assignment_id))
    return path
