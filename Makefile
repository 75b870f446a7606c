# Everything runs from the pinned virtual environment in .venv (made on first use).
# make book  - the HTML book in _build/html      make pdf   - the PDF in _build/latex
# make test  - the whole test suite              make tangle / make check - rebuild / compare microgpt.py
# make run   - train and sample with microgpt.py on the names data
# make bench - time microgpt.py, tangle.py and the book builds, and print the figures

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
JB := $(VENV)/bin/jupyter-book
# Warnings are errors, references must resolve, and all problems are reported before failing.
JBFLAGS := -W -n --keep-going
# Where the build and the tests find the names data (never committed).
export MICROGPT_NAMES ?= $(abspath ../shared/data/names.txt)

.PHONY: venv book pdf test tangle check run bench clean

$(VENV)/.installed: requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	touch $@

venv: $(VENV)/.installed

book: venv
	$(JB) build . $(JBFLAGS)

pdf: venv
	$(JB) build . --builder pdflatex $(JBFLAGS)

test: venv
	$(PY) -m pytest tests

tangle: venv
	$(PY) tangle.py

check: venv
	$(PY) tangle.py --check

run:
	mkdir -p _build/run
	cd _build/run && { [ -e input.txt ] || [ ! -f "$(MICROGPT_NAMES)" ] || ln -s "$(MICROGPT_NAMES)" input.txt; } && $(PYTHON) ../../microgpt.py

bench: venv
	$(PY) tests/bench.py

clean:
	rm -rf _build
