"""Fixes to the HTML pages that Jupyter Book 1 (Sphinx 7.4, sphinx-book-theme, myst-nb) writes.

Loaded through `sphinx.local_extensions` in _config.yml.

1. Launch buttons (Binder, Colab) only when the book's public repository is known. sphinx-book-theme
   builds the launch links of a notebook page from the repository URL (`repository.url` in
   _config.yml, the theme option ``repository_url``). Only whoever publishes the book knows it; they
   pass it as the environment variable ``BOOK_REPOSITORY_URL`` (the Makefile exports its variable of
   that name) or write it into _config.yml. Without a URL the launch providers are turned off: the
   theme would otherwise fail on the empty URL, and Jupyter Book's default URL is another project's.

2. Each inline script once. Sphinx 7.4 keeps a body-only script added after the builder started
   (sphinx-togglebutton's selector, sphinx-thebe's settings) twice, once with the file name ``None``
   and once with ``""``, so every page declared ``const THEBE_JS_URL`` twice and the browser threw
   "Identifier 'THEBE_JS_URL' has already been declared". The page's script list is deduplicated.

3. Saved widgets rendered by the local widget manager (_config.yml: nb_ipywidgets_js). On pages that
   load it, two inline scripts go before it: the folder of its font files (its module path for
   RequireJS, which otherwise resolves against the page and gives 404s), and a stand-in for MathJax 2's
   ``MathJax.Hub.Queue``, which ipywidgets 8 calls to typeset widget labels; the book uses MathJax 3,
   where the call threw "Cannot read properties of undefined (reading 'Queue')".

4. The version (issue 17, item 4). ``{{ rnnlib_version }}`` in a Markdown page (the front page's citation
   and BibTeX block) becomes ``rnnlib.__version__`` when the page is read, so the book shows the
   version of the library that built it; tests/test_citation.py checks it against pyproject.toml and
   CITATION.cff.

5. Provenance (issue 17, item 5). Every page built from a notebook ends with a provenance footer: the
   commit (``git rev-parse --short HEAD``, flagged when the tree has uncommitted changes), the profile
   (``RNNLIB_FAST``), the seeds policy and the versions of Python, rnnlib, numpy, torch and matplotlib.
   The figure index of the appendix (appendix/figures.md) is generated when it is read, from the
   chapters' code (_ext/figure_index.py).

6. The site's ``index.html``. The book's root page is intro.html; sphinx-external-toc writes an
   ``index.html`` that is only a ``<meta http-equiv="Refresh">`` line, with no icon, so a browser asks
   for ``/favicon.ico`` (a 404 that tests/test_browser.py sees whenever it is faster than the redirect).
   The book writes that page itself first, a complete HTML document with the book's icon.
"""

from __future__ import annotations

import ast
import html
import os
import platform
import subprocess
from importlib import metadata
from pathlib import Path

from sphinx.util import logging

LOGGER = logging.getLogger(__name__)
ENV_VAR = "BOOK_REPOSITORY_URL"
WIDGET_MANAGER = "ipywidgets/embed-amd.js"  # as in _config.yml's nb_ipywidgets_js, relative to _static/
# ipywidgets 8 calls MathJax.Hub.Queue(["Typeset", MathJax.Hub, element]) (MathJax 2). With MathJax 3
# loaded, queue the typesetting of that element on MathJax 3's startup promise, as MathJax 3's
# documentation advises for typesetting after page load. The widget manager renders on the window's
# load event, after MathJax (a deferred script) has replaced its configuration object.
MATHJAX2_QUEUE_SHIM = """(function () {
  function install() {
    var MJ = window.MathJax;
    if (!MJ || MJ.Hub || !MJ.startup) return;
    MJ.Hub = {Queue: function () {
      Array.prototype.forEach.call(arguments, function (cmd) {
        if (Array.isArray(cmd) && cmd[0] === "Typeset" && cmd[2]) {
          MJ.startup.promise = MJ.startup.promise.then(function () { return MJ.typesetPromise([cmd[2]]); });
        }
      });
    }};
  }
  document.addEventListener("DOMContentLoaded", install);
  window.addEventListener("load", install);
})();"""
PROVIDERS = ("binderhub_url", "jupyterhub_url", "colab_url", "deepnote_url", "jupyterlite_url", "thebe")


def configure_launch_buttons(theme_options: dict, environ=os.environ) -> dict:
    """Theme options with ``repository_url`` from the environment; launch providers dropped without one.

    Args:
        theme_options: Sphinx ``html_theme_options`` as Jupyter Book derives them from _config.yml.
        environ: where ``BOOK_REPOSITORY_URL`` is read (default: the process environment).

    Returns:
        a new dict (the input is not modified).

    Raises:
        ValueError: the URL is not an http(s) URL.
    """
    options = dict(theme_options)
    url = (environ.get(ENV_VAR) or "").strip() or (options.get("repository_url") or "").strip()
    if url and not url.startswith(("https://", "http://")):
        raise ValueError(f"{ENV_VAR} (or repository.url) must be the http(s) URL of the book's repository, "
                         f"got {url!r}")
    options["repository_url"] = url
    if not url:
        options["launch_buttons"] = {k: v for k, v in (options.get("launch_buttons") or {}).items()
                                     if k not in PROVIDERS}
    return options


def unique_scripts(scripts: list) -> list:
    """``scripts`` without repeats; a missing file name (``None``) and ``""`` count as the same."""
    seen, out = set(), []
    for js in scripts:
        attrs = getattr(js, "attributes", None) or {}
        key = (getattr(js, "filename", js) or "", tuple(sorted((k, repr(v)) for k, v in attrs.items())))
        if key not in seen:
            seen.add(key)
            out.append(js)
    return out


def _on_config_inited(app, config) -> None:
    config.html_theme_options = configure_launch_buttons(config.html_theme_options)
    if not config.html_theme_options["repository_url"]:
        LOGGER.info(f"[book_html] no launch buttons: {ENV_VAR} is not set")


def _on_page_context(app, pagename, templatename, context, doctree) -> None:
    # The list is the builder's own, restored after each page, so it is changed in place.
    scripts = context.get("script_files")
    if not scripts:
        return
    scripts[:] = unique_scripts(scripts)
    at = next((i for i, js in enumerate(scripts)
               if str(getattr(js, "filename", js) or "").endswith(WIDGET_MANAGER)), None)
    if at is not None:
        manager = scripts[at]
        folder = context["pathto"]("_static/" + WIDGET_MANAGER.rsplit("/", 1)[0] + "/", 1)
        # The manager finds its font files from the URL that RequireJS gives its module, by default
        # "@jupyter-widgets/html-manager/dist/..." relative to the page; map that id to the folder.
        # (Its own __jupyter_widgets_assets_path__ setting comes too late for the stylesheets.)
        assets_path = (f"(function () {{ var dist = new URL({folder!r}, document.baseURI).href; "
                       "window.__jupyter_widgets_assets_path__ = dist; "
                       "require.config({paths: "
                       "{'@jupyter-widgets/html-manager/dist': dist.replace(/\\/$/, '')}}); })();")
        # The same class and priority as the manager's entry, so that sorting keeps them before it.
        make = type(manager)
        scripts[at:at] = [make(None, priority=manager.priority, body=assets_path),
                          make(None, priority=manager.priority, body=MATHJAX2_QUEUE_SHIM)]


VERSION_TOKEN = "{{ rnnlib_version }}"
FIGURE_INDEX_DOC = "appendix/figures"
REPRODUCIBILITY_DOC = "appendix/reproducibility"
PACKAGES = ("rnnlib", "numpy", "torch", "matplotlib")
SEEDS_POLICY = ("fixed: every random draw takes an explicit seed from the chapter's code or from its "
                "ExperimentConfig.seed, so the same profile and commit give the same numbers")


def library_version() -> str:
    """``rnnlib.__version__`` of the library the notebooks import, read from its ``__init__.py`` (``ast``)
    without importing it: the import brings torch, 1.4 s of CPU in Sphinx and again in _ext/execute_book.py
    before its first page starts (issue 12's re-execution)."""
    source = library_source()
    tree = ast.parse(source.read_text(encoding="utf-8"))
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == "__version__" for t in node.targets):
            return str(ast.literal_eval(node.value))
    raise RuntimeError(f"{source} assigns no __version__")


def library_source() -> Path:
    """The ``__init__.py`` of the rnnlib that ``import rnnlib`` would load here, found without importing it
    (``figure_index.library_root``, where the figure index reads the drawing functions' docstrings)."""
    import figure_index

    root = figure_index.library_root("rnnlib")
    if root is None:
        raise RuntimeError("rnnlib is not importable here: the book needs the library installed (make venv)")
    return root / "rnnlib" / "__init__.py"


def git_commit(srcdir, run=subprocess.run) -> str:
    """``"<short hash>"``, ``"<short hash> (uncommitted changes)"``, or ``"unknown (not a git checkout)"``.

    Build outputs are ignored by .gitignore, so only changes to tracked or new source files count.
    """
    try:
        head = run(["git", "rev-parse", "--short", "HEAD"], cwd=srcdir, capture_output=True, text=True, check=True)
        status = run(["git", "status", "--porcelain"], cwd=srcdir, capture_output=True, text=True, check=True)
    except (OSError, subprocess.CalledProcessError):
        return "unknown (not a git checkout)"
    commit = head.stdout.strip()
    return commit + (" (uncommitted changes)" if status.stdout.strip() else "")


def provenance(srcdir, environ=os.environ) -> dict:
    """What produced the pages: commit, profile, seeds policy and package versions (strings)."""
    fast = environ.get("RNNLIB_FAST", "") not in ("", "0")
    versions = {"python": platform.python_version()}
    for name in PACKAGES:
        try:
            versions[name] = library_version() if name == "rnnlib" else metadata.version(name)
        except (ImportError, metadata.PackageNotFoundError):
            versions[name] = "not installed"
    return {"commit": git_commit(srcdir),
            "profile": "fast (RNNLIB_FAST=1)" if fast else "full fidelity (RNNLIB_FAST unset)",
            "seeds": SEEDS_POLICY, "versions": versions}


#: The book's PDF (_ext/book_pdf.py) states the build's provenance once, on its first page, instead of
#: at the end of every page: a page's print is reused while its content is unchanged, so a footer naming
#: the commit would either reprint every page at each commit or show an older commit.
PRINT_CSS = ("<style>@media print{.rnnlib-provenance{display:none}}"
             "@media screen{.rnnlib-print-provenance{display:none}}</style>")


def provenance_html(info: dict, seeds_href: str) -> str:
    """The footer block of a notebook page (escaped HTML; hidden in print, see :data:`PRINT_CSS`)."""
    e = html.escape
    versions = ", ".join(f"{e(k)} {e(v)}" for k, v in info["versions"].items())
    return (PRINT_CSS + '<aside class="rnnlib-provenance" id="provenance" aria-label="Provenance" '
            'style="margin-top:2em;padding-top:.5em;border-top:1px solid #ccc;font-size:.85em">'
            '<p><strong>Provenance of this page.</strong> Executed when the book was built, at commit '
            f'<code class="rnnlib-commit">{e(info["commit"])}</code>; profile: <span class="rnnlib-profile">'
            f'{e(info["profile"])}</span>; seeds: <a href="{e(seeds_href)}">{e(info["seeds"])}</a>; '
            f'packages: <span class="rnnlib-versions">{versions}</span>.</p></aside>')


def print_provenance_html(info: dict) -> str:
    """The root page's print-only line: the provenance of the build the PDF was printed from."""
    e = html.escape
    versions = ", ".join(f"{e(k)} {e(v)}" for k, v in info["versions"].items())
    return (PRINT_CSS + '<p class="rnnlib-print-provenance" style="font-size:.85em">'
            '<strong>Provenance of this print.</strong> Every page was executed when the book was built, at commit '
            f'<code class="rnnlib-commit">{e(info["commit"])}</code>; profile: {e(info["profile"])}; seeds: '
            f'{e(info["seeds"])}; packages: {versions}.</p>')


def is_notebook(path: Path) -> bool:
    """A page executed as a notebook: an .ipynb, or a MyST Markdown file with a kernelspec."""
    if path.suffix == ".ipynb":
        return True
    if path.suffix != ".md" or not path.is_file():
        return False
    head = path.read_text(encoding="utf-8")[:2000]
    return head.startswith("---") and "kernelspec:" in head.split("---", 2)[1]


def _on_builder_inited(app) -> None:
    app.env.rnnlib_provenance = provenance(app.srcdir)
    source = library_source()
    if Path(app.srcdir).resolve() not in source.parents:
        LOGGER.warning(f"[book_html] the book in {app.srcdir} is built with the rnnlib of {source.parent}; "
                       "put the book's own library first on the path")


def _on_source_read(app, docname, source) -> None:
    text = source[0]
    if VERSION_TOKEN in text:
        text = text.replace(VERSION_TOKEN, library_version())
    if docname == FIGURE_INDEX_DOC:
        import figure_index

        table, problems = figure_index.index_markdown(Path(app.srcdir), _chapters(app))
        for problem in problems:
            LOGGER.warning(f"[book_html] figure index: {problem}")
        if figure_index.MARKER not in text:
            LOGGER.warning(f"[book_html] {docname} has no {figure_index.MARKER} line for the figure index")
        text = text.replace(figure_index.MARKER, table)
    source[0] = text


def _chapters(app) -> list:
    """The notebook documents in reading order (the toc's order where it is known)."""
    docs = [d for d in sorted(app.env.found_docs) if app.env.doc2path(d).endswith(".ipynb")]
    return docs


def _on_outdated(app, env, added, changed, removed) -> list:
    # the index reads the notebooks, not its own source: re-read it on every build
    return [FIGURE_INDEX_DOC] if FIGURE_INDEX_DOC in env.found_docs else []


def _add_provenance(app, pagename, context) -> None:
    info = getattr(app.env, "rnnlib_provenance", None)
    if info is None or "body" not in context or pagename not in app.env.found_docs:
        return
    if pagename == app.config.root_doc:
        context["body"] += print_provenance_html(info)
    if not is_notebook(Path(app.env.doc2path(pagename))):
        return
    # pathto() of the page itself is "#"
    page = "" if pagename == REPRODUCIBILITY_DOC else context["pathto"](REPRODUCIBILITY_DOC)
    href = page + "#seeds-and-determinism"
    context["body"] += provenance_html(info, href)


def _write_index(app, exception) -> None:
    """The redirect ``index.html`` -> the root page, with the book's icon (item 6)."""
    index = Path(app.outdir) / "index.html"
    if exception is not None or "html" not in app.builder.format or app.config.root_doc == "index" \
            or app.builder.name == "dirhtml":
        return
    target = html.escape(f"{app.config.root_doc}.html")
    icon = html.escape(f"_static/{Path(app.config.html_favicon).name}") if app.config.html_favicon else ""
    index.write_text('<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
                     f'<meta http-equiv="Refresh" content="0; url={target}">\n'
                     + (f'<link rel="icon" href="{icon}">\n' if icon else "")
                     + f'<title>{html.escape(app.config.project)}</title>\n</head>\n'
                     f'<body><p><a href="{target}">{target}</a></p></body>\n</html>\n', encoding="utf-8")


def setup(app):
    app.connect("config-inited", _on_config_inited)
    # before sphinx-external-toc's own redirect (priority 500), which then finds the page written
    app.connect("build-finished", _write_index, priority=400)
    app.connect("builder-inited", _on_builder_inited)
    app.connect("source-read", _on_source_read)
    app.connect("env-get-outdated", _on_outdated)
    app.connect("html-page-context", lambda app, pagename, templatename, context, doctree:
                _add_provenance(app, pagename, context), priority=900)
    # After the theme and myst-nb (priority 500-501) have added their per-page scripts.
    app.connect("html-page-context", _on_page_context, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
