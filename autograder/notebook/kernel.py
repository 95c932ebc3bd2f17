"""Driving one sandboxed kernel: start, run code with a time limit, interrupt, kill, restart.

A thin layer over jupyter_client's blocking client. It runs one piece of code at a time and
collects its outputs the way a notebook stores them, but keeps control a notebook runner does
not give: outputs beyond a size limit are cut (a cell that prints forever cannot flood the
grader), a cell over its time limit is interrupted and, if the kernel ignores the interrupt
(code that swallows ``KeyboardInterrupt``), killed; a kernel that dies says how.
"""
from __future__ import annotations

import json
import os
import shutil
import signal
import time
from dataclasses import dataclass, field
from queue import Empty

from jupyter_client import BlockingKernelClient
from jupyter_client.connect import write_connection_file

from autograder.notebook.sandbox import Folder, Sandbox, Spawned
from autograder.notebook.starter import Forked

INTERRUPT_GRACE = 3.0  # seconds a kernel gets to obey an interrupt before it is killed
START_TIMEOUT = 60.0
IDLE_GRACE = 2.0  # seconds to wait for a request's last outputs once its reply has come


class KernelFailed(Exception):
    """The kernel could not be started (the message says why)."""


@dataclass
class Execution:
    """The outcome of running one piece of code.

    ``status`` is "ok", "error" (the code raised), "timeout" (interrupted after the limit),
    or "died" (the kernel is gone: it crashed, exited, or was killed because it ignored an
    interrupt); ``reason`` explains the last two in words.
    """

    status: str
    outputs: list = field(default_factory=list)
    user_expressions: dict = field(default_factory=dict)
    reason: str = ""
    truncated: bool = False
    count: int | None = None  # the kernel's execution count
    ignored_interrupt: bool = False  # "died" because it was killed after ignoring an interrupt


class Kernel:
    """One kernel process in its sandbox folder."""

    def __init__(self, sandbox: Sandbox, folder: Folder, log_name: str = "kernel.log"):
        self.sandbox = sandbox
        self.folder = folder
        self.process: Spawned | Forked | None = None
        self.client: BlockingKernelClient | None = None
        self.log_path = folder.run / log_name  # where a forked kernel can write it too

    # ------------------------------------------------------------------ lifetime
    def start(self) -> None:
        """Start the kernel and wait until it answers.

        Raises:
            KernelFailed: it exited or did not answer within a minute.
        """
        for leftover in self.folder.run.iterdir():  # the last kernel's sockets, or anything it left
            if leftover.is_dir() and not leftover.is_symlink():
                shutil.rmtree(leftover)
            else:
                leftover.unlink()
        connection_file, _ = write_connection_file(
            str(self.folder.run / "kernel.json"), transport="ipc", ip=str(self.folder.run / "k"))
        if self.sandbox.uid is not None:
            os.chown(connection_file, self.sandbox.uid, self.sandbox.uid)
        self.process = self.sandbox.launch(self.folder, self.folder.run / "kernel.json", self.log_path)
        self.client = BlockingKernelClient()
        self.client.load_connection_file(connection_file)
        self.client.start_channels()
        # Not jupyter_client's wait_for_ready: it judges liveness by heartbeats, which a
        # kernel just started in the sandbox may not send yet (seen: a failed start in 1 s).
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if not self.alive():
                raise KernelFailed(f"the kernel exited at start ({self.how_it_ended()}): "
                                   f"{self._log_tail()}")
            if self._answers_on_both_channels():
                return
        self.kill()
        raise KernelFailed(f"the kernel did not answer within {START_TIMEOUT:.0f} s: {self._log_tail()}")

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def how_it_ended(self) -> str:
        """Words for the exit status: a signal, an exit code, or the memory limit."""
        code = self.process.poll() if self.process else None
        if code is None:
            return "still running"
        if code < 0:
            name = signal.Signals(-code).name
            return {"SIGKILL": "killed", "SIGSEGV": "crashed with a segmentation fault"}.get(
                name, f"killed by {name}")
        if code > 128 and code - 128 in signal.Signals._value2member_map_:
            name = signal.Signals(code - 128).name  # bwrap reports its child's signal this way
            return {"SIGKILL": "killed", "SIGSEGV": "crashed with a segmentation fault",
                    "SIGABRT": "aborted (often: out of memory)"}.get(name, f"killed by {name}")
        return f"exited with code {code}"

    def kill(self) -> None:
        """Kill the kernel and everything it started (its whole session and sandbox)."""
        if self.client is not None:
            self.client.stop_channels()
            self.client = None
        if self.process is not None:
            self.process.kill()

    # ------------------------------------------------------------------ running code
    def execute(self, code: str, timeout: float, user_expressions: dict | None = None,
                output_bytes: int = 1 << 20, silent: bool = False) -> Execution:
        """Run ``code``; wait at most ``timeout`` seconds, then interrupt, then kill.

        ``silent`` runs it without a history entry or an execution count (the grader's own
        requests).
        """
        if not self.alive():
            return Execution("died", reason=f"the kernel had already {self.how_it_ended()}")
        msg_id = self.client.execute(code, silent=silent, store_history=not silent,
                                     user_expressions=user_expressions or {}, allow_stdin=False,
                                     stop_on_error=False)
        run = _Run(msg_id, output_bytes)
        deadline = time.monotonic() + timeout
        if self._wait(run, deadline):
            return run.result()
        self._interrupt()
        if self._wait(run, time.monotonic() + INTERRUPT_GRACE):
            result = run.result()
            result.status, result.reason = "timeout", f"interrupted after {timeout:g} s"
            result.outputs = [o for o in result.outputs if o.get("ename") != "KeyboardInterrupt"]
            return result
        self.kill()
        result = run.result()
        result.status, result.ignored_interrupt = "died", True
        result.reason = (f"still running after {timeout:g} s and it ignored the interrupt, "
                         "so the kernel was killed")
        return result

    def _wait(self, run: "_Run", deadline: float) -> bool:
        """Collect messages of ``run`` until it is complete (True) or the deadline (False)."""
        while not run.complete:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            if not self.alive():
                run.died = self.how_it_ended()
                return True
            if run.idle:  # only the reply is missing: wait on its channel, not on IOPub
                try:
                    run.take_reply(self._shell(timeout=min(remaining, 0.2)))
                except Empty:
                    pass
                continue
            try:
                message = self._iopub(timeout=min(remaining, 0.2))
                run.take_iopub(message)
            except Empty:
                pass
            while not run.replied:
                try:
                    run.take_reply(self._shell(timeout=0))
                except Empty:
                    break
        return True

    # jupyter_client's get_shell_msg and get_iopub_msg run an asyncio event loop for every
    # message they return; the channels' own get_msg polls the socket directly
    def _shell(self, timeout: float) -> dict:
        return self.client.shell_channel.get_msg(timeout=timeout)

    def _iopub(self, timeout: float) -> dict:
        return self.client.iopub_channel.get_msg(timeout=timeout)

    def _interrupt(self) -> None:
        """Ask the kernel to raise KeyboardInterrupt (ipykernel's interrupt_request)."""
        if self.client is not None and self.alive():
            self.client.control_channel.send(self.client.session.msg("interrupt_request", {}))

    def _answers_on_both_channels(self) -> bool:
        """Ask for kernel info; True once a reply comes and a status reaches IOPub too.

        IOPub is publish/subscribe: until the subscription has reached the kernel, what it
        publishes is lost. Only a status message of one of our own requests proves it has;
        until one arrives, ask again. (Extra replies are skipped by ``execute``.)
        """
        asked = {self.client.kernel_info()}
        deadline = time.monotonic() + START_TIMEOUT
        while True:  # a reply: the kernel is up (the request waited in the queue till then)
            if not self.alive() or time.monotonic() > deadline:
                return False
            try:
                if self._shell(timeout=0.1)["parent_header"].get("msg_id") in asked:
                    break
            except Empty:
                continue
        while self.alive() and time.monotonic() < deadline:
            try:
                message = self._iopub(timeout=0.05)
            except Empty:
                asked.add(self.client.kernel_info())
                continue
            parent = message.get("parent_header", {}).get("msg_id")
            if parent in asked:  # then the rest of that request's messages, up to its idle status
                until = time.monotonic() + 0.2
                while not _idle(message, parent) and time.monotonic() < until:
                    try:
                        message = self._iopub(timeout=0.05)
                    except Empty:
                        break
                return True
        return False

    def _log_tail(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-500:].strip()
        except OSError:
            return ""


def _idle(message: dict, parent: str) -> bool:
    """Whether ``message`` is the idle status that ends the request ``parent``."""
    return (message.get("msg_type") == "status" and message.get("parent_header", {}).get("msg_id") == parent
            and message.get("content", {}).get("execution_state") == "idle")


class _Run:
    """The messages of one execute request, turned into notebook outputs as they arrive."""

    def __init__(self, msg_id: str, output_bytes: int):
        self.msg_id = msg_id
        self.budget = output_bytes
        self.outputs: list[dict] = []
        self.idle = self.replied = self.truncated = False
        self.replied_at = 0.0
        self.reply: dict = {}
        self.died = ""

    @property
    def complete(self) -> bool:
        if self.replied and not self.idle and time.monotonic() - self.replied_at > IDLE_GRACE:
            return True  # the idle status was lost; the reply is what counts
        return bool(self.died) or (self.idle and self.replied)

    def take_reply(self, message: dict) -> None:
        if message.get("parent_header", {}).get("msg_id") == self.msg_id:
            self.replied, self.reply = True, message.get("content", {})
            self.replied_at = time.monotonic()

    def take_iopub(self, message: dict) -> None:
        if message.get("parent_header", {}).get("msg_id") != self.msg_id:
            return
        kind, content = message["msg_type"], message["content"]
        if kind == "status":
            self.idle = self.idle or content.get("execution_state") == "idle"
        elif kind == "clear_output":
            self.outputs.clear()
        elif kind in ("stream", "display_data", "execute_result", "error"):
            self._add(kind, content)

    def _add(self, kind: str, content: dict) -> None:
        size = len(json.dumps(content))
        if size > self.budget:
            if kind == "stream" and self.budget > 0:  # keep what fits of the text
                content = dict(content, text=content["text"][:self.budget])
                size = self.budget
            else:
                self.truncated, self.budget = True, 0
                return
            self.truncated = True
        self.budget -= size
        if kind == "stream":
            last = self.outputs[-1] if self.outputs else None
            if last and last["output_type"] == "stream" and last["name"] == content["name"]:
                last["text"] += content["text"]
                return
            self.outputs.append({"output_type": "stream", "name": content["name"],
                                 "text": content["text"]})
        elif kind == "error":
            self.outputs.append({"output_type": "error", "ename": content.get("ename", "Error"),
                                 "evalue": content.get("evalue", ""),
                                 "traceback": content.get("traceback", [])})
        else:
            output = {"output_type": kind, "data": content.get("data", {}),
                      "metadata": content.get("metadata", {})}
            if kind == "execute_result":
                output["execution_count"] = content.get("execution_count")
            self.outputs.append(output)

    def result(self) -> Execution:
        if self.died:
            return Execution("died", self.outputs, reason=f"the kernel {self.died}",
                             truncated=self.truncated)
        status = "ok" if self.reply.get("status") == "ok" else "error"
        return Execution(status, self.outputs, self.reply.get("user_expressions", {}) or {},
                         truncated=self.truncated, count=self.reply.get("execution_count"))
