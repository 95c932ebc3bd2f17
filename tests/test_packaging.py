"""The environment files agree, CI runs the README's test command, and data ships with the package."""
import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _pyproject_dependencies():
    return sorted(tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"])


def _environment_yml_pip_dependencies():
    text = (ROOT / "environment.yml").read_text()
    pip_block = text.split("- pip:")[1]
    return sorted(re.findall(r"^\s+- (\S+==\S+)\s*$", pip_block, re.M))


def test_environment_yml_and_pyproject_pin_the_same_packages():
    assert _pyproject_dependencies() == _environment_yml_pip_dependencies()
    assert "python=3.11" in (ROOT / "environment.yml").read_text()


def test_torch_is_pinned_to_the_cpu_release_on_this_machine_kind():
    assert "torch==2.13.0" in _pyproject_dependencies()
    assert "torch==2.13.0" in (ROOT / "Makefile").read_text()


def test_ci_runs_the_readme_test_command():
    readme = (ROOT / "README.md").read_text()
    first_lines = "\n".join(readme.splitlines()[:20])
    assert "make test" in first_lines and "make demo" in first_lines
    assert "make test" in (ROOT / ".ci" / "run").read_text()


def test_data_files_ship_with_their_attribution():
    data = ROOT / "rnncourse" / "datafiles"
    for name in ["tinyshakespeare.txt", "names.txt", "names.LICENSE", "SOURCES.md"]:
        assert (data / name).is_file(), name
    package_data = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]
    assert "datafiles/*" in package_data["rnncourse"]
