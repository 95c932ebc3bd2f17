"""Each student's feedback page: nbgrader's own template and preprocessors, rendered faster.

nbconvert's ``HTMLExporter`` renders a page, then parses the finished page again with
BeautifulSoup to give images without alternative text a placeholder and to make JupyterLab
template cells focusable, and writes the page out anew. nbgrader's feedback template is the
classic one (no JupyterLab cells), so of that pass only the placeholder matters, yet it took
most of the command's time per feedback page (``bench-class`` shows the command's CPU per
submission). ``FeedbackPage``
renders exactly as ``HTMLExporter`` does and gives the placeholder with a scan of the ``<img>``
tags instead; parsed by the same parser, its page is ``HTMLExporter``'s, character for
character (``tests/test_end_to_end.py`` holds it to that, for every page of the demo).

Most cells are the same in every student's notebook (the text, the provided code, the visible
checks), so ``FeedbackPage`` also highlights each cell's source once per batch of pages rather
than once per page: Pygments' highlighting is most of what is left of a page's time.
"""
from __future__ import annotations

import re

from nbconvert.exporters import HTMLExporter, TemplateExporter
from nbconvert.filters.highlight import Highlight2HTML
from nbconvert.filters.widgetsdatatypefilter import WidgetsDataTypeFilter

NO_ALT = "No description has been provided for this image"  # HTMLExporter's own placeholder
_IMG = re.compile(r"<img\b(?P<attrs>[^>]*?)\s*(?P<close>/?)>", re.IGNORECASE)
_ALT = re.compile(r"(?:^|\s)alt\s*=", re.IGNORECASE)  # not data-alt=


class FeedbackPage(HTMLExporter):
    """``HTMLExporter`` without its second parse of every page, highlighting each source once
    (see the module's docstring)."""

    def from_notebook_node(self, nb, resources=None, **kw):
        # As HTMLExporter.from_notebook_node, up to the page it renders.
        langinfo = nb.metadata.get("language_info", {})
        lexer = langinfo.get("pygments_lexer", langinfo.get("name", None))
        highlight_code = self.filters.get("highlight_code") or self._highlighter(lexer)
        resources = self._init_resources(resources)
        filter_data_type = WidgetsDataTypeFilter(notebook_metadata=self._nb_metadata, parent=self,
                                                 resources=resources)
        self.register_filter("highlight_code", highlight_code)
        self.register_filter("filter_data_type", filter_data_type)
        html, resources = TemplateExporter.from_notebook_node(self, nb, resources, **kw)
        html, missing = with_alt_text(html)
        if missing:
            self.log.warning("Alternative text is missing on %s image(s).", missing)
        return html, resources

    def _highlighter(self, lexer: str | None) -> "HighlightOnce":
        kept = getattr(self, "_highlighters", None)
        if kept is None:
            kept = self._highlighters = {}
        if lexer not in kept:
            kept[lexer] = HighlightOnce(Highlight2HTML(pygments_lexer=lexer, parent=self))
        return kept[lexer]


class HighlightOnce:
    """A highlighting filter that remembers what it has highlighted (up to ``keep`` sources).

    The result of ``Highlight2HTML`` depends on the source, the language and the cell's
    ``magics_language`` only, so those are the key.
    """

    def __init__(self, highlight: Highlight2HTML, keep: int = 4096):
        self.highlight, self.keep = highlight, keep
        self.done: dict[tuple, str] = {}

    def __call__(self, source: str, language: str | None = None, metadata: dict | None = None) -> str:
        key = (source, language, (metadata or {}).get("magics_language"))
        highlighted = self.done.get(key)
        if highlighted is None:
            if len(self.done) >= self.keep:
                self.done.clear()
            highlighted = self.done[key] = self.highlight(source, language, metadata)
        return highlighted


def with_alt_text(html: str) -> tuple[str, int]:
    """``html`` with :data:`NO_ALT` as the alternative text of every ``<img>`` that has none
    (placed last, where BeautifulSoup places it), and how many got it."""
    missing = 0

    def give(match: re.Match) -> str:
        nonlocal missing
        if _ALT.search(match["attrs"]):
            return match[0]
        missing += 1
        return f'<img{match["attrs"]} alt="{NO_ALT}"{match["close"]}>'

    return _IMG.sub(give, html), missing
