"""The feedback page renderer (``batch/feedback.py``) against what nbconvert's HTMLExporter does
to a page; whole pages are compared with nbgrader's own in ``test_end_to_end.py``."""
from bs4 import BeautifulSoup
from nbconvert.filters.highlight import Highlight2HTML

from autograder.batch.feedback import NO_ALT, HighlightOnce, with_alt_text

PAGE = """<html><body>
<p>Text <img src="a.png"> and <IMG SRC="b.png" ALT="a plot"/> and <img src="c.png" alt=""></p>
<div><img
  src="data:image/png;base64,AAAA"
  width="20" /></div>
<pre>&lt;img src="not a tag"&gt; <imgx src="x"></pre>
<img data-alt="not alt text" src="d.png">
</body></html>"""


def _soup_pass(html: str) -> str:
    """What HTMLExporter.from_notebook_node does to a rendered page (nbconvert 7)."""
    soup = BeautifulSoup(html, features="html.parser")
    for elem in soup.select("img:not([alt])"):
        elem.attrs["alt"] = NO_ALT
    return str(soup)


def test_images_without_alt_text_get_nbconverts_placeholder():
    html, missing = with_alt_text(PAGE)
    assert missing == 3
    assert html.count(NO_ALT) == 3 and 'ALT="a plot"' in html and 'alt=""' in html
    assert str(BeautifulSoup(html, features="html.parser")) == _soup_pass(PAGE)


def test_a_page_without_images_is_left_alone():
    page = "<p>no images here, only &lt;img&gt; as text</p>"
    assert with_alt_text(page) == (page, 0)


def test_each_source_is_highlighted_once():
    calls = []

    class Counting(Highlight2HTML):
        def __call__(self, source, language=None, metadata=None):
            calls.append(source)
            return super().__call__(source, language, metadata)

    plain, once = Highlight2HTML(pygments_lexer="ipython3"), HighlightOnce(Counting(pygments_lexer="ipython3"), keep=2)
    for source in ["x = 1", "x = 1", "def f(): pass", "x = 1"]:
        assert once(source, metadata={}) == plain(source, metadata={})
    assert calls == ["x = 1", "def f(): pass"]
    sql = {"magics_language": "sql"}
    assert once("select 1", metadata=sql) == plain("select 1", metadata=sql)
    assert once("select 1", metadata={}) == plain("select 1", metadata={})  # another key
    assert calls[2:] == ["select 1", "select 1"]
    assert len(once.done) <= 2  # forgets past ``keep``
