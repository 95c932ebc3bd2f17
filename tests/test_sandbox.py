"""The sandboxed kernel: what it can see and reach, its limits, and how it dies and restarts."""
import json
import os
import subprocess
import time

import pytest

from autograder.kinds import Check
from autograder.layout import REPO
from autograder.notebook.cells import CellRunner
from autograder.notebook.kernel import Kernel
from autograder.notebook.sandbox import Folder, Limits, Sandbox, isolation, python_paths

pytestmark = pytest.mark.slow

PROBE = r"""
import importlib.util, json, os, socket
seen = {"uid": os.getuid(), "cwd": os.getcwd(), "root": sorted(os.listdir("/")),
        "env": sorted(os.environ), "graded": os.environ.get("NBGRADER_EXECUTION")}
seen["course"] = [p for p in COURSE_PATHS if os.path.exists(p)]
seen["autograder"] = importlib.util.find_spec("autograder") is not None
try:
    import autograder.checks.reference
    seen["autograder"] = True
except Exception:
    pass
try:
    socket.create_connection(("1.1.1.1", 53), timeout=2).close()
    seen["network"] = True
except OSError:
    seen["network"] = False
print(json.dumps(seen))
"""


@pytest.fixture(scope="module", params=["own sandbox", "forked"])
def sandbox(sandbox_here, request):
    """A kernel in a sandbox of its own, and (as root) one forked by the worker's starter."""
    forks = request.param == "forked"
    if forks and isolation().mode != "root":
        pytest.skip("the kernel starter is used as root only")
    return Sandbox(isolation(), Limits(memory_mb=1024, file_mb=1), worker=7 if forks else 9, forks=forks)


@pytest.fixture(scope="module")
def scratch(tmp_path_factory):
    """One scratch folder for the module: a forked kernel's starter serves every test."""
    folder = tmp_path_factory.mktemp("scratch")
    folder.chmod(0o755)
    return folder


@pytest.fixture
def kernel(sandbox, scratch, tmp_path):
    (tmp_path / "submission").mkdir()
    (tmp_path / "submission" / "data.txt").write_text("the student's own file")
    folder = sandbox.kernel_folder(scratch, tmp_path / "submission", None, ("numpy", "matplotlib.pyplot"))
    started = Kernel(sandbox, folder)
    started.start()
    yield started
    started.kill()
    sandbox.done(folder)


def _printed(execution):
    return "".join(o.get("text", "") for o in execution.outputs if o["output_type"] == "stream")


def test_the_kernel_sees_only_its_own_folder(kernel, monkeypatch):
    os.environ["RNNCOURSE_TEST_SECRET"] = "a grader's token"
    try:
        paths = [str(REPO.root / "solutions"), str(REPO.root / "autograder"),
                 str(kernel.folder.root.parent / "submission")]
        execution = kernel.execute(f"COURSE_PATHS = {paths!r}\n" + PROBE, 30)
    finally:
        del os.environ["RNNCOURSE_TEST_SECRET"]
    assert execution.status == "ok", execution.outputs
    seen = json.loads(_printed(execution).strip().splitlines()[-1])
    assert seen["course"] == [] and seen["autograder"] is False and seen["network"] is False
    assert seen["cwd"] == str(kernel.folder.work) and seen["graded"] == "autograde"
    assert "RNNCOURSE_TEST_SECRET" not in seen["env"]
    # Only the system folders, and the first folder on the way to Python and to the kernel's own.
    on_the_way = {path.parts[1] for path in [*python_paths(), kernel.folder.root]}
    assert set(seen["root"]) <= {"bin", "dev", "etc", "lib", "lib32", "lib64", "libx32", "proc",
                                 "sbin", "tmp", "usr"} | on_the_way
    if isolation().mode == "root":
        assert seen["uid"] >= 62000  # an unprivileged user of its own
    assert kernel.execute("print(open('data.txt').read())", 10).outputs[0]["text"].startswith("the student")


def test_memory_and_file_size_are_limited(kernel):
    execution = kernel.execute("import numpy as np\nbig = np.ones(2**31)", 30)
    assert execution.status == "error" and execution.outputs[-1]["ename"] == "MemoryError"
    execution = kernel.execute("open('big.bin', 'wb').write(b'x' * 3_000_000)", 30)
    assert execution.status in ("error", "died")  # EFBIG, or SIGXFSZ ends the kernel
    assert not (kernel.folder.work / "big.bin").exists() or (kernel.folder.work / "big.bin").stat().st_size <= 1 << 20


def test_a_loop_is_interrupted_and_the_kernel_lives_on(kernel):
    execution = kernel.execute("while True:\n    pass", 1)
    assert execution.status == "timeout" and kernel.alive()
    assert kernel.execute("x = 2\nprint(x)", 10).outputs[0]["text"] == "2\n"


def test_a_kernel_ignoring_the_interrupt_is_killed_and_restarts(kernel):
    code = "import signal, time\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\nwhile True:\n    time.sleep(0.01)"
    execution = kernel.execute(code, 1)
    assert execution.status == "died" and "ignored the interrupt" in execution.reason
    assert not kernel.alive()
    kernel.kill()
    kernel.start()
    assert kernel.execute("print(1 + 1)", 10).outputs[0]["text"] == "2\n"


@pytest.mark.parametrize("code, how", [("import os\nos._exit(3)", "exited with code 3"),
                                       ("import ctypes\nctypes.string_at(0)", "segmentation fault")])
def test_a_dead_kernel_says_how_it_died(kernel, code, how):
    execution = kernel.execute(code, 10)
    assert execution.status == "died" and how in execution.reason


def test_a_fork_bomb_stays_in_its_sandbox_and_dies_with_it(sandbox, tmp_path):
    if isolation().mode != "root":
        pytest.skip("a process limit of its own needs the root mode")
    bomb = Sandbox(sandbox.isolation, Limits(processes=32), worker=8, forks=sandbox.forks)
    tmp_path.chmod(0o755)
    folder = bomb.kernel_folder(tmp_path, None, None)
    kernel = Kernel(bomb, folder)
    kernel.start()
    try:
        kernel.execute("import os\nfor i in range(10000):\n    try:\n        os.fork()\n"
                       "    except OSError:\n        pass\n", 2)
        users = subprocess.run(["ps", "-eo", "uid="], capture_output=True, text=True).stdout.split()
        assert users.count(str(bomb.uid)) <= 32 + 1
    finally:
        kernel.kill()
    time.sleep(0.5)
    users = subprocess.run(["ps", "-eo", "uid="], capture_output=True, text=True).stdout.split()
    assert str(bomb.uid) not in users, "every process of the sandbox died with it"


def test_a_flood_of_output_is_cut(kernel):
    execution = kernel.execute("for i in range(100000):\n    print('x' * 99)", 30, output_bytes=50_000)
    assert execution.truncated and len(_printed(execution)) <= 50_000


def test_without_bubblewrap_the_warning_names_what_is_unprotected():
    off = isolation("off")
    assert off.mode == "none"
    warning = off.warning()
    assert "NOT fully sandboxed" in warning and "files" in warning and "network" in warning
    command = Sandbox(off).command(Folder(REPO.root / "nowhere"), REPO.root / "k.json")
    assert "bwrap" not in command


STATUS = "print({k: v.strip() for k, v in (l.split(':', 1) for l in open('/proc/self/status'))})"


def test_a_kernel_has_no_privilege_left(kernel):
    if isolation().mode != "root":
        pytest.skip("as a user, the kernel is that user")
    seen = eval(_printed(kernel.execute(STATUS, 10)))
    for key in ("CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"):
        assert int(seen[key], 16) == 0, key
    assert set(seen["Uid"].split()) == set(seen["Gid"].split()) == {str(kernel.sandbox.uid)}
    assert seen["Groups"] == "" and seen["NoNewPrivs"] == "1"


def test_a_forked_kernel_cannot_touch_its_starter(kernel):
    if not kernel.sandbox.forking:
        pytest.skip("only a forked kernel has a starter")
    code = ("import os, signal\ntry:\n    os.kill(os.getppid(), signal.SIGKILL)\n    print('killed')\n"
            "except PermissionError:\n    print('refused')\n"
            "try:\n    open(f'/proc/{os.getppid()}/mem', 'rb')\n    print('read')\nexcept OSError:\n    print('refused')")
    assert _printed(kernel.execute(code, 10)).split() == ["refused", "refused"]


LEAVE = """
import ctypes, os, subprocess
open('/tmp/left', 'w').write('x'); open('left.txt', 'w').write('x')
try:  # /dev/shm may not be writable at all
    open('/dev/shm/left', 'w').write('x')
except OSError:
    pass
os.makedirs('/tmp/home/.left', exist_ok=True)
subprocess.Popen(['sleep', '600'], start_new_session=True)
libc = ctypes.CDLL(None)
print(libc.shmget(4242, 4096, 0o1666))
"""
FIND = """
import os, subprocess
print(sorted(os.path.exists(p) for p in ('/tmp/left', '/dev/shm/left', 'left.txt', '/tmp/home/.left')))
print(subprocess.run(['ipcs', '-m'], capture_output=True, text=True).stdout.count('0x00001092'))
print(sorted(open(f'/proc/{p}/comm').read().strip() for p in os.listdir('/proc') if p.isdigit()))
"""


def test_nothing_of_one_forked_kernel_reaches_the_next(kernel, scratch, tmp_path):
    if not kernel.sandbox.forking:
        pytest.skip("a kernel with a sandbox of its own has nothing to share")
    left = kernel.execute(LEAVE, 10)
    assert left.status == "ok" and int(_printed(left).split()[-1]) >= 0, left.outputs
    kernel.kill()
    kernel.sandbox.done(kernel.folder)
    folder = kernel.sandbox.kernel_folder(scratch, tmp_path / "submission", None, ("numpy", "matplotlib.pyplot"))
    assert folder == kernel.folder  # the same bound folder, emptied and refilled
    kernel.start()
    existing, segments, processes = _printed(kernel.execute(FIND, 10)).splitlines()
    assert existing == "[False, False, False, False]" and segments == "0"
    assert "sleep" not in processes and eval(processes).count("python") == 2  # the starter and the kernel


def test_plots_show_inline_and_each_kernel_seeds_its_own_generator(kernel):
    shown = kernel.execute("import matplotlib.pyplot as plt\nplt.plot([1, 2])\nplt.show()", 30)
    assert any("image/png" in o.get("data", {}) for o in shown.outputs), shown.outputs
    first = _printed(kernel.execute("import numpy as np\nprint(np.random.rand())", 10))
    kernel.kill()
    kernel.start()
    assert _printed(kernel.execute("import numpy as np\nprint(np.random.rand())", 10)) != first


def test_a_process_forked_from_a_worker_starts_a_starter_of_its_own(kernel, scratch):
    if not kernel.sandbox.forking:
        pytest.skip("only a forked kernel has a starter")
    from autograder.notebook import sandbox as sandboxes

    ours = sandboxes._STARTERS[(os.getpid(), kernel.sandbox.worker)][1]
    child = os.fork()
    if child == 0:  # as a pool's worker forked from a process that holds starters
        code = 2
        try:
            folder = kernel.sandbox.kernel_folder(scratch, None, None, ("numpy",))
            code = 0 if folder != kernel.folder else 1
            sandboxes._STARTERS[(os.getpid(), kernel.sandbox.worker)][1].close()
        finally:
            os._exit(code)
    assert os.waitstatus_to_exitcode(os.waitpid(child, 0)[1]) == 0
    assert ours.alive() and _printed(kernel.execute("print(6 * 7)", 10)) == "42\n"


def test_two_grading_runs_never_share_a_kernel_user():
    from multiprocessing import Value

    from autograder.batch import pool
    from autograder.notebook.sandbox import lease_worker_number

    first, second = lease_worker_number(), lease_worker_number()
    assert first[0] != second[0]
    number = first[0]
    first[1].close()  # let go, as when its worker ends
    again = lease_worker_number()
    assert again[0] <= number
    if isolation().mode == "root":  # a worker of another run takes a number none of these holds
        pool._setup(Value("i", 0), isolation(), Limits(), "/tmp", "/tmp")
        try:
            assert pool._WORKER["sandbox"].worker not in (second[0], again[0])
        finally:
            pool._WORKER.pop("lease").close()
    for held in (second, again):
        held[1].close()


def test_a_forked_kernel_finds_what_its_first_optimizer_imports_already_imported(sandbox_here, tmp_path):
    # TorchDynamo: 1.2 s of CPU that every PyTorch notebook's kernel would pay again
    if isolation().mode != "root":
        pytest.skip("the kernel starter is used as root only")
    tmp_path.chmod(0o755)
    sandbox = Sandbox(isolation(), Limits(), worker=8, forks=True)
    folder = sandbox.kernel_folder(tmp_path, None, None, ("numpy", "torch"))
    kernel = Kernel(sandbox, folder)
    kernel.start()
    try:
        code = ("import sys\nprint('torch._dynamo' in sys.modules)\nimport torch\n"
                "torch.optim.Adam(torch.nn.Linear(2, 2).parameters())\nprint('made')")
        assert _printed(kernel.execute(code, 60)).split() == ["True", "made"]
    finally:
        kernel.kill()
        sandbox.done(folder)


def test_a_graded_figure_is_named_not_drawn_and_its_errors_still_count(kernel):
    start = kernel.execute("from rnncourse._grading import harness\nprint(harness.start('/tmp', '/tmp'))", 30)
    assert _printed(start).endswith("ready\n"), start.outputs  # (Fontconfig may warn without a cache)
    plotted = kernel.execute("import matplotlib.pyplot as plt\nfig, ax = plt.subplots()\n"
                             "ax.plot([1, 2])\nax.set_title('loss')\nplt.show()\nplt.subplots(1, 2);", 30)
    shown = [o["data"] for o in plotted.outputs if o["output_type"] in ("display_data", "execute_result")]
    assert not any("image/png" in data for data in shown), plotted.outputs
    assert [data["text/plain"] for data in shown] == [
        "[figure not drawn when graded: loss]", "[figure not drawn when graded: 2 untitled plots]"]
    again = kernel.execute("%matplotlib inline\nplt.plot([1])\nplt.show()", 30)  # still not drawn
    assert not any("image/png" in o.get("data", {}) for o in again.outputs), again.outputs
    broken = kernel.execute("plt.plot([1, 2], [1])", 30)
    assert broken.status == "error" and "ValueError" in str(broken.outputs)


def test_started_as_the_grader_starts_it_the_harness_reaches_the_shell(sandbox, scratch):
    # the grader starts the harness in a user expression, evaluated after IPython has taken
    # get_ipython out of the builtins again: the shell must still be found, or figures are
    # drawn and hooks a cell adds go unseen
    folder = sandbox.kernel_folder(scratch, None, None, ("numpy", "matplotlib.pyplot"))
    cells = [{"cell_type": "code", "source": source, "metadata": {}} for source in (
        "import matplotlib.pyplot as plt\nplt.plot([1, 2])\nplt.title('loss')\nplt.show()",
        "get_ipython().input_transformers_post.append(lambda lines: lines)")]
    runner = CellRunner(Kernel(sandbox, folder), cells, ["plot", "hook"], {}, Limits(), own_pids=True)
    try:
        runner.start()
        run = runner.run_cells()
    finally:
        runner.kernel.kill()
        sandbox.done(folder)
    shown = [o["data"] for o in run.outputs[0].outputs if o["output_type"] == "display_data"]
    assert shown == [{"text/plain": "[figure not drawn when graded: loss]"}], run.outputs[0].outputs
    assert [(seen.cell, seen.check) for seen in run.seen] == [("hook", Check.IPYTHON_HOOK)], run.seen


def test_an_error_is_shown_with_its_traceback_and_formatted_once(kernel, tmp_path):
    # the harness keeps IPython from formatting each error a second time for its history
    start = kernel.execute("from rnncourse._grading import harness\nprint(harness.start('/tmp', '/tmp'))", 30)
    assert _printed(start).endswith("ready\n"), start.outputs  # (Fontconfig may warn without a cache)
    raised = kernel.execute("def f():\n    raise ValueError('no')\nf()", 30)
    error = next(o for o in raised.outputs if o["output_type"] == "error")
    assert error["ename"] == "ValueError" and any("f()" in line for line in error["traceback"])
    kept = kernel.execute("print(list(get_ipython().history_manager.exceptions.values())[-1])", 10)
    assert _printed(kept) == "{'ename': 'ValueError', 'evalue': 'no', 'traceback': []}\n"
