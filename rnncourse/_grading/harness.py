"""The grader's hands inside a student's kernel: call a function on data, report what it saw.

Students never need this module; the course's grader uses it when it grades a notebook. The
grader runs no hidden check in the student's kernel. It asks this module, by name, to

- ``capture`` the function a grade cell names, at the point where that cell stands;
- ``call`` a captured function on inputs the grader wrote as plain data, in a forked copy of
  the kernel, and write back what it returned (and what its inputs hold afterwards) as plain
  data: the grader compares, diagnoses and scores outside this process (``call_many``: the
  same for several requests, in order, answered at once);
- report ``changes``: hooks into IPython, patched modules and builtins, and audited events
  (files, sockets, processes) since the last report. The grader records these as findings; it
  trusts none of them for a score.

Data crosses as plain data (``wire.py``), so nothing either side writes is ever unpickled.
There is no secret here: the inputs come from the grader at grading time, and the references
never enter the student's process.
"""
from __future__ import annotations

import builtins
import json
import logging
import os
import select
import signal
import sys
from collections import Counter
from pathlib import Path

from rnncourse._grading.wire import decode, encode, load_data, write_data

MAX_REQUEST_BYTES = 1 << 30  # what the grader writes
_captured: dict = {}
_servers: dict = {}  # key -> (pid, request pipe, response pipe)
_state: dict = {"in": None, "out": None, "events": [], "serving": False}

# Audited events worth a line in the integrity report; "open" only for paths named below.
# (os.kill is left out: the kernel's own interrupt handling uses it.)
WATCHED_EVENTS = {"socket.connect", "socket.bind", "subprocess.Popen", "os.system", "os.exec",
                  "os.posix_spawn", "os.fork", "sys.settrace", "sys.setprofile",
                  "sys.addaudithook", "open", "import"}
GRADER_WORDS = ("gradebook", "autograder", "solutions", "nbgrader", "submitted", "autograded")
WATCHED_IMPORTS = ("torch", "autograd", "jax", "tensorflow", "keras", "socket", "subprocess",
                   "nbgrader", "autograder")
# Modules whose attributes a grade could depend on: a changed attribute is a patch.
WATCHED_MODULES = ("numpy", "numpy.linalg", "numpy.random", "numpy.testing", "math")
SHELL_METHODS = ("run_cell", "run_cell_async", "transform_cell", "run_ast_nodes", "run_code",
                 "user_expressions", "ex", "ev", "showtraceback", "_format_user_obj")


_PYTHON = (sys.prefix, sys.base_prefix)  # installed packages are not the grader's files


def _audit(event: str, args: tuple) -> None:
    if event not in WATCHED_EVENTS or _state["serving"]:
        return
    if event == "open":
        path = os.path.abspath(str(args[0])) if args and isinstance(args[0], (str, bytes)) else ""
        mine = _state["in"] is not None and path.startswith(str(_state["in"].parent))
        if any(word in path for word in GRADER_WORDS) and not mine and not path.startswith(_PYTHON):
            _state["events"].append(f"opened {path[:200]}")
    elif event == "import":
        name = str(args[0]) if args else ""
        if name.split(".")[0] in WATCHED_IMPORTS and "." not in name:
            _state["events"].append(f"imported {name}")
    else:
        _state["events"].append(event)


def start(in_dir: str, out_dir: str, own_pids: bool = False) -> str:
    """Called once, before any cell: remember the folders, take the baselines, start auditing.

    ``own_pids``: the kernel has a PID namespace of its own (the sandbox), so every process in
    it other than the kernel and its ancestors was left behind by student code.
    """
    _state.update({"in": Path(in_dir), "out": Path(out_dir), "own_pids": own_pids})
    shell = _shell()
    if shell is not None:
        if hasattr(type(shell), "_format_exception_for_storage"):
            # IPython formats every error twice: for the cell's output, and again for its
            # history, which the grader's kernels keep off; the second costs as much as the first
            shell._format_exception_for_storage = _error_for_history
        _figures_not_drawn(shell)
        log = getattr(getattr(shell, "kernel", None), "log", None)
        if isinstance(log, logging.Logger) and log.level < logging.WARNING:
            # ipykernel's logger passes its debug lines (several a request) to a handler that
            # drops everything below a warning: drop them at the logger, before any record is made
            log.setLevel(logging.WARNING)
    _state["baseline"] = _snapshot()
    sys.addaudithook(_audit)
    return "ready"


def _figures_not_drawn(shell) -> None:
    """When graded, a figure shows as one line naming it: drawing a budget run's is time wasted.

    The plotting code still runs (its errors count as any cell's); only the picture, of an
    experiment run at the grading budget, is left out of the graded notebook and the feedback.
    """
    try:
        from matplotlib_inline.backend_inline import InlineBackend  # the grader preloads it
    except ImportError:
        return
    config = InlineBackend.instance(parent=shell)
    config.shell = shell
    config.figure_formats = set()  # no image formatter now, nor when the backend is set up again
    shell.display_formatter.formatters["text/plain"].for_type_by_name(
        "matplotlib.figure", "Figure", _figure_line)


def _figure_line(figure, printer, cycle) -> None:
    titles = [ax.get_title() for ax in figure.get_axes() if ax.get_title()]
    panels = len(figure.get_axes())
    named = "; ".join(titles) if titles else f"{panels} untitled plot{'s' if panels != 1 else ''}"
    printer.text(f"[figure not drawn when graded: {named}]")


def _error_for_history(exception, *args, **kwargs) -> dict:
    """What IPython keeps of an error in its history (off here): its name and message only."""
    return {"ename": type(exception).__name__, "evalue": str(exception), "traceback": []}


def _shell():
    """The kernel's IPython shell, or None outside one. (Not the ``get_ipython`` name a cell
    sees: IPython puts it in the builtins only while a cell runs, and the grader's requests
    are evaluated after that.)"""
    try:
        from IPython import get_ipython
    except ImportError:
        return None
    return get_ipython()


def _snapshot() -> dict:
    """What student code could change to alter grading: hooks, modules, builtins."""
    shell = _shell()
    snap = {"modules": {}, "builtins": {k: id(v) for k, v in vars(builtins).items()},
            "trace": (id(sys.gettrace()), id(sys.getprofile())), "hooks": {}, "methods": {}}
    for name, module in list(sys.modules.items()):
        watched = name in WATCHED_MODULES or name.split(".")[0] == "rnncourse"
        if watched and module is not None and name != __name__:
            snap["modules"][name] = {k: id(v) for k, v in vars(module).items()}
    if shell is not None:
        snap["hooks"] = {
            "input_transformers_cleanup": len(shell.input_transformers_cleanup),
            "input_transformers_post": len(shell.input_transformers_post),
            "ast_transformers": len(shell.ast_transformers),
            "custom_exceptions": len(shell.custom_exceptions),
            **{f"events.{event}": len(callbacks)
               for event, callbacks in shell.events.callbacks.items()},
        }
        snap["methods"] = {name: (id(getattr(type(shell), name, None)), name in vars(shell))
                           for name in SHELL_METHODS}
    return snap


def changes() -> str:
    """JSON: what changed since the last call (or since ``start``), then a new baseline."""
    before, now = _state["baseline"], _snapshot()
    counted = Counter(_state["events"])  # a loop of forks is one line, with its count
    seen = {"hooks": [], "patched": [],
            "events": [f"{event} ({n} times)" if n > 1 else event for event, n in counted.items()][:50]}
    _state["events"] = []
    for hook, count in now["hooks"].items():
        if count > before["hooks"].get(hook, 0):
            seen["hooks"].append(f"{hook}: {count - before['hooks'].get(hook, 0)} added")
    for name, (ident, overridden) in now["methods"].items():
        if (ident, overridden) != tuple(before["methods"].get(name, (ident, False))):
            seen["hooks"].append(f"the shell's {name} was replaced")
    if now["trace"] != before["trace"]:
        seen["hooks"].append("a trace or profile function was set (sys.settrace/setprofile)")
    for name, attrs in now["modules"].items():
        old = before["modules"].get(name)
        if old is None:
            continue  # first seen now: its state is the baseline
        seen["patched"] += [f"{name}.{attr}" for attr, ident in old.items()
                            if attrs.get(attr, ident) != ident or attr not in attrs]
    seen["patched"] += [f"builtins.{name}" for name, ident in now["builtins"].items()
                        if before["builtins"].get(name, ident) != ident]
    seen["patched"] += [f"builtins.{name} (deleted)" for name in before["builtins"]
                        if name not in now["builtins"]]
    _state["baseline"] = now
    return json.dumps(seen)


def capture(key: str, fn) -> str:
    """Remember ``fn`` for the grade cell ``key``; JSON describing what it is."""
    _captured[key] = fn
    return json.dumps({"callable": callable(fn), "type": type(fn).__name__})


def call(key: str, request: str, timeout: float) -> dict:
    """Call the captured ``key`` on the inputs of ``request`` in a forked server process.

    Returns {"status": "done"} (the result file is written), {"status": "timeout"} (the call
    was killed after ``timeout`` seconds) or {"status": "died", "how": words} (the server
    process ended without answering).
    """
    for attempt in range(2):  # a server that ended since its last answer is started again
        if key not in _servers:
            _serve(key)
        pid, requests, responses = _servers[key]
        try:
            os.write(requests, request.encode() + b"\n")
            break
        except OSError:
            stop(key)
    else:
        return {"status": "died", "how": "the server could not be reached"}
    ready, _, _ = select.select([responses], [], [], timeout)
    answer = os.read(responses, 64) if ready else None
    if answer and answer.startswith(b"done"):
        return {"status": "done"}
    stop(key)
    if answer is None:
        return {"status": "timeout"}
    return {"status": "died", "how": _how_it_ended(pid)}


def call_many(key: str, requests: list, timeout: float) -> list:
    """:func:`call` on each of ``requests`` in order; the answers, one per request run.

    Each request has its own ``timeout``; after one runs over it the rest are not run (the
    list is shorter), as the grader would not send them after a time-out either.
    """
    answers = []
    for request in requests:
        answers.append(call(key, str(request), timeout))
        if answers[-1]["status"] == "timeout":
            break
    return answers


def stop(key: str) -> str:
    """End the server of ``key`` (if any) and every process its calls left behind.

    A graded function may start processes that outlive the call (300 sleeping children, say);
    left alive they would use up the kernel's process limit and fail every later call.
    """
    server = _servers.pop(key, None)
    if server is None:
        return "stopped"
    pid, requests, responses = server
    for fd in (requests, responses):
        os.close(fd)
    for kill in (os.killpg, os.kill):  # the server leads a process group its children join
        try:
            kill(pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
    _state.setdefault("ended", {})[pid] = os.waitpid(pid, 0)[1]
    _sweep()
    return "stopped"


def _sweep() -> None:
    """In the kernel's own PID namespace, kill every process but the kernel, its ancestors and
    the live call servers (what cells started, what left a server's group with setsid), and
    reap the kernel's own children among them: a zombie still counts against the process limit."""
    if not _state.get("own_pids"):
        return
    me = os.getpid()
    parents = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:  # the field after the command name (which may hold spaces) is the parent
                parents[int(entry.name)] = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                continue
    keep, pid = {1, me, *(server[0] for server in _servers.values())}, me
    while pid in parents and pid not in (0, 1):
        pid = parents[pid]
        keep.add(pid)
    for pid, parent in parents.items():
        if pid in keep:
            continue
        try:
            os.kill(pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            continue
        if parent == me:
            try:
                os.waitpid(pid, 0)
            except ChildProcessError:
                pass


def _how_it_ended(pid: int) -> str:
    status = _state.get("ended", {}).pop(pid, None)
    if status is None:
        return "unknown"
    if os.WIFSIGNALED(status) and os.WTERMSIG(status) != signal.SIGKILL:
        return f"killed by signal {signal.Signals(os.WTERMSIG(status)).name}"
    if os.WIFEXITED(status):
        return f"exited with code {os.WEXITSTATUS(status)}"
    return "killed"


def _serve(key: str) -> None:
    requests_r, requests_w = os.pipe()
    responses_r, responses_w = os.pipe()
    _sweep()  # what the notebook's cells left running would count against the process limit
    _state["serving"] = True  # the fork itself is ours, not the student's
    try:
        pid = os.fork()
    finally:
        _state["serving"] = False
    if pid == 0:  # the server: never returns
        os.setpgid(0, 0)
        os.close(requests_w)
        os.close(responses_r)
        _server_loop(_captured[key], requests_r, responses_w)
    os.close(requests_r)
    os.close(responses_w)
    _servers[key] = (pid, requests_w, responses_r)


def _server_loop(fn, requests: int, responses: int) -> None:
    """Answer requests until the pipe closes; output is discarded (it costs no points)."""
    try:
        devnull = os.open(os.devnull, os.O_RDWR)
        for fd in (0, 1, 2):
            os.dup2(devnull, fd)
        sys.stdout = sys.stderr = open(os.devnull, "w")
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        buffer = b""
        while True:
            while b"\n" not in buffer:
                chunk = os.read(requests, 4096)
                if not chunk:
                    os._exit(0)
                buffer += chunk
            line, buffer = buffer.split(b"\n", 1)
            _answer(fn, line.decode())
            os.write(responses, b"done\n")
    except BaseException:
        pass
    os._exit(0)


def _answer(fn, request: str) -> None:
    """Run one request and write its result; any exception becomes data."""
    tree, arrays = load_data(_state["in"] / request, MAX_REQUEST_BYTES)
    args, kwargs = decode(tree["args"], arrays), decode(tree["kwargs"], arrays)
    try:
        value = fn(*args, **kwargs)
        record = {"status": "returned"}
    except BaseException as err:  # KeyboardInterrupt and SystemExit are answers too
        record = {"status": "raised", "type": type(err).__name__, "message": str(err)[:500]}
        value = None
    arrays = {}
    try:
        record["value"] = encode(value, arrays)
        record["args"] = encode(args, arrays)
        record["kwargs"] = encode(kwargs, arrays)
    except BaseException as err:
        record = {"status": "unreadable", "type": type(err).__name__}
        arrays = {}
    write_data(_state["out"] / request, record, arrays)
