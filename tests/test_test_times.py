"""bench/test_times.py: the steps of ``make test`` read from its timed output."""
from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))

import test_times  # noqa: E402

# (seconds since the start, line): the first lines of each step as `make test` prints them
STAMPED = [(0.5, "Creating .venv with /usr/bin/python3.11"), (40.0, "touch .venv/.installed"),
           (41.0, ".venv/bin/ruff check rnnlib tests bench _ext"),
           (45.0, 'RNNLIB_FAST=1 MPLBACKEND=Agg .venv/bin/python -m pytest tests -m "not book and not browser" -n 2'),
           (170.0, "rm -rf _offline_assets && mkdir -p _offline_assets/npm"),
           (175.0, "RNNLIB_FAST=1 .venv/bin/python _ext/execute_book.py  --path-output _build/fast"),  # as make prints it
           (250.0, "RNNLIB_FAST=1 .venv/bin/python _ext/jb_build.py build . --path-output _build/fast -W -n --keep-going"),
           (260.0, "RNNLIB_FAST=1 .venv/bin/python _ext/execute_book.py --path-output _build/fast --write-executed"),
           (262.0, ".venv/bin/python _ext/book_pdf.py _build/fast/_build/html"),
           (280.0, 'RNNLIB_BOOK_HTML=_build/fast/_build/html .venv/bin/python -m pytest -m "book or browser" tests/x.py'),
           (330.0, "==== 205 passed, 8 skipped in 49.1s ====")]


def test_steps_last_from_their_first_line_to_the_next_step():
    steps = test_times.steps_of(STAMPED, end=335.0)
    assert list(steps) == ["venv", "lint", "unit tests", "offline assets", "pages", "sphinx", "executed notebooks",
                           "pdf", "book checks"]
    assert steps["venv"] == 40.5 and steps["unit tests"] == 125.0 and steps["pages"] == 75.0
    assert steps["book checks"] == 55.0
    assert sum(steps.values()) == 335.0 - 0.5


def test_a_step_that_did_not_run_is_left_out():
    # a clone whose .venv exists already: no "Creating .venv" line
    steps = test_times.steps_of(STAMPED[2:4], end=100.0)
    assert steps == {"lint": 4.0, "unit tests": 55.0}
