"""How `make test` spreads the tests over two pytest-xdist workers (issue 16: its time limit).

`make test-unit` and `make test-book` run pytest with ``-n 2 --dist loadgroup``.  With that option
this file's :func:`pytest_xdist_make_scheduler` hands out the tests in the groups of :func:`scope`:
every test of a group runs on one worker, so what the group shares is computed once; every other
test goes alone to whichever worker is free (largest groups first).

- A module of ``ONE_WORKER_MODULES`` is one group: its module-scoped fixtures compute a study (the
  study modules) or start a browser or parse the PDF (the book checks); on two workers they would be
  built twice.
- In tests/test_browser.py the tests of one page (its ``page`` parameter) are one group: the page
  is visited once (``visit`` keeps the report in the worker's process) and each check reads that
  visit; the two workers each drive their own headless Chromium, so the page loads overlap.

The groups are computed here from the test ids, not with ``xdist_group`` marks: pytest-xdist 3.8
puts a mark's group into ``item._nodeid``, which pytest 9 no longer reads (``nodeid`` comes from
``_id``), so under pytest 9.2 its ``loadgroup`` ignores the marks and splits every group.
Without ``-n`` (a plain ``pytest tests/x.py``) nothing here applies.
"""
from __future__ import annotations

import pytest

ONE_WORKER_MODULES = frozenset({
    # unit tests: module-scoped studies
    "test_studies_ch1_4.py", "test_studies_baselines_ledger.py", "test_studies_generalization.py",
    "test_studies_why.py",
    # book checks: a browser, a parsed PDF, the built pages
    "test_ledger_browser.py", "test_pdf.py", "test_book_html.py", "test_executed_notebooks.py",
    "test_citation.py", "test_provenance.py",
})
PER_PAGE_MODULE = "test_browser.py"


def scope(nodeid: str) -> str:
    """The group of a test id: its module, its page, or the test alone."""
    path, _, test = nodeid.partition("::")
    module = path.rsplit("/", 1)[-1]
    if module == PER_PAGE_MODULE and test.endswith("]") and "[" in test:
        return f"{path}[{test[test.index('[') + 1:-1]}]"  # every parametrized test there takes one page
    if module in ONE_WORKER_MODULES:
        return path
    return nodeid


@pytest.hookimpl(optionalhook=True)  # a hook of pytest-xdist: without it installed, pytest ignores it
def pytest_xdist_make_scheduler(config, log):
    if config.getvalue("dist") != "loadgroup":
        return None
    from xdist.scheduler import LoadScopeScheduling

    class GroupScheduling(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return scope(nodeid)

    return GroupScheduling(config, log)
