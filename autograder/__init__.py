"""The grader of the rnncourse module: hidden checks, a sandboxed batch grader over nbgrader."""
import sys

# jsonschema (under nbformat) imports rfc3987_syntax, when installed, only to check strings of
# the "iri" format, which no notebook or nbgrader schema uses; the module builds a parser of its
# grammar when imported, 1 to 3 s of CPU at every start of the grader. Marked as absent, it is
# not imported, and jsonschema leaves that one format unchecked.
sys.modules.setdefault("rfc3987_syntax", None)
