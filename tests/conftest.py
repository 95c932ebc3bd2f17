"""Shared fixtures of the course's own tests."""
import matplotlib

matplotlib.use("Agg")  # tests never open a window

import pytest

from autograder.reference import load_reference


@pytest.fixture(scope="session")
def ref01():
    """The reference implementations of notebook 01, loaded from the solution notebook."""
    return load_reference("01_vanilla_rnn")
