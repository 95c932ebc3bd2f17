"""A worker's kernel starter: the sandbox started once, a kernel forked in it per notebook.

When grading as root, each worker keeps one sandbox (bubblewrap, as ``sandbox.py`` builds it)
with ``rnncourse._grading.starter`` in it, which has imported what the assignment's notebook
imports; each notebook's kernel is forked from it and drops to the worker's user (see that
module for the guarantees). The worker's folder is bound once: between notebooks the grader
empties it and lays out the next submission, and the starter kills what the last kernel left
and empties the sandbox's /tmp, /dev/shm and System V IPC.

:class:`Forked` looks to ``kernel.py`` like the process of a kernel started on its own.
"""
from __future__ import annotations

import ast
import json
import logging
import os
import select
import signal
import subprocess
import time
from pathlib import Path

log = logging.getLogger(__name__)

ANSWER_TIMEOUT = 60.0  # seconds for the starter to fork a kernel or clean up after one
PRELOADABLE = ("numpy", "matplotlib", "matplotlib.pyplot", "torch", "rnncourse")  # and rnncourse.*


def preload_of(release: dict) -> tuple[str, ...]:
    """The modules a released notebook imports that the starter may import in advance: the
    libraries the course uses and its own package, in the notebook's order."""
    found: list[str] = []
    for cell in release.get("cells", []):
        if cell.get("cell_type") != "code":
            continue
        source = cell["source"] if isinstance(cell["source"], str) else "".join(cell["source"])
        try:
            tree = ast.parse(source)
        except SyntaxError:
            continue
        for node in ast.walk(tree):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import) else
                     [node.module] if isinstance(node, ast.ImportFrom) and node.module and not node.level
                     else [])
            for name in names:
                if (name in PRELOADABLE or name.startswith("rnncourse.")) and name not in found:
                    found.append(name)
    return tuple(found)


class StarterFailed(Exception):
    """The starter did not answer, or could not fork a kernel (the message says why)."""


class Starter:
    """The starter process of one worker's sandbox, and its answers."""

    def __init__(self, command: list[str], env: dict[str, str], cwd: Path, log_path: Path,
                 preload: tuple[str, ...]):
        self.preload = preload
        with open(log_path, "ab") as errors:
            self.process = subprocess.Popen(command, env=env, cwd=cwd, stdin=subprocess.PIPE,
                                            stdout=subprocess.PIPE, stderr=errors,
                                            start_new_session=True)
        self.ended: dict[int, int] = {}  # kernel pid -> wait status
        self._pending = b""

    def alive(self) -> bool:
        return self.process.poll() is None

    def _send(self, message: dict) -> None:
        try:
            self.process.stdin.write((json.dumps(message) + "\n").encode())
            self.process.stdin.flush()
        except (BrokenPipeError, ValueError) as err:
            raise StarterFailed(f"the kernel starter is gone ({err})") from None

    def pump(self, timeout: float = 0.0) -> list[dict]:
        """Read what the starter said within ``timeout`` seconds; record ended kernels."""
        messages = []
        fd = self.process.stdout.fileno()
        while True:
            ready, _, _ = select.select([fd], [], [], timeout)
            if not ready:
                return messages
            chunk = os.read(fd, 1 << 16)
            if not chunk:
                return messages
            self._pending += chunk
            while b"\n" in self._pending:
                line, self._pending = self._pending.split(b"\n", 1)
                message = json.loads(line)
                if "ended" in message:
                    self.ended[message["ended"]] = message["status"]
                messages.append(message)
            timeout = 0.0

    def _answer(self, key: str) -> dict:
        deadline = time.monotonic() + ANSWER_TIMEOUT
        while time.monotonic() < deadline:
            for message in self.pump(min(0.5, max(deadline - time.monotonic(), 0))):
                if key in message or "failed" in message:
                    return message
            if not self.alive():
                raise StarterFailed(f"the kernel starter exited ({self.process.returncode})")
        raise StarterFailed(f"the kernel starter did not answer within {ANSWER_TIMEOUT:.0f} s")

    def start(self, request: dict) -> "Forked":
        """Fork a kernel (``request``: argv, cwd, log, limits, uid)."""
        self._send({"start": request})
        answer = self._answer("started")
        if "failed" in answer:
            raise StarterFailed(answer["failed"])
        return Forked(self, answer["started"])

    def kill_all(self) -> None:
        """Kill every process in the sandbox but the starter, and empty what they shared."""
        self._send({"kill": True})
        self._answer("killed")

    def close(self) -> None:
        if self.alive():
            try:
                os.killpg(self.process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self.process.wait()
        for stream in (self.process.stdin, self.process.stdout):
            try:
                stream.close()
            except OSError:
                pass


class Forked:
    """A kernel forked by a starter, with the parts of ``subprocess.Popen`` that ``kernel.py`` uses."""

    def __init__(self, starter: Starter, pid: int):
        self.starter, self.pid = starter, pid
        self.returncode: int | None = None

    def poll(self) -> int | None:
        if self.returncode is None:
            if self.starter.alive():
                self.starter.pump()
            status = self.starter.ended.pop(self.pid, None)
            if status is not None:
                self.returncode = (-os.WTERMSIG(status) if os.WIFSIGNALED(status)
                                   else os.WEXITSTATUS(status))
            elif not self.starter.alive():  # the sandbox is gone, and the kernel with it
                self.returncode = -signal.SIGKILL
        return self.returncode

    def kill(self) -> None:
        """Kill the kernel and everything it started; the starter stays for the next one."""
        if self.starter.alive():
            try:
                self.starter.kill_all()
            except StarterFailed as err:
                log.debug("the kernel starter failed to clean up (%s); it is closed", err)
                self.starter.close()
        if self.poll() is None:
            self.returncode = -signal.SIGKILL
