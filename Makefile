# One entry point for every role. Each target creates (or reuses) the local virtual
# environment .venv and installs into it the student package (rnncourse/pyproject.toml), the
# grader (pyproject.toml) and the test tools, all pinned.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
NPM_STAMP := slides/node_modules/.installed

.PHONY: setup sandbox chromium postgresql slides demo test release fixtures lab clean

$(STAMP): pyproject.toml rnncourse/pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	# torch first and pinned: a CPU build of 2.13.0; an unpinned torch pulls a several-GB CUDA build.
	$(PY) -m pip install --quiet torch==2.13.0
	$(PY) -m pip install --quiet -e ./rnncourse -e ".[test]"
	touch $(STAMP)

setup: $(STAMP) sandbox chromium postgresql $(NPM_STAMP)

# Grading runs each student's kernel in a bubblewrap sandbox (python -m autograder grade).
# Without it grading still works, but warns loudly and names what is unprotected.
sandbox:                   ## bubblewrap for sandboxed grading (needs root, or install it yourself)
	@command -v bwrap >/dev/null || apt-get install -y bubblewrap \
		|| (apt-get update && apt-get install -y bubblewrap) \
		|| echo "warning: could not install bubblewrap; grading will run without a sandbox"

# The slides' browser tests drive Debian's chromium (never a browser downloaded by playwright).
chromium:                  ## headless Chromium for the slides' browser tests (needs root, or install it yourself)
	@command -v chromium >/dev/null || apt-get install -y chromium \
		|| (apt-get update && apt-get install -y chromium) \
		|| echo "warning: could not install chromium; the slides' browser tests will be skipped"

# The cluster tests start a PostgreSQL server of their own (Debian keeps initdb and pg_ctl in
# /usr/lib/postgresql/<version>/bin); a course's shared gradebook can live in one too.
postgresql:                ## PostgreSQL's server, for the gradebook tests (needs root, or install it yourself)
	@ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1 || command -v pg_ctl >/dev/null \
		|| apt-get install -y postgresql || (apt-get update && apt-get install -y postgresql) \
		|| echo "warning: could not install postgresql; the PostgreSQL gradebook tests will be skipped"

# reveal.js and MathJax at the versions pinned in slides/package-lock.json, copied beside the decks.
$(NPM_STAMP): slides/package.json slides/package-lock.json
	@command -v npm >/dev/null || apt-get install -y npm || (apt-get update && apt-get install -y npm)
	cd slides && npm ci --no-audit --no-fund
	touch $(NPM_STAMP)

slides: $(STAMP) $(NPM_STAMP)  ## every deck in slides/ as HTML in build/slides/ (index.html lists them)
	$(PY) -m slides.build

demo: $(STAMP) sandbox     ## the whole loop on a sample class, in build/demo
	rm -rf build/demo
	$(PY) -m autograder demo --work build/demo

test: $(STAMP) sandbox chromium postgresql $(NPM_STAMP)  ## the course's own tests
	$(PY) -m pytest

release: $(STAMP)          ## regenerate assignments/ from solutions/, with validation
	$(PY) -m autograder release

fixtures: $(STAMP)         ## recompute the visible checks' expected outputs
	$(PY) -m autograder fixtures

lab: $(STAMP)              ## JupyterLab on the student notebooks
	$(VENV)/bin/jupyter lab assignments/

clean:
	rm -rf build .pytest_cache
