"""Grading budgets: when nbgrader runs a notebook, its experiments run small, and say so.

nbgrader sets ``NBGRADER_EXECUTION`` while it executes a notebook. The notebooks then train for
a few steps only, so that grading takes seconds; every printed line and plot title of such a run
carries :data:`BUDGET_NOTE`, so that nobody reads a budget run as the real experiment (a
20-step LSTM that scores 19% on the adding problem is not a broken LSTM).
"""
from __future__ import annotations

import os

__all__ = ["BUDGET_NOTE", "graded", "budget_note"]

BUDGET_NOTE = "grading budget: not the real experiment"


def graded() -> bool:
    """True while nbgrader executes the notebook (``NBGRADER_EXECUTION`` is set and not empty)."""
    return bool(os.environ.get("NBGRADER_EXECUTION"))


def budget_note() -> str:
    """``" (grading budget: not the real experiment)"`` when graded, else ``""``: append it to a title."""
    return f" ({BUDGET_NOTE})" if graded() else ""
