"""Unit tests of the book's Sphinx extension _ext/book_html.py (launch buttons, page scripts)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "_ext"))

import book_html  # noqa: E402

THEME = {
    "repository_url": "",
    "launch_buttons": {"notebook_interface": "jupyterlab", "binderhub_url": "https://mybinder.org",
                       "colab_url": "https://colab.research.google.com"},
    "use_download_button": True,
}


def test_without_a_repository_the_launch_providers_are_dropped():
    out = book_html.configure_launch_buttons(THEME, environ={})
    assert out["repository_url"] == ""
    assert out["launch_buttons"] == {"notebook_interface": "jupyterlab"}
    assert out["use_download_button"] is True
    assert THEME["launch_buttons"]["binderhub_url"]  # the input is left alone


def test_the_environment_gives_the_repository_and_keeps_the_buttons():
    url = "https://github.com/someone/rnn-book"
    out = book_html.configure_launch_buttons(THEME, environ={"BOOK_REPOSITORY_URL": f" {url} "})
    assert out["repository_url"] == url
    assert out["launch_buttons"] == THEME["launch_buttons"]


def test_a_repository_in_the_config_is_used_when_the_environment_is_silent():
    theme = dict(THEME, repository_url="https://gitlab.com/someone/rnn-book")
    out = book_html.configure_launch_buttons(theme, environ={"BOOK_REPOSITORY_URL": ""})
    assert out["repository_url"] == "https://gitlab.com/someone/rnn-book"
    assert "binderhub_url" in out["launch_buttons"]


def test_a_repository_that_is_not_a_url_is_refused():
    with pytest.raises(ValueError, match="BOOK_REPOSITORY_URL.*'someone/rnn-book'"):
        book_html.configure_launch_buttons(THEME, environ={"BOOK_REPOSITORY_URL": "someone/rnn-book"})


class _Script:
    """Stands in for Sphinx's _JavaScript: a file name, a priority and attributes."""

    def __init__(self, filename, priority=500, **attributes):
        self.filename, self.priority, self.attributes = filename, priority, attributes


def test_an_inline_script_added_twice_appears_once():
    scripts = [_Script("_static/doctools.js"), _Script(None, body="const A = 1"),
               _Script("_static/x.js", **{"async": "async"}), _Script("", body="const A = 1"),
               _Script(None, body="const B = 2"), _Script("_static/doctools.js")]
    out = book_html.unique_scripts(scripts)
    assert [(s.filename, s.attributes.get("body")) for s in out] == [
        ("_static/doctools.js", None), (None, "const A = 1"), ("_static/x.js", None), (None, "const B = 2")]
