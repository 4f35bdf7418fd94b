"""Live controls under the book's executor: no stall, saved state, live updates (issue 16).

The book executes its pages with myst-nb's cache mode, that is jupyter-cache's
``single_nb_execution``, which runs nbclient.  nbclient plays the widget front end: when a cell
displays into an ``ipywidgets.Output`` (``ipywidgets.interact`` does), it echoes each captured
output to the kernel as a ``comm_msg`` on the shell socket while it awaits the cell's
``execute_reply`` on that socket, and if the reply lands during the send its wake-up is lost: the
cell then waits, both processes idle, until its timeout, and ends without an error (upstream
jupyter/nbclient#312).  ``rnnlib.widgets.live`` and ``live_html`` set the output widget's
``outputs`` instead, so the executor never sends during a cell.

``test_live_cells_never_stall_the_book_executor`` executes, for every page with a live control,
that page's own first code cell (its imports and parameters) and then its live-control cells
``REPEATS`` times, exactly as the book build does (same function, ``allow_errors=False``), with a
short per-cell timeout, and fails on

- a stall: a cell whose ``execute_reply`` reached the executor more than ``STALL_LAG`` seconds
  after the kernel sent it (a stalled cell waits for its whole timeout, ``TIMEOUT``);
- the race's precondition: any ``comm_msg`` the executor sent to the kernel;
- a cell error or a real timeout, or a control whose saved state holds no figure or table.

How many repetitions: issue 16 measured 7 stalls in 27 executions of the appendix (one live
control each), p = 7/27 per live-cell execution.  Each of the five pages has one live cell, run
``REPEATS = 5`` times: 25 executions, which the old ``live`` would pass without a stall with
probability (20/27)^25 = 5.5e-4.  Where the race is rarer (here, 2 cores loaded by other jobs:
5 stalls in 140 executions, 3.6%) the stall check alone would miss it often ((1 - 0.036)^25 =
0.40), which is why the test also counts the executor's ``comm_msg`` sends, the race's
precondition: the old ``live`` makes one in every execution.

Runs in ``make test`` (marker ``executor``; about a minute in the fast profile on an idle machine).
"""

from __future__ import annotations

import datetime as dt
import os
import re
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

pytestmark = pytest.mark.executor

ROOT = Path(__file__).resolve().parents[1]
TIMEOUT = 120         # seconds per cell (the book's is 600); a first draw that trains takes ~50 s
                      # on 2 loaded cores
STALL_LAG = 10.0      # a reply received later than this is a lost wake-up (normal: < 0.1 s)
REPEATS = 5           # executions of each live-control cell (see the module docstring)

# Every page with a live control, and what its live cells need beyond the page's first code cell
# (state the page builds in its body, replaced by the smallest stand-in).
PAGES = {
    "appendix/making_the_book.md": "",
    "chapters/02_concept_class.ipynb": "",
    "chapters/03_initialization.ipynb": "",
    "chapters/04_sgd_on_w.ipynb": "BASE = tasks.sgd_design().base  # the chapter's second cell\n"
                                  "runs = {}  # the chapter's cache of trained runs, filled in its body",
    "chapters/08_claims_ledger.ipynb": "",
}
# A live control is a call of the library's fixed path; a direct interact/interactive (or a
# display into an Output) is the path that stalls.
LIVE_CALL = re.compile(r"\bwidgets\.live(_html)?\(")
DIRECT_CALL = re.compile(r"\b(interact|interactive|interact_manual)\(|\bOutput\(")


def _read_page(page: str):
    import nbformat

    path = ROOT / page
    if path.suffix == ".md":
        from myst_nb.core.read import read_myst_markdown_notebook

        return read_myst_markdown_notebook(path.read_text(encoding="utf-8"))
    return nbformat.read(path, as_version=4)


def _code_cells(nb) -> list[str]:
    return [c.source for c in nb.cells if c.cell_type == "code"]


def _book_pages() -> list[str]:
    """The executable pages of the table of contents (chapters and MyST notebooks)."""
    pages = [str(p.relative_to(ROOT)) for p in sorted((ROOT / "chapters").glob("*.ipynb"))]
    for md in sorted(ROOT.glob("*.md")) + sorted((ROOT / "appendix").glob("*.md")):
        if md.read_text(encoding="utf-8").lstrip().startswith("---") and "code-cell" in md.read_text(encoding="utf-8"):
            pages.append(str(md.relative_to(ROOT)))
    return pages


def live_cells(page: str) -> list[str]:
    """The sources of a page's code cells that make a live control."""
    return [s for s in _code_cells(_read_page(page)) if LIVE_CALL.search(s)]


def page_notebook(page: str, repeats: int):
    """The page's first code cell, its stand-ins, then each live cell ``repeats`` times."""
    from nbformat.v4 import new_code_cell, new_notebook

    first = _code_cells(_read_page(page))[0]
    cells = [new_code_cell(first)]
    if PAGES[page]:
        cells.append(new_code_cell(PAGES[page]))
    cells += [new_code_cell(src) for _ in range(repeats) for src in live_cells(page)]
    nb = new_notebook(cells=cells)
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    return nb


@dataclass
class Execution:
    """What happened when the book's executor ran a notebook."""

    error: BaseException | None
    seconds: float
    reply_lag: dict[int, float] = field(default_factory=dict)   # cell index -> s from kernel reply to receipt
    comm_msgs_sent: int = 0                                     # comm_msg the executor sent to the kernel


def execute_like_the_book(nb, cwd: Path, timeout: int) -> Execution:
    """Execute ``nb`` in place the way myst-nb's cache mode does, measuring each reply's lag.

    myst-nb calls ``jupyter_cache.executors.utils.single_nb_execution(nb, cwd=..., timeout=...,
    allow_errors=False, meta_override=True)``; the same call here adds only nbclient's cell hooks,
    which timestamp each cell and do not touch the message flow.
    """
    import jupyter_client.channels
    from jupyter_cache.executors.utils import single_nb_execution

    lags: dict[int, float] = {}
    sent = []
    channel = jupyter_client.channels.ZMQSocketChannel
    original_send = channel.send

    def counting_send(self, msg):
        if (msg.get("header") or {}).get("msg_type") == "comm_msg":
            sent.append(msg)
        return original_send(self, msg)

    def executed(cell, cell_index, execute_reply):
        stamp = execute_reply["header"]["date"]
        if isinstance(stamp, str):
            stamp = dt.datetime.fromisoformat(stamp)
        lags[cell_index] = time.time() - stamp.timestamp()

    channel.send = counting_send
    try:
        t0 = time.perf_counter()
        result = single_nb_execution(nb, cwd=str(cwd), timeout=timeout, allow_errors=False,
                                     meta_override=True, on_cell_executed=executed)
    finally:
        channel.send = original_send
    return Execution(result.err, time.perf_counter() - t0, lags, len(sent))


def saved_outputs(nb) -> list[tuple]:
    """The outputs saved in the state of each Output widget of an executed notebook."""
    state = nb.metadata.get("widgets", {}).get("application/vnd.jupyter.widget-state+json", {}).get("state", {})
    return [tuple(o["output_type"] for o in m["state"].get("outputs", ()))
            for m in state.values() if m.get("model_name") == "OutputModel"]


@pytest.fixture
def book_kernel_env(monkeypatch, tmp_path):
    """The environment the book build gives its kernels: fast profile, inline figures, own cache."""
    monkeypatch.setenv("RNNLIB_FAST", "1")
    monkeypatch.delenv("MPLBACKEND", raising=False)       # Agg would replace the inline backend
    monkeypatch.setenv("RNNLIB_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])))
    return tmp_path


def test_pages_list_every_page_with_a_live_control_and_none_calls_interact_directly():
    with_live = {p for p in _book_pages() if live_cells(p)}
    assert with_live == set(PAGES), f"pages with a live control {sorted(with_live)}, tested {sorted(PAGES)}"
    direct = {p: [s.splitlines()[1] if s.startswith("#") else s.splitlines()[0]
                  for s in _code_cells(_read_page(p)) if DIRECT_CALL.search(s)] for p in _book_pages()}
    direct = {p: cells for p, cells in direct.items() if cells}
    assert not direct, ("a page makes a live control with ipywidgets directly (it stalls the book's "
                        f"executor; use rnnlib.widgets.live or live_html): {direct}")


@pytest.mark.parametrize("page", sorted(PAGES))
def test_live_cells_never_stall_the_book_executor(page, book_kernel_env):
    n_live = len(live_cells(page))
    assert n_live >= 1, f"{page} has no cell calling widgets.live or widgets.live_html"
    nb = page_notebook(page, REPEATS)
    run = execute_like_the_book(nb, ROOT / Path(page).parent, TIMEOUT)

    assert run.error is None, f"{page}: {type(run.error).__name__}: {run.error}"
    stalled = {i: round(lag, 1) for i, lag in run.reply_lag.items() if lag > STALL_LAG}
    assert not stalled, (f"{page}: cells whose execute_reply reached the executor late (cell: seconds), "
                         f"a lost wake-up (jupyter/nbclient#312): {stalled}")
    assert len(run.reply_lag) == len(nb.cells)
    assert run.comm_msgs_sent == 0, (f"{page}: the executor sent {run.comm_msgs_sent} comm_msg to the kernel "
                                     "during cells (a display into an ipywidgets.Output), the race of nbclient#312")
    shown = saved_outputs(nb)
    assert len(shown) == REPEATS * n_live, (page, shown)
    assert all(s == ("display_data",) for s in shown), (f"{page}: every control's saved state must hold its "
                                                       f"figure or table, got {shown}")


def _until_idle(kc, parent_id: str, timeout: float = 60) -> list[dict]:
    """The IOPub messages of one request, up to its idle status."""
    msgs = []
    deadline = time.monotonic() + timeout
    while True:
        msg = kc.get_iopub_msg(timeout=max(0.1, deadline - time.monotonic()))
        if msg["parent_header"].get("msg_id") != parent_id:
            continue
        msgs.append(msg)
        if msg["msg_type"] == "status" and msg["content"]["execution_state"] == "idle":
            return msgs


def _opened(msgs: list[dict], model: str) -> list[str]:
    return [m["content"]["comm_id"] for m in msgs if m["msg_type"] == "comm_open"
            and m["content"]["data"]["state"].get("_model_name") == model]


def _outputs_set(msgs: list[dict], comm_id: str) -> list[tuple]:
    return [m["content"]["data"]["state"]["outputs"] for m in msgs
            if m["msg_type"] == "comm_msg" and m["content"]["comm_id"] == comm_id
            and "outputs" in m["content"]["data"].get("state", {})]


@pytest.mark.parametrize("call, control, new_state, mime", [
    ("widgets.live(plot_concept_explorer, {'length': [4, 8, 16], 'phi': ['sin(3z)', 'exp(z)-1']})",
     "SelectionSliderModel", {"index": 0}, "image/png"),
    ("widgets.live_html(ledger_view.theory_calculator_html, length=ipywidgets.IntSlider(value=10, min=2, max=100))",
     "IntSliderModel", {"value": 40}, "text/html"),
])
def test_a_moved_control_redraws_in_a_running_kernel(call, control, new_state, mime, book_kernel_env):
    """A reader moving a control (a front end's comm_msg) gets a new figure or table in the output."""
    from jupyter_client.manager import start_new_kernel

    km, kc = start_new_kernel(kernel_name="python3", cwd=str(ROOT))
    try:
        setup = "import ipywidgets\nfrom rnnlib import ledger_view, widgets\nfrom rnnlib.plots.concept_class import plot_concept_explorer\n"
        msgs = _until_idle(kc, kc.execute(setup + call))
        assert not [m for m in msgs if m["msg_type"] == "error"], msgs
        (slider, *_), (out,) = _opened(msgs, control), _opened(msgs, "OutputModel")
        (first,) = _outputs_set(msgs, out)
        # what JupyterLab sends when the reader releases the slider at a new position
        update = kc.session.msg("comm_msg", content={"comm_id": slider, "data": {
            "method": "update", "state": new_state, "buffer_paths": []}})
        kc.shell_channel.send(update)
        moved = _until_idle(kc, update["header"]["msg_id"])
        redrawn = _outputs_set(moved, out)
        assert redrawn and len(redrawn[-1]) == 1, moved
        assert mime in redrawn[-1][0]["data"] and redrawn[-1][0]["data"][mime] != first[0]["data"][mime]
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)
