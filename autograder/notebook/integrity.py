"""Integrity checks of a submission: what its code tries, read before and after it runs.

Before execution, :func:`scan` reads the code the student wrote (never the course's own lines)
and flags what could alter grading under plain nbgrader: hooks into IPython, trace functions,
changed builtins, monkeypatched modules, paths of the grader's files, processes and sockets,
code built at run time. None of it changes a score: under this course's grader the score is
decided outside the student's process. The one rule that costs points is :func:`delegations`:
in a notebook that teaches a computation by hand in NumPy, a graded function that hands the
computation to a library that does it (PyTorch, autograd, JAX, ...) earns nothing for that part.

After execution, :func:`kernel_findings` turns what the kernel reported about itself (hooks
added, modules patched, files and sockets it tried) into findings. The kernel could lie about
itself; that only hides a flag, it cannot earn a point.
"""
from __future__ import annotations

import ast
import importlib.util
import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from IPython.core.inputtransformer2 import TransformerManager

from autograder.kinds import Check, Severity
from autograder.notebook.findings import Finding

# Libraries that compute what the NumPy notebooks ask students to compute by hand.
BY_HAND_LIBRARIES = ("torch", "autograd", "jax", "jaxlib", "tensorflow", "keras", "mxnet",
                     "chainer", "theano", "paddle")

IPYTHON_ATTRS = {"input_transformers_cleanup", "input_transformers_post", "input_transformer_manager",
                 "ast_transformers", "events", "register_magic_function", "register_magics",
                 "set_custom_exc", "set_hook", "run_cell", "run_cell_async", "user_ns",
                 "user_global_ns", "displayhook", "display_formatter", "custom_exceptions",
                 "transform_cell", "showtraceback", "kernel"}
MAGICS_ALLOWED = {"matplotlib", "time", "timeit", "load_ext autoreload", "autoreload", "config"}
INTERPRETER_HOOKS = {("sys", "settrace"), ("sys", "setprofile"), ("threading", "settrace"),
                     ("threading", "setprofile"), ("sys", "addaudithook"), ("sys", "modules"),
                     ("sys", "meta_path"), ("sys", "path_hooks"), ("sys", "path")}
HOOKS_WHEN_ASSIGNED = {("sys", "excepthook"), ("sys", "displayhook"), ("sys", "stdout"),
                       ("sys", "stderr"), ("sys", "stdin")}
PROCESS_MODULES = {"subprocess", "socket", "ctypes", "multiprocessing", "signal", "pty", "urllib",
                   "http", "requests", "shutil"}
OS_PROCESS = {"system", "popen", "fork", "kill", "killpg", "_exit", "setsid", "execv", "execve",
              "execvp", "execl", "spawnv", "spawnl", "posix_spawn", "abort", "remove", "unlink",
              "rmdir", "chmod"}
DYNAMIC = {"exec", "eval", "compile", "__import__"}
GRADER_WORDS = ("gradebook", "autograder", "solutions", "nbgrader", "submitted", "autograded",
                "feedback/", "../", "/..", "/proc/", "/etc/")


def python_of(text: str) -> ast.Module | None:
    """The cell as Python (IPython magics turned into calls), parsed; None on a syntax error."""
    try:
        return ast.parse(_transformed(text))
    except (SyntaxError, ValueError):
        return None


@lru_cache(maxsize=4096)
def _transformed(text: str) -> str:
    """IPython's rewriting of a cell into Python, once per text: most cells are the same in
    every student's notebook, and IPython's tokenizing is most of a scan's time."""
    return TransformerManager().transform_cell(text)


def _root(node: ast.AST) -> ast.AST:
    while isinstance(node, (ast.Attribute, ast.Subscript, ast.Call)):
        node = node.func if isinstance(node, ast.Call) else node.value
    return node


def _dotted(node: ast.AST) -> str:
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.append(node.id)
    elif isinstance(node, ast.Call):
        parts.append(_dotted(node.func) + "()")
    return ".".join(reversed(parts))


def imported_names(trees: list[ast.AST]) -> dict[str, str]:
    """Every name bound by an import in ``trees`` -> the dotted module path it stands for."""
    names = {}
    for tree in trees:
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.asname:
                        names[alias.asname] = alias.name
                    else:
                        names[alias.name.split(".")[0]] = alias.name.split(".")[0]
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                for alias in node.names:
                    names[alias.asname or alias.name] = f"{node.module}.{alias.name}"
    return names


class _Scanner(ast.NodeVisitor):
    """Collects (line, check, detail) of one cell; ``imports`` are the notebook's import names."""

    def __init__(self, imports: dict[str, str]):
        self.imports = imports
        self.seen: list[tuple[int, str, str]] = []

    def add(self, node, check, detail):
        self.seen.append((getattr(node, "lineno", 0), check, detail))

    def visit_Attribute(self, node):
        dotted = _dotted(node)
        if node.attr in IPYTHON_ATTRS and "get_ipython" in dotted:
            self.add(node, Check.IPYTHON_HOOK, f"uses the IPython shell: {dotted}")
        root = _root(node)
        assigned = isinstance(node.ctx, (ast.Store, ast.Del))
        pair = (self.imports.get(root.id, root.id), node.attr) if isinstance(root, ast.Name) else None
        if pair in INTERPRETER_HOOKS or (assigned and pair in HOOKS_WHEN_ASSIGNED):
            self.add(node, Check.INTERPRETER_HOOK, f"uses {dotted}")
        if isinstance(root, ast.Name) and self.imports.get(root.id) == "os" and node.attr in OS_PROCESS:
            self.add(node, Check.PROCESS, f"uses os.{node.attr}")
        if assigned and isinstance(root, ast.Name):
            if self.imports.get(root.id) == "builtins" or root.id == "__builtins__":
                self.add(node, Check.BUILTINS, f"changes {dotted}")
            elif root.id in self.imports and pair not in HOOKS_WHEN_ASSIGNED:
                self.add(node, Check.MONKEYPATCH, f"assigns {dotted} ({self.imports[root.id]})")
        self.generic_visit(node)

    def visit_Name(self, node):
        if node.id == "__builtins__":
            self.add(node, Check.BUILTINS, "uses __builtins__")
        elif node.id in DYNAMIC and isinstance(node.ctx, ast.Load):
            self.add(node, Check.DYNAMIC_CODE, f"uses {node.id}()")
        self.generic_visit(node)

    def visit_Call(self, node):
        name = _dotted(node.func)
        if name in ("setattr", "delattr") and node.args and isinstance(node.args[0], ast.Name) \
                and node.args[0].id in self.imports:
            self.add(node, Check.MONKEYPATCH, f"{name}() on {node.args[0].id} ({self.imports[node.args[0].id]})")
        if name.endswith(("import_module", "reload")) and "importlib" in \
                self.imports.get(name.split(".")[0], name):
            self.add(node, Check.DYNAMIC_CODE, f"uses {name}()")
        self.generic_visit(node)

    def visit_Import(self, node):
        for alias in node.names:
            self._imported(node, alias.name)

    def visit_ImportFrom(self, node):
        if node.module:
            self._imported(node, node.module)

    def _imported(self, node, module):
        top = module.split(".")[0]
        if top in PROCESS_MODULES:
            self.add(node, Check.PROCESS, f"imports {module}")
        elif top in BY_HAND_LIBRARIES:
            self.add(node, Check.LIBRARY, f"imports {module}")
        elif top in ("IPython", "ipykernel", "nbgrader", "autograder", "builtins", "importlib", "gc"):
            self.add(node, Check.INTERPRETER_HOOK if top != "autograder" else Check.GRADER_PATH,
                     f"imports {module}")

    def visit_Constant(self, node):
        if isinstance(node.value, str):
            words = [w for w in GRADER_WORDS if w in node.value]
            if words:
                self.add(node, Check.GRADER_PATH, f"a string names {', '.join(words)}: {node.value[:80]!r}")
            if "NBGRADER" in node.value:
                self.add(node, Check.GRADING_PROBE, "checks whether it runs under the grader")


def scan(cells: list[dict], labels: list[str], editable: list[bool], course_lines: set[str],
         student: str, notebook: str) -> list[Finding]:
    """Findings for the code the student wrote (lines also in the released notebook are skipped).

    Args:
        cells: the restored cells; ``labels`` name them, ``editable`` marks the student's own.
        course_lines: stripped lines of the released notebook's code cells.
    """
    trees = [python_of(_text(c)) for c in cells if c["cell_type"] == "code"]
    imports = imported_names([t for t in trees if t is not None])
    findings = []
    for cell, label, own in zip(cells, labels, editable):
        if cell["cell_type"] != "code" or not own:
            continue
        text = _text(cell)
        lines = text.splitlines()
        for line in lines:
            stripped = line.strip()
            if stripped.startswith(("%", "!")) and stripped not in course_lines:
                magic = stripped.lstrip("%!").split("(")[0]
                if stripped.startswith("!") or not any(magic.startswith(m) for m in MAGICS_ALLOWED):
                    findings.append(Finding(student, notebook, label, Check.MAGIC, Severity.FLAG, "none",
                                            f"runs {stripped[:80]!r}"))
        tree = python_of(text)
        if tree is None:
            continue
        scanner = _Scanner(imports)
        scanner.visit(tree)
        for line, check, detail in scanner.seen:
            source_line = lines[line - 1].strip() if 0 < line <= len(lines) else ""
            if source_line in course_lines or source_line.startswith(("%", "!")):
                continue
            severity = Severity.INFO if check == Check.LIBRARY else Severity.FLAG
            findings.append(Finding(student, notebook, label, check, severity, "none",
                                    f"line {line}: {detail}"))
    return _unique(findings)


def _unique(findings: list[Finding]) -> list[Finding]:
    seen, result = set(), []
    for finding in findings:
        key = (finding.cell, finding.check, finding.detail.split(": ", 1)[-1])
        if key not in seen:
            seen.add(key)
            result.append(finding)
    return result


def _text(cell: dict) -> str:
    source = cell.get("source", "")
    return "".join(source) if isinstance(source, list) else source


# ------------------------------------------------------------------------------ delegation
@dataclass(frozen=True)
class Delegation:
    """A graded function that reaches a library doing the work: ``path`` shows how."""

    function: str
    library: str
    path: tuple[str, ...]

    def message(self) -> str:
        via = " -> ".join(self.path)
        return (f"{self.function} uses {self.library} ({via}); this notebook asks for the "
                "computation by hand in NumPy, so this part earns no points")


def delegations(cells: list[dict], functions: list[str]) -> dict[str, Delegation]:
    """For each name in ``functions``: does the function, or a notebook function it calls, use
    a library of :data:`BY_HAND_LIBRARIES`? Names not defined by a ``def`` are skipped."""
    trees = [t for t in (python_of(_text(c)) for c in cells if c["cell_type"] == "code") if t]
    imports = imported_names(trees)
    defs: dict[str, ast.FunctionDef] = {}
    for tree in trees:
        for node in tree.body:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                defs[node.name] = node
    found = {}
    for function in functions:
        if function not in defs:
            continue
        hit = _reach(function, defs, imports)
        if hit:
            found[function] = Delegation(function, hit[-1], tuple(hit))
    return found


@lru_cache(maxsize=None)
def delegating(module: str) -> bool:
    """Does ``module`` (a dotted path, maybe ending in a name it defines) do the work by hand
    for the student: a library of :data:`BY_HAND_LIBRARIES`, or a course module built on one
    (``rnncourse.torch_bridge`` wraps ``torch.nn.LSTM``)?"""
    parts = module.split(".")
    if parts[0] in BY_HAND_LIBRARIES:
        return True
    if parts[0] != "rnncourse":
        return False
    for end in range(len(parts), 0, -1):
        try:
            spec = importlib.util.find_spec(".".join(parts[:end]))
        except (ImportError, ValueError):
            continue
        if spec is None or not spec.origin or not spec.origin.endswith(".py"):
            continue
        tree = ast.parse(Path(spec.origin).read_text(encoding="utf-8"))
        return any(m.split(".")[0] in BY_HAND_LIBRARIES for m in imported_names([tree]).values())
    return False


def _reach(start: str, defs: dict, imports: dict[str, str]) -> list[str] | None:
    """The call path from ``start`` to a by-hand library, by breadth-first search, or None."""
    paths, queue = {start: [start]}, [start]
    while queue:
        name = queue.pop(0)
        node = defs[name]
        local = imported_names([node])
        for inner in ast.walk(node):
            if not isinstance(inner, ast.Name):
                continue
            module = local.get(inner.id) or imports.get(inner.id)
            if module and delegating(module):
                return paths[name] + [module]
            if inner.id in defs and inner.id not in paths:
                paths[inner.id] = paths[name] + [inner.id]
                queue.append(inner.id)
        for inner in ast.walk(node):
            if isinstance(inner, (ast.Import, ast.ImportFrom)):
                module = inner.module if isinstance(inner, ast.ImportFrom) else inner.names[0].name
                if module and delegating(module):
                    return paths[name] + [module]
    return None


# ------------------------------------------------------------------------------ after running
def kernel_findings(report: str, student: str, notebook: str, cell: str) -> list[Finding]:
    """Findings from the kernel's own account of a cell (see ``rnncourse._grading.harness.changes``)."""
    try:
        seen = json.loads(report)
    except (TypeError, ValueError):
        return [Finding(student, notebook, cell, Check.KERNEL_SILENT, Severity.FLAG, "none",
                        "the kernel did not report its state (its IPython machinery was altered?)")]
    findings = []
    for hook in seen.get("hooks", [])[:20]:
        findings.append(Finding(student, notebook, cell, Check.IPYTHON_HOOK, Severity.FLAG, "none",
                                f"seen while running: {hook}"))
    for name in seen.get("patched", [])[:20]:
        findings.append(Finding(student, notebook, cell, Check.MONKEYPATCH, Severity.FLAG, "none",
                                f"seen while running: {name} was replaced"))
    for event in seen.get("events", [])[:20]:
        severity = Severity.INFO if str(event).startswith("imported") else Severity.FLAG
        findings.append(Finding(student, notebook, cell, Check.RUNTIME_EVENT, severity, "none",
                                f"seen while running: {event}"))
    return findings
