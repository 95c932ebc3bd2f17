"""The environment files agree, the student package carries no grader, set-up installs the
pinned torch first, CI runs the README's test command, and data ships with the package."""
import ast
import os
import re
import stat
import subprocess
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _project(folder: Path) -> dict:
    return tomllib.loads((folder / "pyproject.toml").read_text())


def _pyproject_dependencies():
    """Every third-party pin of the student package, the grader and its test tools."""
    student, grader = _project(ROOT / "rnncourse"), _project(ROOT)
    pins = student["project"]["dependencies"] + grader["project"]["dependencies"] \
        + grader["project"]["optional-dependencies"]["test"]
    return sorted(pin for pin in pins if not pin.startswith("rnncourse=="))


def _environment_yml_pip_dependencies():
    text = (ROOT / "environment.yml").read_text()
    pip_block = text.split("- pip:")[1]
    return sorted(re.findall(r"^\s+- (\S+==\S+)\s*$", pip_block, re.M))


def test_environment_yml_and_pyproject_pin_the_same_packages():
    assert _pyproject_dependencies() == _environment_yml_pip_dependencies()
    assert "python=3.11" in (ROOT / "environment.yml").read_text()


def test_the_student_package_carries_no_grader_and_no_test_tools():
    student = _project(ROOT / "rnncourse")["project"]
    names = {re.split(r"[=<>]", pin)[0] for pin in student["dependencies"]}
    assert not names & {"nbgrader", "pytest", "ruff", "tqdm", "rnncourse-grader"}, names
    imported = set()
    for path in (ROOT / "rnncourse").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                imported |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                imported.add(node.module.split(".")[0])
    assert "autograder" not in imported and "nbgrader" not in imported
    assert f"rnncourse=={student['version']}" in _project(ROOT)["project"]["dependencies"]


def test_set_up_installs_the_pinned_cpu_torch_before_anything_can_pull_another():
    assert "torch==2.13.0" in _pyproject_dependencies()
    # what `make setup` would run, in order, on a machine with no .venv
    plan = subprocess.run(["make", "-n", "-B", "setup", "VENV=/nonexistent/venv"], cwd=ROOT,
                          capture_output=True, text=True, check=True).stdout
    installs = [line for line in plan.splitlines() if "pip install" in line and "--upgrade pip" not in line]
    assert installs and installs[0].rstrip().endswith("torch==2.13.0"), installs


def test_ci_runs_the_test_command_the_readme_gives(tmp_path):
    readme = (ROOT / "README.md").read_text()
    commands = re.findall(r"^\s*(make \w+)\s*(?:#.*)?$", readme, re.M)
    assert "make test" in commands  # the README documents it as a command to type
    # run .ci/run with a `make` that only records how it was called
    fake = tmp_path / "make"
    fake.write_text(f'#!/bin/sh\necho "make $*" >> {tmp_path / "calls"}\n')
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    env = dict(os.environ, PATH=f"{tmp_path}:{os.environ['PATH']}")
    subprocess.run(["bash", str(ROOT / ".ci" / "run")], env=env, check=True, capture_output=True)
    assert (tmp_path / "calls").read_text().split("\n")[-2] == "make test"


def test_data_files_ship_with_their_attribution():
    data = ROOT / "rnncourse" / "datafiles"
    for name in ["tinyshakespeare.txt", "names.txt", "names.LICENSE", "SOURCES.md"]:
        assert (data / name).is_file(), name
    package_data = _project(ROOT / "rnncourse")["tool"]["setuptools"]["package-data"]
    assert package_data["rnncourse.datafiles"] == ["*"]
