# The README's commands. Every target uses the project's own virtual environment through explicit
# .venv/bin paths (no activation needed) and creates that environment first when it is missing, so
# on a fresh machine `make book` or `make test` is the only command to type.
#
#   make book    full-fidelity book (RNNLIB_FAST unset) -> _build/html/index.html
#   make test    unit tests, nbval on every chapter, fast-profile book build + HTML check
#   make lab     JupyterLab on chapters/ with live ipywidgets
#   make bench   performance scripts in bench/
#   make clean   remove build outputs

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
# Interpreter used only to create .venv; override with `make PYTHON=/path/to/python3.11 ...`.
PYTHON     ?= $(shell command -v python3.11 || command -v python3)

# The full book and the fast-profile (CI) book live in different output folders. Jupyter Book's
# execution cache is keyed on notebook content, not on environment variables, so sharing one folder
# would let `make book` reuse fast-profile outputs.
FULL_OUT   := _build
FULL_HTML  := $(FULL_OUT)/html
FAST_OUT   := _build/fast
FAST_HTML  := $(FAST_OUT)/_build/html
JB_FLAGS   := -W --keep-going

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

.PHONY: help venv book book-fast test test-unit test-notebooks test-book lab bench lint clean mathjax

help:
	@echo "make book    build the full-fidelity book into $(FULL_HTML)"
	@echo "make test    run all tests (unit, nbval on chapters/, fast-profile book build and HTML check)"
	@echo "make lab     open the chapters in JupyterLab"
	@echo "make bench   run the benchmarks in bench/"
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
	$(PY) -m pip install --upgrade pip
	$(PY) -m pip install -r requirements.txt
	$(PY) -m pip install -e . --no-deps
	@# An editable install of a tree without rnnlib/__init__.py "succeeds" and installs nothing.
	@cd / && $(abspath $(PY)) -c 'import importlib.util as u, sys; sys.exit(0 if u.find_spec("rnnlib") else "error: rnnlib is not importable after pip install -e .")'
	touch $@

# ---------------------------------------------------------------------------------------------
# Book

# Re-execute notebooks when the library changed: the execution cache only sees notebook content,
# and Sphinx re-reads only changed sources, so drop both the cache and the stored doctrees.
$(FULL_OUT)/.rnnlib-sources: $(RNNLIB_SRC) | $(STAMP)
	rm -rf $(FULL_OUT)/.jupyter_cache $(FULL_OUT)/.doctrees
	mkdir -p $(FULL_OUT)
	touch $@

book: $(STAMP) $(FULL_OUT)/.rnnlib-sources
	$(JB) build . --path-output . $(JB_FLAGS)
	RNNLIB_BOOK_HTML=$(FULL_HTML) $(PYTEST) -q -m book tests/test_book_html.py
	@echo "Book: $(abspath $(FULL_HTML))/index.html"

# The CI build: small sizes, warnings and cell errors fail it. Always from scratch, so that it
# executes the current notebooks against the current library.
book-fast: $(STAMP)
	rm -rf $(FAST_OUT)
	$(FAST_ENV) $(JB) build . --path-output $(FAST_OUT) $(JB_FLAGS)

# ---------------------------------------------------------------------------------------------
# Tests

test: test-unit test-notebooks test-book

test-unit: $(STAMP)
	$(UNIT_ENV) $(PYTEST) tests -m "not book"

# nbval executes every chapter in the fast profile; --nbval-lax fails on any cell error and compares
# only the outputs of cells marked "# NBVAL_CHECK_OUTPUT".
test-notebooks: $(STAMP)
ifeq ($(strip $(NOTEBOOKS)),)
	@echo "nbval: chapters/ has no notebooks yet, nothing to execute"
else
	$(FAST_ENV) $(PYTEST) --nbval-lax --nbval-current-env \
	  --nbval-sanitize-with tests/nbval_sanitize.cfg $(NOTEBOOKS)
endif

test-book: book-fast
	RNNLIB_BOOK_HTML=$(FAST_HTML) $(PYTEST) -m book tests/test_book_html.py

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

# Cheap static checks: every module compiles, every notebook is valid nbformat with no saved errors.
lint: $(STAMP)
	$(PY) -m compileall -q rnnlib tests $(wildcard bench)
	$(PY) tests/check_notebooks.py $(NOTEBOOKS)

clean:
	rm -rf $(FULL_OUT)

# Re-vendor MathJax (used by the book for math without internet) from the npm registry.
MATHJAX_VERSION := 3.2.2
MATHJAX_DIR     := _offline/_static/mathjax
mathjax:
	rm -rf $(MATHJAX_DIR) && mkdir -p $(MATHJAX_DIR)/output/chtml/fonts
	tmp=$$(mktemp -d) && cd $$tmp && npm pack --silent mathjax@$(MATHJAX_VERSION) >/dev/null && tar xzf mathjax-$(MATHJAX_VERSION).tgz \
	  && cd - >/dev/null \
	  && cp $$tmp/package/es5/tex-chtml-full.js $$tmp/package/LICENSE $(MATHJAX_DIR)/ \
	  && cp -r $$tmp/package/es5/output/chtml/fonts/woff-v2 $(MATHJAX_DIR)/output/chtml/fonts/ \
	  && rm -rf $$tmp
