"""Shared fixtures of the course's own tests."""
import matplotlib

matplotlib.use("Agg")  # tests never open a window

import os

import pytest

from autograder.checks.notebooks import vanilla_rnn
from autograder.checks.reference import load_reference
from autograder.notebook.sandbox import isolation


@pytest.fixture(scope="session")
def sandbox_here():
    """Skip a test that needs the sandbox on a machine without one; CI sets
    RNNCOURSE_REQUIRE_SANDBOX=1 (see .ci/run), so there a missing sandbox fails instead."""
    if isolation().mode == "none":
        message = f"no sandbox on this machine: {isolation().reason}"
        if os.environ.get("RNNCOURSE_REQUIRE_SANDBOX"):
            pytest.fail(message + " (RNNCOURSE_REQUIRE_SANDBOX is set)")
        pytest.skip(message)


@pytest.fixture(scope="session")
def ref01():
    """The reference implementations of notebook 01, loaded from the solution notebook."""
    return load_reference(vanilla_rnn.NOTEBOOK.id)
