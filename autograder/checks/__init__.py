"""Hidden checks: the framework (``framework.py``), one declaration per notebook
(``notebooks/``, discovered by ``registry.py``), and the reference implementations compiled from
the solution notebooks (``reference.py``)."""
from autograder.checks.registry import grade

__all__ = ["grade"]
