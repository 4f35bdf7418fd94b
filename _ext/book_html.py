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
"""

from __future__ import annotations

import os

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
                       "require.config({paths: {'@jupyter-widgets/html-manager/dist': dist.replace(/\\/$/, '')}}); })();")
        # The same class and priority as the manager's entry, so that sorting keeps them before it.
        make = type(manager)
        scripts[at:at] = [make(None, priority=manager.priority, body=assets_path),
                          make(None, priority=manager.priority, body=MATHJAX2_QUEUE_SHIM)]


def setup(app):
    app.connect("config-inited", _on_config_inited)
    # After the theme and myst-nb (priority 500-501) have added their per-page scripts.
    app.connect("html-page-context", _on_page_context, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
