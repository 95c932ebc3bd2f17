"""nbgrader configuration of the course.

solutions/ is nbgrader's source directory (the only notebooks anyone edits) and assignments/
its release directory (generated, never edited by hand). Grading commands run this file from
a course folder laid out the same way (see autograder/course.py).
"""
from nbconvert.preprocessors import CSSHTMLHeaderPreprocessor
from nbgrader.preprocessors import ClearHiddenTests, ClearMarkScheme, GetGrades

c = get_config()  # noqa: F821 (provided by nbgrader when it loads this file)

c.CourseDirectory.course_id = "rnncourse"
c.CourseDirectory.source_directory = "solutions"
c.CourseDirectory.release_directory = "assignments"
c.CourseDirectory.ignore = [".ipynb_checkpoints", "*.pyc", "__pycache__"]

# What a student sees in place of a solution: the docstring stays, the body goes.
c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\nraise NotImplementedError()"}

# Limits for one notebook when plain `nbgrader autograde` runs it: no cell may run longer than
# this. The course's own command, `python -m autograder grade`, runs notebooks in a sandbox with
# its own limits (--cell-timeout, --notebook-timeout, --memory) and then calls
# `nbgrader autograde --no-execute`, which records the outputs it wrote without running them.
c.Execute.timeout = 120
c.Execute.interrupt_on_timeout = True

# Feedback shows each grade cell's output (score and diagnosis) but never the hidden part of
# its source, nor the rubric of a written question.
c.GenerateFeedback.preprocessors = [GetGrades, ClearHiddenTests, ClearMarkScheme, CSSHTMLHeaderPreprocessor]

# Written questions: the rubric sits in the read-only question cell between
# "=== BEGIN MARK SCHEME ===" and "=== END MARK SCHEME ===". nbgrader removes such regions from
# the release but accepts them only in "manually graded task" cells unless told otherwise; in a
# read-only cell the gradebook keeps the full source, so the grader restores the rubric into the
# autograded notebook and the TA sees it in formgrader. Feedback leaves it out.
c.ClearMarkScheme.enforce_metadata = False
