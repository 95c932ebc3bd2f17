# One entry point for every role. Each target creates (or reuses) the local virtual
# environment .venv and installs the pinned dependencies of pyproject.toml into it.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: setup demo test release fixtures lab clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	# torch first and pinned: a CPU build of 2.13.0; an unpinned torch pulls a several-GB CUDA build.
	$(PY) -m pip install --quiet torch==2.13.0
	$(PY) -m pip install --quiet -e .
	touch $(STAMP)

setup: $(STAMP)

demo: $(STAMP)             ## the whole loop on a sample class, in build/demo
	rm -rf build/demo
	$(PY) -m autograder demo --work build/demo

test: $(STAMP)             ## the course's own tests
	$(PY) -m pytest

release: $(STAMP)          ## regenerate assignments/ from solutions/, with validation
	$(PY) -m autograder release

fixtures: $(STAMP)         ## recompute the visible checks' expected outputs
	$(PY) -m autograder fixtures

lab: $(STAMP)              ## JupyterLab on the student notebooks
	$(VENV)/bin/jupyter lab assignments/

clean:
	rm -rf build .pytest_cache
