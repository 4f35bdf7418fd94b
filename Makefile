# The README's commands. Every target uses the project's own virtual environment through explicit
# .venv/bin paths (no activation needed) and creates that environment first when it is missing, so
# on a fresh machine `make book` or `make test` is the only command to type.
#
#   make book    full-fidelity book (RNNLIB_FAST unset) -> _build/html/index.html
#   make test    unit tests and live controls under the book's executor, then the fast-profile book
#                build (each chapter executed once) + nbval's checks on its notebooks, HTML and browser
#   make lab     JupyterLab on chapters/ with live ipywidgets
#   make bench   performance scripts in bench/
#   make bench-book  time `make book` cold and warm, and its FLOP efficiency (opt-in: two full builds)
#   make bench-test  time `make test` from a fresh clone of HEAD, .venv included (opt-in, about 6 minutes)
#   make book-flops  the FLOP-efficiency measurement on a cold fast-profile build (small run)
#   make pdf     the built book as one PDF, book.pdf next to its index.html (make book does it too;
#                skipped when book.pdf is up to date, PDF_FORCE=1 prints it again)
#   make clean   remove build outputs
#   make assets  fetch the book's offline JavaScript (MathJax, widget manager) from npm

SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help
.DELETE_ON_ERROR:

VENV       := .venv
PY         := $(VENV)/bin/python
PYTEST     := $(PY) -m pytest
JB         := $(VENV)/bin/jupyter-book
JUPYTER    := $(VENV)/bin/jupyter
STAMP      := $(VENV)/.installed
UV         := $(VENV)/bin/uv
# Interpreter used only to create .venv; override with `make PYTHON=/path/to/python3.11 ...`.
PYTHON     ?= $(shell command -v python3.11 || command -v python3)

# The full book and the fast-profile (CI) book live in different output folders. Jupyter Book's
# execution cache is keyed on notebook content, not on environment variables, so sharing one folder
# would let `make book` reuse fast-profile outputs.
FULL_OUT   := _build
FULL_HTML  := $(FULL_OUT)/html
FAST_OUT   := _build/fast
FAST_HTML  := $(FAST_OUT)/_build/html
# -n (nitpicky): every cross-reference must resolve, and -W turns any miss into an error.
JB_FLAGS   := -W -n --keep-going

# The profile is chosen explicitly per command below, never inherited from the caller's shell
# (`make lab` is the exception: `RNNLIB_FAST=1 make lab` gives a fast-profile kernel).
unexport RNNLIB_FAST
FAST_ENV   := RNNLIB_FAST=1
# Agg only for the unit tests: a kernel started with MPLBACKEND set does not use the inline
# backend, and notebooks would lose their figures. So it is never passed on from the shell either.
unexport MPLBACKEND
UNIT_ENV   := RNNLIB_FAST=1 MPLBACKEND=Agg

RNNLIB_SRC := $(shell find rnnlib -name '*.py' 2>/dev/null)
NOTEBOOKS  := $(wildcard chapters/*.ipynb)

.PHONY: help venv assets mathjax book book-fast pdf test test-unit test-notebooks test-book lab bench bench-book bench-test book-flops lint clean

help:
	@echo "make book    build the full-fidelity book into $(FULL_HTML)"
	@echo "make test    run all tests (unit, live controls, fast-profile book build with nbval checks, HTML and browser)"
	@echo "make lab     open the chapters in JupyterLab"
	@echo "make bench   run the benchmarks in bench/"
	@echo "make bench-book  time the full book build cold and warm (long; writes bench/book_times.json)"
	@echo "make bench-test  time make test from a fresh clone, .venv included (writes bench/test_times.json)"
	@echo "make assets  fetch the book's offline MathJax and widget manager from npm (book and test do it once)"
	@echo "make pdf     print the built book into one PDF, book.pdf beside its index.html (make book does it)"
	@echo "make clean   remove $(FULL_OUT)/"
	@echo "make venv    (re)create $(VENV) from requirements.txt and install rnnlib in editable mode"

# ---------------------------------------------------------------------------------------------
# Environment

venv: $(STAMP)

$(STAMP): requirements.txt pyproject.toml
	@if [ ! -x "$(PY)" ]; then \
	  if [ -z "$(PYTHON)" ]; then echo "error: no python3.11 or python3 on PATH" >&2; exit 1; fi; \
	  echo "Creating $(VENV) with $(PYTHON)"; \
	  "$(PYTHON)" -m venv "$(VENV)"; \
	fi
	@$(PY) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "error: $(VENV) needs Python >= 3.11, found " + sys.version.split()[0])'
	@# uv installs the pins in parallel and compiles their bytecode on both cores: a fresh .venv in about
	@# 20 s, against about 100 s with pip (measured on the book's 2-core machine). It reads pip's own
	@# sources (indexes, find-links, constraints; _ext/pip_sources.py), so it installs what pip would.
	@# Where uv cannot be installed, pip does the same job, slower.
	if $(PY) -m pip install -q $$(grep -E '^uv==' requirements.txt); then \
	  $(UV) pip install --python $(PY) --compile-bytecode $$($(PY) _ext/pip_sources.py) -r requirements.txt \
	  && $(UV) pip install --python $(PY) --no-deps -e .; \
	else \
	  echo "warning: uv could not be installed; installing with pip (slower)" >&2; \
	  $(PY) -m pip install -r requirements.txt && $(PY) -m pip install -e . --no-deps; \
	fi
	@# An editable install of a tree without rnnlib/__init__.py "succeeds" and installs nothing.
	@cd / && $(abspath $(PY)) -c 'import importlib.util as u, sys; sys.exit(0 if u.find_spec("rnnlib") else "error: rnnlib is not importable after pip install -e .")'
	touch $@

# ---------------------------------------------------------------------------------------------
# Offline assets of the HTML book

# Pages render math and saved widget state without internet: MathJax, RequireJS and the Jupyter
# widget manager (@jupyter-widgets/html-manager's embed-amd.js, which bundles the core ipywidgets
# models and its fonts) are served by the book itself. They come from the npm registry at the
# versions pinned here, each tarball checked against its pinned sha512, and are unpacked into
# $(ASSETS)/ (not tracked). _config.yml copies $(ASSETS)/html into the output root (html_extra_path),
# as _static/mathjax and _static/ipywidgets, without listing them as static files, so Jupyter Book
# does not add them to every page: Sphinx loads MathJax, myst-nb loads the widget manager on pages
# that hold widget state. `npm pack` fetches exactly these three packages; html-manager's dist/ is
# a self-contained bundle, and `npm install` would add ~130 unpinned build dependencies (150 MB).
# The html-manager 1.0.x line renders the state saved by ipywidgets 8 (requirements.txt).
ASSETS           := _offline_assets
NPM_MATHJAX      := mathjax@3.2.2
NPM_MATHJAX_SUM  := sha512-Bt+SSVU8eBG27zChVewOicYs7Xsdt40qm4+UpHyX7k0/O9NliPc+x77k1/FEsPsjKPZGJvtRZM1vO+geW0OhGw==
NPM_WIDGETS      := @jupyter-widgets/html-manager@1.0.15
NPM_WIDGETS_SUM  := sha512-5thBIV6ymNgmPVOHvzx+gGy8ZSKmSazhtGw4/c4xJDVzRhG9PTeQsRjF3FUTopvFi//SABeNz1yp47bCrJ3CQA==
NPM_REQUIREJS    := requirejs@2.3.8
NPM_REQUIREJS_SUM := sha512-7/cTSLOdYkNBNJcDMWf+luFvMriVm7eYxp4BcFCsAX0wF421Vyce5SXP17c+Jd5otXKGNehIonFlyQXSowL6Mw==
# One stamp per set of versions: changing a pin above re-fetches; otherwise this runs once.
ASSETS_STAMP     := $(ASSETS)/.installed-$(subst /,-,$(subst @,,$(NPM_MATHJAX)_$(NPM_WIDGETS)_$(NPM_REQUIREJS)))
ASSETS_STATIC    := $(ASSETS)/html/_static

assets: $(ASSETS_STAMP)
mathjax: assets

# `npm pack` names a tarball after the package (scope included) and version and prints the name.
define npm_fetch
name=$$(cd $(ASSETS)/npm && npm pack --silent $(1)) \
  && got=$$(node -e 'process.stdout.write("sha512-" + require("crypto").createHash("sha512").update(require("fs").readFileSync(process.argv[1])).digest("base64"))' "$(ASSETS)/npm/$$name") \
  && if [ "$$got" != "$(2)" ]; then echo "error: $(1) from npm has checksum $$got, expected $(2)" >&2; exit 1; fi \
  && mkdir -p "$(ASSETS)/npm/$(3)" && tar xzf "$(ASSETS)/npm/$$name" -C "$(ASSETS)/npm/$(3)" --strip-components=1
endef

$(ASSETS_STAMP):
	@command -v npm >/dev/null || { echo "error: npm is needed to fetch the book's MathJax and widget manager (Debian: apt-get install npm)" >&2; exit 1; }
	rm -rf $(ASSETS) && mkdir -p $(ASSETS)/npm $(ASSETS_STATIC)/mathjax/output/chtml/fonts $(ASSETS_STATIC)/ipywidgets
	$(call npm_fetch,$(NPM_MATHJAX),$(NPM_MATHJAX_SUM),mathjax)
	$(call npm_fetch,$(NPM_WIDGETS),$(NPM_WIDGETS_SUM),html-manager)
	$(call npm_fetch,$(NPM_REQUIREJS),$(NPM_REQUIREJS_SUM),requirejs)
	@# MathJax: the "tex-chtml-full" component (all TeX extensions, no autoloading) and its fonts.
	cp $(ASSETS)/npm/mathjax/es5/tex-chtml-full.js $(ASSETS)/npm/mathjax/LICENSE $(ASSETS_STATIC)/mathjax/
	cp -r $(ASSETS)/npm/mathjax/es5/output/chtml/fonts/woff-v2 $(ASSETS_STATIC)/mathjax/output/chtml/fonts/
	@# The widget manager finds its font files next to itself (webpack's public path).
	cp $(ASSETS)/npm/html-manager/dist/embed-amd.js $(ASSETS)/npm/html-manager/dist/embed.js.LICENSE.txt \
	  $(ASSETS)/npm/html-manager/dist/*.{woff,woff2,ttf,eot,svg} $(ASSETS_STATIC)/ipywidgets/
	@# require.js carries its MIT licence in its header.
	cp $(ASSETS)/npm/requirejs/require.js $(ASSETS_STATIC)/ipywidgets/require.js
	touch $@

# ---------------------------------------------------------------------------------------------
# Book

# Re-execute notebooks when the library changed: the execution cache only sees notebook content,
# and Sphinx re-reads only changed sources, so drop both the cache and the stored doctrees.
$(FULL_OUT)/.rnnlib-sources: $(RNNLIB_SRC) | $(STAMP)
	rm -rf $(FULL_OUT)/.jupyter_cache $(FULL_OUT)/.doctrees
	mkdir -p $(FULL_OUT)
	touch $@

# Launch buttons (Binder, Colab) need the public repository of the book: whoever publishes it sets
# BOOK_REPOSITORY_URL, e.g. `make book BOOK_REPOSITORY_URL=https://github.com/ORG/REPO`. Unset, the
# pages have no launch buttons (_ext/book_html.py); nothing else depends on it.
BOOK_REPOSITORY_URL ?=
export BOOK_REPOSITORY_URL

# BOOK_CHECKS=0 skips the HTML and browser checks after the build (bench/book_times.py times the
# build alone that way).
BOOK_CHECKS ?= 1

# The pages are executed before Sphinx runs, BOOK_SLOTS at a time (default: the number of cores; a
# page marked "execute_alone" in its notebook metadata, chapter 5, runs first with no other page
# beside it, and chapter 8, "execute_last", after all others, unless the page's "cached_probe" says its
# engine work is all cached), straight into the execution cache that Jupyter Book reads (_ext/execute_book.py);
# `jupyter-book build` then finds every page there and executes none. A failing cell stops the build
# there, with its traceback. Reading a page from that cache, myst-nb writes it to _build/jupyter_execute
# without its outputs, so --write-executed then writes the executed notebooks there (the nbval checks
# of tests/test_executed_notebooks.py read them).
BOOK_SLOTS ?=
EXECUTE    := $(PY) _ext/execute_book.py $(if $(BOOK_SLOTS),--slots $(BOOK_SLOTS))
# `jupyter-book` itself, without an optional import that costs 1.4 s of CPU per build (_ext/jb_build.py)
JB_BUILD   := $(PY) _ext/jb_build.py

book: $(STAMP) $(ASSETS_STAMP) $(FULL_OUT)/.rnnlib-sources
	$(EXECUTE) --path-output .
	$(JB_BUILD) build . --path-output . $(JB_FLAGS)
	@# the executed notebooks (_build/jupyter_execute) are written while the PDF is printed from the HTML
	$(EXECUTE) --path-output . --write-executed & written=$$!; status=0; \
	  $(PDF_CMD) $(FULL_HTML) || status=$$?; wait $$written || status=$$?; exit $$status
	if [ "$(BOOK_CHECKS)" != 0 ]; then \
	  RNNLIB_BOOK_HTML=$(FULL_HTML) RNNLIB_SCREENSHOTS=$(FULL_OUT)/screenshots \
	  $(PYTEST) -q -m "book or browser" $(BOOK_TESTS) $(XDIST); fi
	@echo "Book: $(abspath $(FULL_HTML))/index.html"

# The CI build: small sizes, warnings and cell errors fail it. Always from scratch, so that it
# executes the current notebooks against the current library.
book-fast: $(STAMP) $(ASSETS_STAMP)
	rm -rf $(FAST_OUT)
	$(FAST_ENV) $(EXECUTE) --path-output $(FAST_OUT)
	$(FAST_ENV) $(JB_BUILD) build . --path-output $(FAST_OUT) $(JB_FLAGS)
	$(FAST_ENV) $(EXECUTE) --path-output $(FAST_OUT) --write-executed

# The whole book as one PDF, offline: headless Chromium prints every page of _toc.yml once MathJax has
# typeset it, three pages at a time, and pypdf merges them in reading order into $(PDF_HTML)/book.pdf,
# which the front page links to (_ext/book_pdf.py). When book.pdf is newer than every page it prints,
# or those pages are unchanged since it was printed, it is not printed again, and otherwise only the
# pages that changed are printed (the others come from _build/.pdf_pages); PDF_FORCE=1 prints it
# anyway. Needs a built book; without Chromium it warns and writes nothing.
PDF_HTML ?= $(FULL_HTML)
PDF_FORCE ?=
PDF_CMD  = $(PY) _ext/book_pdf.py $(if $(filter-out 0,$(PDF_FORCE)),--force)
pdf: $(STAMP)
	$(PDF_CMD) $(PDF_HTML)

# ---------------------------------------------------------------------------------------------
# Tests

# Each chapter is executed once: by the fast book build (test-book), whose executed notebooks the
# nbval checks read (tests/test_executed_notebooks.py). test-unit executes only small notebooks:
# every page's live controls, repeatedly, under the book's executor (tests/test_live_controls.py).
test: lint test-unit test-book

# Unit tests, and the live-control executor test (marker "executor"; it starts its kernels without
# MPLBACKEND, as the book does), on two pytest-xdist workers (one per core). With --dist loadgroup,
# tests/conftest.py keeps each study module on one worker (its module-scoped fixtures compute a study
# once); every other test goes to whichever worker is free. TEST_WORKERS=0 runs them in one process.
TEST_WORKERS ?= 2
XDIST      := -n $(TEST_WORKERS) --dist loadgroup
test-unit: $(STAMP)
	$(UNIT_ENV) $(PYTEST) tests -m "not book and not browser" $(XDIST)

# Checks of a built book: nbval's checks on the notebooks it executed (every cell ran, no error,
# "# NBVAL_CHECK_OUTPUT" cells equal to the stored outputs after tests/nbval_sanitize.cfg), then
# the HTML, then every page in headless Chromium (tests/test_browser.py; skipped with a message where
# Chromium is not installed).
BOOK_TESTS := tests/test_executed_notebooks.py tests/test_book_html.py tests/test_browser.py tests/test_ledger_browser.py \
              tests/test_pdf.py tests/test_citation.py tests/test_provenance.py

# After the fast build (which fails on any cell error, a failing assert included, and on any
# warning). Screenshots go to $(FAST_OUT)/screenshots/. On two workers, each with its own Chromium:
# tests/conftest.py keeps the checks of one page together (the page is visited once) and each other
# module on one worker.
test-book: book-fast
	$(MAKE) pdf PDF_HTML=$(FAST_HTML)
	RNNLIB_BOOK_HTML=$(FAST_HTML) $(PYTEST) -m "book or browser" $(BOOK_TESTS) $(XDIST)

# nbval re-executing chapters in their own kernels (not part of `make test`, where the book build
# executes each chapter once): to check one chapter alone, e.g.
# `make test-notebooks NOTEBOOKS=chapters/02_concept_class.ipynb`. --nbval-lax fails on any cell
# error and compares only the outputs of cells marked "# NBVAL_CHECK_OUTPUT".
test-notebooks: $(STAMP)
ifeq ($(strip $(NOTEBOOKS)),)
	@echo "nbval: chapters/ has no notebooks yet, nothing to execute"
else
	$(FAST_ENV) $(PYTEST) --nbval-lax --nbval-current-env \
	  --nbval-sanitize-with tests/nbval_sanitize.cfg $(NOTEBOOKS)
endif

# ---------------------------------------------------------------------------------------------
# Working with the book

# Extra options go in LAB_ARGS, e.g. `make lab LAB_ARGS="--no-browser --port 8899"`. Jupyter refuses
# to run as root without --allow-root, and root is what containers and CI machines usually are.
LAB_ARGS ?=
lab: $(STAMP)
	$(if $(RNNLIB_FAST),RNNLIB_FAST=$(RNNLIB_FAST) )$(JUPYTER) lab chapters/ $(if $(filter 0,$(shell id -u)),--allow-root) $(LAB_ARGS)

bench: $(STAMP)
	@if [ -f bench/run_all.py ]; then \
	  $(PY) bench/run_all.py; \
	else \
	  echo "make bench: bench/run_all.py does not exist yet, so there are no benchmarks to run."; \
	fi

# Opt-in: two full-profile builds (make clean, make book cold, make book warm); `make bench` then
# reports their times from bench/book_times.json.
bench-book: $(STAMP)
	$(PY) bench/book_times.py

# Opt-in: `make test` from a fresh clone of HEAD, .venv included, timed per step (bench/test_times.json).
bench-test: $(STAMP)
	$(PY) bench/test_times.py

# A small run of the FLOP-efficiency measurement (bench/book_flops.py): a cold fast-profile build into
# _build/flops with its own sweep cache, then book_flop_efficiency and the breakdown of the build
# time, printed (bench-book measures the full build and writes it into bench/results.json).
book-flops: $(STAMP) $(ASSETS_STAMP)
	$(PY) bench/book_flops.py --fast-build

# Static checks, first in `make test`: ruff (style, pyflakes, bugbear; settings in
# pyproject.toml), the layer contract of design.md section 3 (import-linter, [tool.importlinter]
# in pyproject.toml: each layer imports only the layers below it), and every notebook valid
# nbformat with no saved errors.
lint: $(STAMP)
	$(VENV)/bin/ruff check rnnlib tests bench _ext
	$(VENV)/bin/lint-imports --no-logo
	$(PY) tests/check_notebooks.py $(NOTEBOOKS)

clean:
	rm -rf $(FULL_OUT)
