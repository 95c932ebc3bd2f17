"""The kernel starter of one grading worker, inside its sandbox: imports once, forks a kernel per notebook.

Students never need this module. Starting a kernel is starting Python and importing ipykernel,
NumPy, Matplotlib and, for some notebooks, PyTorch: one to three seconds of CPU, for every
notebook of a class. The grader starts this program once per worker instead, in the sandbox a
kernel would get (``autograder/notebook/sandbox.py``: bubblewrap, no network, the worker's
folder only), and it imports those modules and then forks one kernel per notebook.

It runs as root inside the sandbox and never runs student code. Each kernel it forks first
takes the notebook's limits, drops every capability and becomes the worker's unprivileged
user, and only then starts ipykernel; it refuses to start if anything of that did not take.
A kernel cannot signal, trace or read the starter (another user). When the grader is done
with a notebook, the starter kills every process in the sandbox but itself and empties
``/tmp``, ``/dev/shm`` and System V IPC, so nothing of one student reaches the next (the
grader empties the bound folders).

Protocol, one JSON object per line. The grader writes ``{"start": {...}}`` or ``{"kill": true}``
on standard input; the starter answers ``{"started": pid}`` (or ``{"failed": why}``),
``{"ended": pid, "status": wait status}`` when a kernel ends, and ``{"killed": true}``.
Run as ``python -m rnncourse._grading.starter '{"preload": [...]}'``.
"""
from __future__ import annotations

import ctypes
import importlib
import json
import os
import resource
import select
import shutil
import signal
import subprocess
import sys
import time
import traceback

PR_CAPBSET_DROP, PR_SET_NO_NEW_PRIVS, PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL = 24, 38, 47, 4
CAPABILITY_VERSION_3 = 0x20080522
CLEANED = ("/tmp", "/dev/shm")


def main() -> None:
    spec = json.loads(sys.argv[1])
    replies = os.fdopen(os.dup(1), "w", buffering=1)
    quiet = os.open(os.devnull, os.O_RDWR)
    os.dup2(quiet, 1)  # whatever an import prints must not reach the protocol
    # what ipykernel sets before Matplotlib is first imported, so plots still show inline
    os.environ.setdefault("MPLBACKEND", "module://matplotlib_inline.backend_inline")
    for name in spec.get("preload", []):
        try:
            importlib.import_module(name)
        except Exception:  # the kernel imports it again, and says what went wrong
            pass
    from ipykernel import debugger, ipkernel, kernelapp  # noqa: F401 (what every kernel imports as it starts)
    _warm()

    kernel, pending = None, b""
    while True:
        kernel = _reap(kernel, replies)
        ready, _, _ = select.select([0], [], [], 0.05)
        if not ready:
            continue
        chunk = os.read(0, 1 << 16)
        if not chunk:  # the grader is gone
            _kill_all()
            return
        pending += chunk
        while b"\n" in pending:
            line, pending = pending.split(b"\n", 1)
            command = json.loads(line)
            if "start" in command:
                try:
                    kernel = _fork(command["start"], kernelapp)
                except OSError as err:  # no fork (the machine's process or memory limit)
                    replies.write(json.dumps({"failed": f"could not fork a kernel: {err}"}) + "\n")
                    continue
                replies.write(json.dumps({"started": kernel}) + "\n")
            elif "kill" in command:
                ended = _kill_all()
                if kernel is not None and kernel in ended:
                    replies.write(json.dumps({"ended": kernel, "status": ended[kernel]}) + "\n")
                    kernel = None
                _clean()
                replies.write(json.dumps({"killed": True}) + "\n")


def _warm() -> None:
    """Do once what every kernel would do again: format a traceback as IPython shows an error
    (a kernel's first costs more than its next: imports, the lexer's patterns),
    and, with PyTorch loaded, import TorchDynamo, which the first optimizer a kernel makes
    imports (1.2 s of CPU). (Not a Matplotlib drawing: FreeType's state does not survive a
    fork, and a kernel forked after one aborted while drawing.)"""
    try:
        from IPython.core.ultratb import AutoFormattedTB

        try:
            raise ValueError("warm")
        except ValueError as err:
            AutoFormattedTB(mode="Context").structured_traceback(type(err), err, err.__traceback__)
        if "torch" in sys.modules:
            importlib.import_module("torch._dynamo")
    except Exception:  # a cold start costs time, nothing else
        pass


def _reap(kernel: int | None, replies) -> int | None:
    while True:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return kernel
        if pid == 0:
            return kernel
        if pid == kernel:
            replies.write(json.dumps({"ended": pid, "status": status}) + "\n")
            kernel = None


def _others() -> list[int]:
    me = os.getpid()
    return [int(p) for p in os.listdir("/proc") if p.isdigit() and int(p) not in (1, me)]


def _kill_all() -> dict[int, int]:
    """Kill every process of the sandbox but its init and this one; returns the wait statuses
    of this one's children among them. Orphans are reaped by the sandbox's init."""
    ended: dict[int, int] = {}
    deadline = time.monotonic() + 10
    while _others() and time.monotonic() < deadline:
        try:
            os.kill(-1, signal.SIGKILL)  # in a PID namespace: all but its init and the caller
        except ProcessLookupError:
            pass
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                break
            if pid == 0:
                break
            ended[pid] = status
        time.sleep(0.005)
    return ended


def _clean() -> None:
    """Empty what every kernel of the sandbox shares besides the grader's folders."""
    for folder in CLEANED:
        try:
            entries = os.listdir(folder)
        except OSError:
            continue
        for name in entries:
            path = os.path.join(folder, name)
            if os.path.isdir(path) and not os.path.islink(path):
                shutil.rmtree(path, ignore_errors=True)
            else:
                try:
                    os.unlink(path)
                except OSError:
                    pass
    subprocess.run(["ipcrm", "--all"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)


def _fork(start: dict, kernelapp) -> int:
    pid = os.fork()
    if pid:
        return pid
    code = 1
    try:
        os.setsid()
        log = os.open(start["log"], os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        os.dup2(os.open(os.devnull, os.O_RDONLY), 0)
        os.dup2(log, 1)
        os.dup2(log, 2)
        os.closerange(3, 1 << 16)
        for name, value in start["limits"].items():
            resource.setrlimit(getattr(resource, name), (value, value))
        _become(start["uid"])
        os.chdir(start["cwd"])
        if "numpy" in sys.modules:  # a fresh kernel seeds its global generator from the OS
            sys.modules["numpy"].random.seed()
        if "torch" in sys.modules:
            sys.modules["torch"].seed()
        sys.argv = [sys.executable, "-m", "ipykernel_launcher", *start["argv"]]
        kernelapp.launch_new_instance(argv=start["argv"])
        code = 0
    except SystemExit as exit_:
        code = exit_.code if isinstance(exit_.code, int) else 1
    except BaseException:
        traceback.print_exc()
    finally:
        for stream in (sys.__stdout__, sys.__stderr__):
            try:
                stream.flush()
            except Exception:
                pass
        os._exit(code)


def _become(uid: int) -> None:
    """Drop to ``uid`` with no capability, no group and no way back; raise if any is left."""
    libc = ctypes.CDLL(None, use_errno=True)
    with open("/proc/sys/kernel/cap_last_cap") as f:
        last = int(f.read())
    for cap in range(last + 1):
        if libc.prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), f"could not drop capability {cap} from the bounding set")
    libc.prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0)
    os.setgroups([])
    os.setresgid(uid, uid, uid)
    os.setresuid(uid, uid, uid)
    header = (ctypes.c_uint32 * 2)(CAPABILITY_VERSION_3, 0)
    data = (ctypes.c_uint32 * 6)()  # effective, permitted, inheritable: twice, all zero
    if libc.capset(header, data) != 0:
        raise OSError(ctypes.get_errno(), "could not clear the capability sets")
    if libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "could not set no_new_privs")
    with open("/proc/self/status") as f:
        status = dict(line.split(":", 1) for line in f if ":" in line)
    left = [key for key in ("CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb") if int(status[key], 16)]
    ids = {int(x) for key in ("Uid", "Gid") for x in status[key].split()}
    if left or ids != {uid} or status["Groups"].split() or int(status["NoNewPrivs"]) != 1:
        raise PermissionError(f"the kernel kept privileges: {left}, ids {sorted(ids)}")


if __name__ == "__main__":
    main()
