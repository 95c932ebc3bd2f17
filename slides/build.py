"""Build every slide deck of ``slides/`` into self-contained HTML under ``build/slides/``.

    python -m slides.build              # every deck, then index.html
    python -m slides.build 01_vanilla_rnn 02_bptt   # only these decks (and index.html)

A deck is a notebook ``slides/NN_topic.ipynb`` whose cells carry Jupyter's slideshow metadata
(``cell.metadata.slideshow.slide_type``). Each deck is executed (so that its figures are
computed now, by ``rnncourse`` and the reference implementations, and embedded as images),
then exported with nbconvert's reveal.js exporter through the course's template
(``slides/template/rnnslides``), with every code input left out: a deck shows text, math,
figures and printed results, never code. reveal.js and MathJax come from ``slides/node_modules``
(installed by ``npm ci`` at the versions of ``slides/package-lock.json``) and are copied to
``build/slides/vendor/``, so that a deck opens without the network.
"""
from __future__ import annotations

import argparse
import html
import os
import re
import shutil
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbconvert import SlidesExporter

SLIDES = Path(__file__).resolve().parent
ROOT = SLIDES.parent
OUT = ROOT / "build" / "slides"
NODE_MODULES = SLIDES / "node_modules"
TEMPLATES = SLIDES / "template"
VENDOR = "vendor"  # the folder beside the decks that holds reveal.js and MathJax
DECK_NAME = re.compile(r"^\d\d_[a-z0-9_]+$")

# What is copied from node_modules into build/slides/vendor: (source, target) inside each.
VENDOR_FILES = [
    ("reveal.js/dist", "reveal.js/dist"),
    ("reveal.js/plugin/notes", "reveal.js/plugin/notes"),
    ("reveal.js/LICENSE", "reveal.js/LICENSE"),
    ("mathjax/es5/tex-svg-full.js", "mathjax/tex-svg-full.js"),
    ("mathjax/LICENSE", "mathjax/LICENSE"),
]

# The slide frame, in CSS pixels; reveal.js scales it to the window.
WIDTH, HEIGHT = 1280, 720

DECK_CSS = """
.reveal .slides { text-align: left; }
.reveal .slides section { padding: 0; }
.reveal .jp-RenderedHTMLCommon { font-size: 26px; line-height: 1.4; padding-right: 0; }
.reveal .slides h1, .reveal .slides h2, .reveal .slides h3 { text-transform: none; }
.reveal .jp-RenderedHTMLCommon h1 { font-size: 46px; margin-bottom: 0.5em; }
.reveal .jp-RenderedHTMLCommon h2 { font-size: 38px; margin-bottom: 0.4em; }
.reveal .jp-RenderedHTMLCommon h3 { font-size: 30px; }
.reveal .jp-RenderedHTMLCommon p, .reveal .jp-RenderedHTMLCommon li { font-size: 26px; }
.reveal .jp-RenderedHTMLCommon table { font-size: 22px; }
.reveal .jp-RenderedHTMLCommon td, .reveal .jp-RenderedHTMLCommon th { padding: 0.2em 0.6em; }
.reveal .jp-OutputArea-output pre { font-size: 17px; line-height: 1.3; }
.reveal .jp-RenderedImage img { max-height: 520px; max-width: 100%; width: auto; }
.reveal .jp-InputPrompt, .reveal .jp-OutputPrompt { display: none; }
.reveal .jp-Cell { padding: 0; }
/* Markdown cells are no scroll boxes: a few pixels of a font's line box would make them scroll;
   the slide frame is the limit, and the tests check it. */
.reveal .jp-RenderedHTMLCommon, .reveal .jp-InputArea, .reveal .jp-Cell-inputWrapper { overflow: visible; }
.reveal .jp-RenderedHTMLCommon a { color: #1f5fa8; }
.reveal .small, .reveal .small p, .reveal .small li { font-size: 20px; }
"""


class BuildError(RuntimeError):
    """A deck could not be built."""


def deck_names() -> list[str]:
    """The names of the decks in ``slides/`` (``NN_topic``), in teaching order."""
    return sorted(p.stem for p in SLIDES.glob("*.ipynb") if DECK_NAME.match(p.stem))


def deck_title(notebook: nbformat.NotebookNode) -> str:
    """The first Markdown heading of a deck, without its ``#`` marks."""
    for cell in notebook.cells:
        if cell.cell_type == "markdown":
            for line in cell.source.splitlines():
                if line.startswith("#"):
                    return line.lstrip("#").strip()
    return "untitled deck"


def check_vendor() -> None:
    """Raise BuildError unless ``npm ci`` has installed reveal.js and MathJax."""
    missing = [src for src, _ in VENDOR_FILES if not (NODE_MODULES / src).exists()]
    if missing:
        raise BuildError(
            f"missing {', '.join(missing)} in {NODE_MODULES}: run `make slides` "
            "(or `cd slides && npm ci`) to install reveal.js and MathJax"
        )


def copy_vendor(out: Path) -> None:
    """Copy reveal.js and MathJax from ``slides/node_modules`` into ``out/vendor``."""
    check_vendor()
    target_root = out / VENDOR
    if target_root.exists():
        shutil.rmtree(target_root)
    for source, target in VENDOR_FILES:
        src, dst = NODE_MODULES / source, target_root / target
        dst.parent.mkdir(parents=True, exist_ok=True)
        if src.is_dir():
            shutil.copytree(src, dst)
        else:
            shutil.copy2(src, dst)


def execute(notebook: nbformat.NotebookNode, timeout: int = 600) -> nbformat.NotebookNode:
    """Run every cell of a deck in a fresh kernel, in ``slides/``; raise BuildError on an error."""
    client = NotebookClient(notebook, timeout=timeout, kernel_name="python3",
                            resources={"metadata": {"path": str(SLIDES)}})
    try:
        client.execute()
    except Exception as err:  # nbclient raises CellExecutionError, DeadKernelError, timeouts
        raise BuildError(f"a cell failed: {err}") from None
    return notebook


# the target of a link (an <a> element) that is a relative path, and its #anchor
_HREF = re.compile(r'(<a\b[^>]*?\shref=")([^"#:]+)((?:#[^"]*)?)"')


def _rewrite_links(body: str, out: Path) -> str:
    """Point relative links written for ``slides/`` at the same files from ``out``.

    A link to a deck notebook (``01_vanilla_rnn.ipynb``) becomes a link to its built HTML;
    any other relative link (``../assignments/...``) is made relative to ``out``.
    """
    def fix(match: re.Match) -> str:
        start, target, anchor = match.group(1), html.unescape(match.group(2)), match.group(3)
        resolved = (SLIDES / target).resolve()
        if resolved.parent == SLIDES and DECK_NAME.match(resolved.stem) and resolved.suffix == ".ipynb":
            return f'{start}{resolved.stem}.html{anchor}"'
        return f'{start}{html.escape(os.path.relpath(resolved, out))}{anchor}"'

    return _HREF.sub(fix, body)


def export(notebook: nbformat.NotebookNode, out: Path) -> str:
    """The deck as reveal.js HTML, code inputs left out, links made to work from ``out``."""
    exporter = SlidesExporter(
        template_name="rnnslides",
        extra_template_basedirs=[str(TEMPLATES)],
        exclude_input=True,
        exclude_input_prompt=True,
        exclude_output_prompt=True,
        reveal_url_prefix=f"{VENDOR}/reveal.js",
        reveal_theme="white",
        reveal_transition="none",
        reveal_number="c/t",
        reveal_width=str(WIDTH),
        reveal_height=str(HEIGHT),
    )
    resources = {"vendor_prefix": VENDOR, "deck_css": DECK_CSS}
    body, _ = exporter.from_notebook_node(notebook, resources=resources)
    return _rewrite_links(body, out)


def build_deck(name: str, out: Path = OUT) -> Path:
    """Execute and export one deck to ``out/<name>.html``; returns that path."""
    source = SLIDES / f"{name}.ipynb"
    if not source.is_file():
        raise BuildError(f"no deck {source}")
    notebook = nbformat.read(source, as_version=4)
    try:
        execute(notebook)
    except BuildError as err:
        raise BuildError(f"{source.name}: {err}") from None
    out.mkdir(parents=True, exist_ok=True)
    target = out / f"{name}.html"
    target.write_text(export(notebook, out), encoding="utf-8")
    return target


def write_index(out: Path = OUT) -> Path:
    """Write ``out/index.html``: a plain page linking every deck, with its title."""
    items = []
    for name in deck_names():
        title = deck_title(nbformat.read(SLIDES / f"{name}.ipynb", as_version=4))
        items.append(f'<li><a href="{name}.html">{html.escape(title)}</a> '
                     f'<span class="file">({name})</span></li>')
    page = f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>rnncourse: slides</title>
<style>
body {{ font-family: sans-serif; max-width: 46em; margin: 3em auto; line-height: 1.5; }}
.file {{ color: #666; font-size: 0.9em; }}
</style>
</head>
<body>
<h1>rnncourse: slides</h1>
<p>One deck per notebook, and an overview. Press <kbd>s</kbd> in a deck for the speaker notes,
<kbd>Esc</kbd> for the slide overview.</p>
<ul>
{chr(10).join(items)}
</ul>
</body>
</html>
"""
    target = out / "index.html"
    target.write_text(page, encoding="utf-8")
    return target


def build(names: list[str] | None = None, out: Path = OUT, log=print) -> list[Path]:
    """Build the named decks (all when ``None``), the vendored libraries and the index."""
    known = deck_names()
    names = known if not names else names
    unknown = [name for name in names if name not in known]
    if unknown:
        raise BuildError(f"no deck named {unknown}; the decks are {known}")
    check_vendor()
    out.mkdir(parents=True, exist_ok=True)
    copy_vendor(out)
    built = []
    for name in names:
        started = time.perf_counter()
        built.append(build_deck(name, out))
        log(f"{name}.html  ({time.perf_counter() - started:.1f} s)")
    write_index(out)
    return built


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m slides.build", description=__doc__.splitlines()[0])
    parser.add_argument("decks", nargs="*", help="deck names (default: every deck)")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    try:
        build(args.decks)
    except BuildError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    print(f"built in {time.perf_counter() - started:.0f} s: {OUT / 'index.html'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
