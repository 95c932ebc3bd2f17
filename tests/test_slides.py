"""The slide decks: their sources, and the built HTML opened in headless Chromium, offline.

The browser tests open every deck of ``build/slides/`` (built once per session by
``slides.build`` when a deck is missing or older than its sources) in Debian's chromium, driven
by Playwright, with every request that is not a ``file://`` URL blocked and counted as a failure.
On every slide they check that the math is typeset, that nothing overflows the frame, that
images load and links lead somewhere; a screenshot of each deck's first slide is written to
``build/slides/shots/``.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
from pathlib import Path

import nbformat
import pytest

from autograder.checks import registry
from slides import build

ROOT = Path(__file__).resolve().parents[1]
DECKS = build.deck_names()
REQUIRED = ["00_overview", "01_vanilla_rnn", "02_bptt", "03_lstm"]
SLIDE_TYPES = {"slide", "subslide", "fragment", "-", "notes", "skip"}
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]


def _deck(name: str) -> nbformat.NotebookNode:
    return nbformat.read(build.SLIDES / f"{name}.ipynb", as_version=4)


def _graded_functions() -> list[str]:
    """The name of every graded function: the exercises of every declared notebook."""
    return [exercise.name for notebook in registry.declared().values() for exercise in notebook.exercises]


def _solution_lines() -> set[str]:
    """Every line of code between the solution markers of the solution notebooks (long ones only)."""
    lines = set()
    for path in (ROOT / "solutions").glob("*/*.ipynb"):
        for cell in nbformat.read(path, as_version=4).cells:
            if not cell.metadata.get("nbgrader", {}).get("solution"):
                continue
            inside = False
            for line in cell.source.splitlines():
                if "### BEGIN SOLUTION" in line:
                    inside = True
                elif "### END SOLUTION" in line:
                    inside = False
                elif inside and len(line.strip()) >= 25:  # short lines (`return h, cache`) are not telling
                    lines.add(line.strip())
    return lines


# --- the sources ------------------------------------------------------------------------------

def test_the_required_decks_exist():
    assert set(REQUIRED) <= set(DECKS), f"decks: {DECKS}"


@pytest.mark.parametrize("name", DECKS)
def test_every_cell_has_slideshow_metadata_and_no_output(name):
    for k, cell in enumerate(_deck(name).cells):
        slide_type = cell.metadata.get("slideshow", {}).get("slide_type")
        assert slide_type in SLIDE_TYPES, f"cell {k} of {name} has slide_type {slide_type!r}"
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None, \
                f"cell {k} of {name} is committed with outputs: clear them"
    assert _deck(name).cells[0].metadata["slideshow"]["slide_type"] in {"skip", "slide"}


@pytest.mark.parametrize("name", DECKS)
def test_every_slide_has_speaker_notes(name):
    slides, with_notes = 0, 0
    has_notes = False
    for cell in _deck(name).cells:
        slide_type = cell.metadata["slideshow"]["slide_type"]
        if slide_type == "slide":
            slides += 1
            with_notes += has_notes
            has_notes = False
        has_notes = has_notes or slide_type == "notes"
    with_notes += has_notes
    assert slides >= 3 and with_notes == slides, f"{name}: {slides} slides, {with_notes} with notes"


@pytest.mark.parametrize("name", DECKS)
def test_a_deck_links_to_its_notebook(name):
    """A deck NN_topic links to assignments/NN_topic/NN_topic.ipynb once that notebook exists;
    the overview links to every notebook that exists."""
    text = "\n".join(cell.source for cell in _deck(name).cells if cell.cell_type == "markdown")
    notebooks = sorted(p.relative_to(ROOT).as_posix() for p in (ROOT / "assignments").glob("*/*.ipynb"))
    expected = notebooks if name == "00_overview" else [n for n in notebooks if Path(n).stem == name]
    if name != "00_overview" and name[:2] in {"01", "02", "03"}:
        assert expected, f"the notebook of {name} is missing from assignments/"
    for notebook in expected:
        assert f"](../{notebook})" in text, f"{name} does not link to {notebook}"


def test_no_deck_holds_a_graded_function_or_a_line_of_a_solution():
    graded = _graded_functions()
    assert len(graded) >= 16  # 6 + 6 + 4 exercises in notebooks 01 to 03
    solution_lines = _solution_lines()
    assert solution_lines
    for name in DECKS:
        code = "\n".join(cell.source for cell in _deck(name).cells)
        for function in graded:
            assert not re.search(rf"\bdef\s+{function}\b", code), f"{name} defines {function}"
        leaked = [line for line in solution_lines if line in code]
        assert not leaked, f"{name} holds solution lines: {leaked[:3]}"


def test_the_browser_libraries_are_pinned_exactly():
    package = json.loads((build.SLIDES / "package.json").read_text())
    lock = json.loads((build.SLIDES / "package-lock.json").read_text())
    for library, version in package["dependencies"].items():
        assert re.fullmatch(r"\d+\.\d+\.\d+", version), f"{library} is not pinned: {version}"
        assert lock["packages"][f"node_modules/{library}"]["version"] == version
        assert lock["packages"][f"node_modules/{library}"]["integrity"].startswith("sha512-")


def test_links_written_for_slides_are_rewritten_for_the_build_folder():
    body = ('<a href="../assignments/01_vanilla_rnn/01_vanilla_rnn.ipynb">nb</a> '
            '<a href="02_bptt.ipynb#/3">deck</a> <a href="#Title">anchor</a> '
            '<link href="vendor/reveal.js/dist/reveal.css" rel="stylesheet"/>')
    out = build.OUT
    fixed = build._rewrite_links(body, out)
    assert 'href="../../assignments/01_vanilla_rnn/01_vanilla_rnn.ipynb"' in fixed
    assert 'href="02_bptt.html#/3"' in fixed
    assert 'href="#Title"' in fixed and 'href="vendor/reveal.js/dist/reveal.css"' in fixed


# --- the built decks in a browser -----------------------------------------------------------

def _stale(name: str) -> bool:
    target = build.OUT / f"{name}.html"
    if not target.is_file():
        return True
    sources = [build.SLIDES / f"{name}.ipynb", build.SLIDES / "build.py", build.SLIDES / "experiments.py",
               build.TEMPLATES / "rnnslides" / "index.html.j2", ROOT / "rnncourse" / "figures.py"]
    return any(source.stat().st_mtime > target.stat().st_mtime for source in sources)


@pytest.fixture(scope="session")
def built_decks() -> Path:
    """build/slides/, with every deck built from its current sources (built here if needed)."""
    if not (build.NODE_MODULES / "reveal.js").is_dir():
        message = "reveal.js and MathJax are not installed: run `make setup` (npm ci in slides/)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    stale = [name for name in DECKS if _stale(name)]
    if stale or not (build.OUT / build.VENDOR).is_dir():
        build.build(stale, log=lambda *_: None)
    build.write_index()
    return build.OUT


@pytest.fixture(scope="session")
def browser_context():
    """A headless Chromium (Debian's) with a fresh profile; fails in CI if there is none."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        sync_playwright = None
    if sync_playwright is None or not Path(CHROMIUM).is_file():
        message = f"no {CHROMIUM} or no playwright: run `make setup`"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    profile = tempfile.mkdtemp(prefix="rnncourse-chromium-")
    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            profile, executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True,
            viewport={"width": build.WIDTH, "height": build.HEIGHT}, service_workers="block",
        )
        yield context
        context.close()
    shutil.rmtree(profile, ignore_errors=True)


class Offline:
    """A page that may load only file:// URLs; every other request is aborted and recorded."""

    def __init__(self, context):
        self.page = context.new_page()
        self.blocked, self.errors = [], []
        self.page.route("**/*", self._route)
        self.page.on("console", lambda m: m.type == "error" and self.errors.append(m.text))
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.on("requestfailed", lambda r: r.url.startswith("file:") and self.errors.append(
            f"failed to load {r.url}"))

    def _route(self, route):
        if route.request.url.startswith("file://"):
            route.continue_()
        else:
            self.blocked.append(route.request.url)
            route.abort()


# Run in the page for the current slide: what is wrong with it, as a list of strings.
_CHECK_SLIDE = """
([width, height]) => {
  const slide = Reveal.getCurrentSlide();
  const problems = [];
  const clone = slide.cloneNode(true);
  clone.querySelectorAll('aside.notes, mjx-container, script, style').forEach(e => e.remove());
  const text = clone.textContent;
  for (const raw of ['$', '\\\\(', '\\\\)', '\\\\[', '\\\\]']) {
    if (text.includes(raw)) problems.push(`raw ${raw} left in the text: ` +
        text.slice(Math.max(0, text.indexOf(raw) - 40), text.indexOf(raw) + 40).replace(/\\s+/g, ' '));
  }
  if (slide.querySelector('mjx-merror, [data-mjx-error]')) problems.push('MathJax reports an error');
  if (slide.scrollHeight > height + 1) problems.push(`content height ${slide.scrollHeight} > ${height}`);
  if (slide.scrollWidth > width + 1) problems.push(`content width ${slide.scrollWidth} > ${width}`);
  for (const e of slide.querySelectorAll('*')) {
    if (e.closest('aside.notes, mjx-assistive-mml')) continue;  // not shown; MathML is clipped on purpose
    const what = `${e.tagName}.${e.className}`;
    if (e.scrollWidth > e.clientWidth + 1 && getComputedStyle(e).overflowX !== 'visible'
        && e.clientWidth > 0) problems.push(`${what} scrolls sideways (${e.scrollWidth} > ${e.clientWidth})`);
    if (e.scrollHeight > e.clientHeight + 1 && getComputedStyle(e).overflowY !== 'visible'
        && e.clientHeight > 0) problems.push(`${what} scrolls (${e.scrollHeight} > ${e.clientHeight})`);
  }
  for (const img of slide.querySelectorAll('img')) {
    if (!img.complete || img.naturalWidth === 0) problems.push(`image not loaded: ${img.src.slice(0, 60)}`);
  }
  return problems;
}
"""


def _open(context, path: Path) -> Offline:
    offline = Offline(context)
    offline.page.goto(path.as_uri())
    return offline


@pytest.mark.parametrize("name", DECKS)
def test_deck_in_a_browser(name, built_decks, browser_context):
    deck = built_decks / f"{name}.html"
    offline = _open(browser_context, deck)
    page = offline.page
    page.wait_for_function("window.Reveal && Reveal.isReady()", timeout=30_000)
    page.wait_for_function("window.MathJax && MathJax.startup && MathJax.startup.promise", timeout=30_000)
    page.evaluate("MathJax.startup.promise")
    shots = built_decks / "shots"
    shots.mkdir(exist_ok=True)
    page.screenshot(path=str(shots / f"{name}.png"))

    indices = page.evaluate("Reveal.getSlides().map(s => { const i = Reveal.getIndices(s); return [i.h, i.v || 0]; })")
    assert len(indices) >= 3, f"{name} has {len(indices)} slides"
    problems = {}
    for k, (h, v) in enumerate(indices):
        page.evaluate(f"Reveal.slide({h}, {v}, 1000)")  # 1000: every fragment shown
        found = page.evaluate(_CHECK_SLIDE, [build.WIDTH, build.HEIGHT])
        if found:
            problems[f"slide {k + 1}"] = found
    assert not problems, f"{name}: {problems}"

    hrefs = page.evaluate("[...document.querySelectorAll('a[href]')].map(a => a.getAttribute('href'))")
    ids = set(page.evaluate("[...document.querySelectorAll('[id]')].map(e => e.id)"))
    broken = []
    for href in hrefs:
        target, _, anchor = href.partition("#")
        if re.match(r"^[a-z]+:", target):
            broken.append(f"{href} (a link off this machine)")
        elif target:
            if not (deck.parent / target).exists():
                broken.append(href)
        elif not anchor.startswith("/") and anchor not in ids:
            broken.append(href)
    assert not broken, f"{name}: broken links {broken}"
    assert not offline.blocked, f"{name} tried the network: {offline.blocked}"
    assert not offline.errors, f"{name}: console errors {offline.errors}"
    page.close()


def test_index_lists_every_deck(built_decks, browser_context):
    offline = _open(browser_context, built_decks / "index.html")
    hrefs = offline.page.evaluate("[...document.querySelectorAll('a[href]')].map(a => a.getAttribute('href'))")
    assert hrefs == [f"{name}.html" for name in DECKS]
    assert all((built_decks / href).is_file() for href in hrefs)
    assert not offline.blocked and not offline.errors
    offline.page.close()
