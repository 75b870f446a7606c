# Everything runs from the pinned virtual environment in .venv (made on first use).
# make book  - the HTML book in _build/html      make pdf   - the PDF in _build/latex
# make test  - the whole test suite              make tangle / make check - rebuild / compare microgpt.py
# make run   - train and sample with microgpt.py on the names data
# make bench - time microgpt.py, tangle.py and the book builds, and print the figures
# make teacher  - the teacher edition (solutions open, teaching notes) in _build/teacher/html
# make handouts - three PDFs per lesson in _build/handouts: the handout (exercises, no solutions), the
#                 answer key (every solution, the exit quiz's answers, the teaching notes on its first page), both
#                 numbered as in the book, and the exercise sheet (objectives, exercises, quiz; one or two pages)
# make inpage - install Pyodide (pinned, npm ci) so that make book gives every lesson Run buttons; make serve - serve _build/html
# make a11y - axe-core through Debian's chromium over every page of _build/html (after make book); fails on any finding
# make epub - the student edition as an EPUB 3 e-book: _build/epub/microgpt-book.epub (math as MathML, no scripts)

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
JB := $(VENV)/bin/jupyter-book
# Warnings are errors, references must resolve, and all problems are reported before failing.
JBFLAGS := -W -n --keep-going
# Where the build and the tests find the names data (never committed).
export MICROGPT_NAMES ?= $(abspath ../shared/data/names.txt)
# Where the teacher edition and the handouts go; each keeps its Sphinx work tree in its own _build/.
TEACHER ?= _build/teacher
HANDOUTS ?= _build/handouts
# How many handouts and answer keys xelatex typesets at once.
LATEX_JOBS ?= $(shell nproc 2>/dev/null || echo 2)
# The edition is chosen per target (teacher, handouts), never inherited from the shell:
# make book and make pdf always make the student edition.
unexport MICROGPT_EDITION

.PHONY: venv book pdf epub teacher handouts test tangle check run bench a11y inpage serve clean

$(VENV)/.installed: requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	touch $@

venv: $(VENV)/.installed

book: venv inpage
	$(JB) build . $(JBFLAGS)

pdf: venv
	$(JB) build . --builder pdflatex $(JBFLAGS)

# Sphinx's epub builder writes _build/epub/microgpt-book.epub (epub_basename in _config.yml); book/_ext/ebook.py
# makes it readable without JavaScript. `epubcheck _build/epub/microgpt-book.epub` validates it (tests/test_epub.py).
epub: venv
	$(JB) build . --builder custom --custom-builder epub $(JBFLAGS)
	test -f _build/epub/microgpt-book.epub

# book/_ext/editions.py reads MICROGPT_EDITION; without it a build is the student edition.
teacher: venv
	MICROGPT_EDITION=teacher $(JB) build . --path-output $(TEACHER) $(JBFLAGS)
	rm -rf $(TEACHER)/html && cp -r $(TEACHER)/_build/html $(TEACHER)/html

# One Sphinx build writes the three LaTeX documents of each lesson (book/_ext/editions.py, sheets.py):
# lesson-19-attention.tex, lesson-19-attention-answers.tex and lesson-19-attention-sheet.tex; xelatex
# typesets every .tex of the folder.
handouts: venv
	MICROGPT_EDITION=handouts $(JB) build . --builder latex --path-output $(HANDOUTS) $(JBFLAGS)
	$(MAKE) -C $(HANDOUTS)/_build/latex -j$(LATEX_JOBS) all-pdf LATEXMKOPTS=-silent LATEXOPTS=-interaction=nonstopmode
	rm -f $(HANDOUTS)/*.pdf && cp $(HANDOUTS)/_build/latex/lesson-*.pdf $(HANDOUTS)/

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

# Node packages pinned in tests/a11y/package-lock.json; puppeteer-core drives /usr/bin/chromium (or $CHROMIUM)
# and never downloads a browser. Every page is checked in the light and the dark colour mode; any violation
# is printed and exits non-zero. make test runs the same check on its own build (tests/test_book.py).
a11y:
	cd tests/a11y && PUPPETEER_SKIP_DOWNLOAD=1 npm ci --no-audit --no-fund && node run_axe.js ../../_build/html

# In-page Python (book/_ext/inpage.py): Pyodide's core files from npm, exactly as book/_ext/inpage/package-lock.json
# pins them. Without npm the book builds all the same, without Run buttons.
inpage:
	@if command -v npm >/dev/null; then cd book/_ext/inpage && npm ci --no-audit --no-fund --silent; \
	else echo "make inpage: no npm here, so the book's cells will not run in the page"; fi

# The built book on http://127.0.0.1:8000/ (PORT=...), .wasm served as application/wasm.
PORT ?= 8000
serve:
	$(PYTHON) book/_ext/inpage/serve.py _build/html $(PORT)

clean:
	rm -rf _build
