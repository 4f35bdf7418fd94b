"""Provenance footers and the figure index (issue 17, item 5), and the figures' opaque background (item 3).

Unit tests of _ext/book_html.py's provenance helpers and of _ext/figure_index.py run on any checkout;
the `book` tests read the built HTML (RNNLIB_BOOK_HTML, as tests/test_book_html.py): every page executed
as a notebook ends with a footer naming the commit it was built at, the profile, the seeds policy and the
package versions of this environment, and the appendix's figure index lists every figure the chapters
glue, with a library function that exists.
"""
from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "_ext"))

import book_html  # noqa: E402
import figure_index  # noqa: E402

HTML = ROOT / os.environ.get("RNNLIB_BOOK_HTML", "_build/fast/_build/html")
CHAPTERS = sorted((ROOT / "chapters").glob("*.ipynb"))


# ---------------------------------------------------------------------------------------------
# Provenance helpers


def test_git_commit_flags_uncommitted_changes():
    def fake(status):
        def run(cmd, **kw):
            out = "abc1234\n" if "rev-parse" in cmd else status
            return subprocess.CompletedProcess(cmd, 0, stdout=out, stderr="")
        return run

    assert book_html.git_commit(ROOT, run=fake("")) == "abc1234"
    assert book_html.git_commit(ROOT, run=fake(" M intro.md\n")) == "abc1234 (uncommitted changes)"


def test_git_commit_outside_a_checkout(tmp_path):
    def run(cmd, **kw):
        raise subprocess.CalledProcessError(128, cmd)

    assert book_html.git_commit(tmp_path, run=run) == "unknown (not a git checkout)"


def test_the_library_version_is_read_without_importing_the_library():
    """Sphinx and the page executor read rnnlib's version from its source: importing it brings torch."""
    import rnnlib

    assert book_html.library_version() == rnnlib.__version__
    code = ("import sys; sys.path.insert(0, '_ext'); import book_html; v = book_html.library_version(); "
            "print(v, 'torch' in sys.modules, 'rnnlib' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    assert out.split() == [rnnlib.__version__, "False", "False"]


@pytest.mark.parametrize("env, profile", [({"RNNLIB_FAST": "1"}, "fast"), ({}, "full"), ({"RNNLIB_FAST": "0"}, "full")])
def test_provenance_names_the_profile_and_versions(env, profile):
    info = book_html.provenance(ROOT, environ=env)
    assert info["profile"].startswith(profile)
    assert info["versions"]["numpy"] == np.__version__
    assert info["versions"]["torch"] == metadata.version("torch")
    assert info["versions"]["matplotlib"] == metadata.version("matplotlib")
    assert info["versions"]["python"] == ".".join(map(str, sys.version_info[:3]))


def test_provenance_html_escapes_and_links_the_seeds_policy():
    info = {"commit": "abc<1>", "profile": "fast", "seeds": "fixed", "versions": {"numpy": "2.0"}}
    out = book_html.provenance_html(info, "../appendix/reproducibility.html#seeds-and-determinism")
    assert "abc&lt;1&gt;" in out and "<1>" not in out
    assert 'href="../appendix/reproducibility.html#seeds-and-determinism"' in out and "numpy 2.0" in out


def test_is_notebook(tmp_path):
    md = tmp_path / "a.md"
    md.write_text("---\nkernelspec:\n  name: python3\n---\n# A\n")
    plain = tmp_path / "b.md"
    plain.write_text("# B\n")
    assert book_html.is_notebook(md) and not book_html.is_notebook(plain)
    assert book_html.is_notebook(tmp_path / "c.ipynb")


# ---------------------------------------------------------------------------------------------
# Figure index


def _nb(tmp_path, *sources) -> Path:
    cells = [{"cell_type": "code", "metadata": {}, "source": s, "outputs": [], "execution_count": None}
             for s in sources]
    path = tmp_path / "nb.ipynb"
    path.write_text(json.dumps({"cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 5}))
    return path


def test_figure_index_follows_imports_glue_and_widgets(tmp_path):
    path = _nb(tmp_path,
               "from rnnlib.plots import sgd as plots\nimport rnnlib.plots.question as q\nfrom rnnlib import widgets",
               "fig = q.plot_prior_bounds(1)\nglue('fig-a', fig)\nfig = plots.plot_lazy_regime(2)\nglue('fig-b', fig)",
               "%matplotlib inline\nglue('fig-c', plots.plot_pseudo_network(3), display=False)",
               "widgets.slider(plots.plot_training_run, {}, seed_id='s1')\nwidgets.live(plots.plot_training_run, {})",
               "plots.plot_training_curves([])")
    uses, problems = figure_index.scan_notebook(path, "chapters/x")
    got = {(u.cell, u.function.rsplit(".", 1)[1], u.figure) for u in uses}
    assert got == {(2, "plot_prior_bounds", "`fig-a`"), (2, "plot_lazy_regime", "`fig-b`"),
                   (3, "plot_pseudo_network", "`fig-c`"),
                   (4, "plot_training_run", "kernel-free slider `s1`"),
                   (4, "plot_training_run", "live widget (needs a kernel)"),
                   (5, "plot_training_curves", "shown by the cell")}
    assert not problems


def test_figure_index_reports_missing_functions_and_bad_cells(tmp_path):
    path = _nb(tmp_path, "from rnnlib.plots import sgd\nglue('f', sgd.plot_nothing_like_this())", "def (:")
    (tmp_path / "chapters").mkdir()
    path.rename(tmp_path / "chapters" / "x.ipynb")
    table, problems = figure_index.index_markdown(tmp_path, ["chapters/x"])
    assert any("sgd.plot_nothing_like_this cannot be found" in p for p in problems)
    assert any("does not parse" in p for p in problems)


def test_figure_index_reads_docstrings_from_the_source_as_an_import_would_give_them():
    """The index reads each drawing function's docstring with ``ast`` (no torch in Sphinx); through a
    package's re-exports it finds the same first sentence as the imported function's ``__doc__``."""
    import importlib

    functions = {u.function for p in CHAPTERS
                 for u in figure_index.scan_notebook(p, str(p.relative_to(ROOT).with_suffix("")))[0]}
    assert len(functions) >= 20
    for function in sorted(functions):
        module, _, name = function.rpartition(".")
        doc = getattr(importlib.import_module(module), name).__doc__
        expected = " ".join(doc.strip().split("\n\n")[0].split()).split(". ")[0]
        summary, problem = figure_index.describe(function)
        assert not problem and summary.rstrip(".") == expected.rstrip("."), function


def test_figure_index_follows_a_re_export_to_the_definition(tmp_path):
    pkg = tmp_path / "lib" / "plots"
    pkg.mkdir(parents=True)
    (tmp_path / "lib" / "__init__.py").write_text("")
    (pkg / "__init__.py").write_text("from .curves import plot_x as plot_y\nfrom ..plots import curves\n")
    (pkg / "curves.py").write_text('def plot_x():\n    """Draws x. More.\n\n    Details."""\n')
    assert figure_index.describe("lib.plots.plot_y", tmp_path) == ("Draws x.", "")
    assert figure_index.describe("lib.plots.curves.plot_x", tmp_path) == ("Draws x.", "")
    summary, problem = figure_index.describe("lib.plots.plot_x", tmp_path)   # not bound in the package
    assert summary is None and "lib.plots.plot_x cannot be found" in problem


def test_the_figure_index_imports_neither_the_library_nor_torch():
    code = ("import sys; sys.path.insert(0, '_ext'); import figure_index as f, pathlib; "
            "docs = [str(p.with_suffix('')) for p in sorted(pathlib.Path('chapters').glob('*.ipynb'))]; "
            "table, problems = f.index_markdown(pathlib.Path('.'), docs); assert not problems, problems; "
            "print(table.count('| `'), 'torch' in sys.modules, 'rnnlib' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    rows, torch, rnnlib = out.split()
    assert int(rows) >= 20 and (torch, rnnlib) == ("False", "False")


def test_figure_index_of_the_real_chapters_lists_every_glued_figure():
    docs = [str(p.relative_to(ROOT).with_suffix("")) for p in CHAPTERS]
    table, problems = figure_index.index_markdown(ROOT, docs)
    assert not problems, problems
    glued = set()
    for p in CHAPTERS:
        for cell in json.loads(p.read_text())["cells"]:
            if cell["cell_type"] == "code":
                src = "".join(cell["source"])
                glued |= set(re.findall(r"""glue\(\s*["'](fig-[\w-]+)["']""", src))
                glued |= set(re.findall(r"""["'](fig-[\w-]+)["']\s*:""", src))   # glue_all(result, {"fig-x": ...})
    listed = set(re.findall(r"\| `(fig-[\w-]+)` \|", table))
    assert glued and glued <= listed, f"glued but not in the index: {sorted(glued - listed)}"


# ---------------------------------------------------------------------------------------------
# Figures on an opaque light background (dark mode only dims images)


def test_figures_are_drawn_on_opaque_white():
    from PIL import Image

    from rnnlib.plots import new_figure

    fig, ax = new_figure()
    ax.plot([0, 1], [0, 1])
    assert fig.get_facecolor() == (1.0, 1.0, 1.0, 1.0)
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    img = np.asarray(Image.open(buf).convert("RGBA"))
    assert img[..., 3].min() == 255, "the saved figure has transparent pixels"
    assert (img[0, 0, :3] == 255).all(), "the figure's corner is not white"


# ---------------------------------------------------------------------------------------------
# The built book


def _notebook_pages() -> list[Path]:
    docs = [p.relative_to(ROOT).with_suffix("") for p in CHAPTERS]
    docs += [p.relative_to(ROOT).with_suffix("") for p in (ROOT / "appendix").glob("*.md")
             if book_html.is_notebook(p)]
    return [HTML / f"{d}.html" for d in docs]


@pytest.mark.book
@pytest.mark.skipif(not HTML.is_dir(), reason=f"no built book at {HTML}; run `make test`")
@pytest.mark.parametrize("page", [p.name for p in _notebook_pages()])
def test_every_notebook_page_has_a_provenance_footer(page):
    path = next(p for p in _notebook_pages() if p.name == page)
    text = path.read_text(encoding="utf-8")
    m = re.search(r'<aside class="rnnlib-provenance".*?</aside>', text, re.S)
    assert m, f"{page}: no provenance footer"
    footer = m.group(0)
    commit = re.search(r'<code class="rnnlib-commit">([^<]+)</code>', footer).group(1)
    head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True)
    if head.returncode == 0:
        assert commit.split()[0] == head.stdout.strip(), f"{page} was built at {commit}, HEAD is {head.stdout.strip()}"
    profile = "fast" if "/fast/" in str(HTML) else "full"
    assert re.search(rf'class="rnnlib-profile">{profile}', footer), f"{page}: profile is not {profile}: {footer}"
    for name in ("numpy", "torch", "matplotlib"):
        assert f"{name} {metadata.version(name)}" in footer, f"{page}: {name} version missing or different"
    assert "seeds-and-determinism" in footer


def test_the_footer_is_hidden_in_print_and_the_print_states_the_provenance_once():
    info = {"commit": "abc1234", "profile": "fast", "seeds": "fixed", "versions": {"numpy": "2.0"}}
    footer, once = book_html.provenance_html(info, "#s"), book_html.print_provenance_html(info)
    assert "@media print{.rnnlib-provenance{display:none}}" in footer
    assert 'class="rnnlib-print-provenance"' in once and "abc1234" in once and "@media screen" in once


@pytest.mark.book
@pytest.mark.skipif(not (HTML / "intro.html").is_file(), reason=f"no built book at {HTML}")
def test_the_root_page_carries_the_provenance_of_the_print():
    text = (HTML / "intro.html").read_text(encoding="utf-8")
    m = re.search(r'<p class="rnnlib-print-provenance".*?</p>', text, re.S)
    assert m and 'class="rnnlib-commit"' in m.group(0), "intro.html: no print-only provenance line"


@pytest.mark.book
@pytest.mark.skipif(not (HTML / "appendix" / "figures.html").is_file(), reason=f"no built figure index in {HTML}")
def test_built_figure_index_lists_the_figures_with_links():
    text = (HTML / "appendix" / "figures.html").read_text(encoding="utf-8")
    assert figure_index.MARKER not in text
    rows = re.findall(r"<tr[^>]*>\s*<td", text)
    assert len(rows) >= 8, f"the figure index has only {len(rows)} rows"
    for p in CHAPTERS:
        assert f'href="../chapters/{p.stem}.html"' in text, f"the index links to no figure of {p.stem}"
