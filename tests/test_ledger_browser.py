"""Chapter 8's claims ledger in a real browser (issue 14): at the book's normal page width (the
viewport of tests/cdp.py, 1280 x 900 CSS pixels) the compact ledger table has no horizontal overflow,
with every row's details dropdown closed and open, and every verdict badge carries its tone's
colours, readable in the light and the dark theme.

It reuses the server, the browser and the helpers of tests/test_browser.py (marker ``browser``): without
a built book (``make book-fast``; RNNLIB_BOOK_HTML points elsewhere) or without Chromium it skips.
"""
from __future__ import annotations

import re
import urllib.parse

import pytest

from test_browser import (CHROMIUM, HTML, INSTALL_HINT, LOAD_TIMEOUT, REQUIRED, SETTLE_TIMEOUT, SETTLED,  # noqa: F401
                          _set_theme, book_pages, browser, server)

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not HTML.is_dir(), reason=f"no built book at {HTML}; run `make test` or `make book-fast`"),
    pytest.mark.skipif(CHROMIUM is None and not REQUIRED, reason=INSTALL_HINT),
]

LEDGER_PAGE = next((p for p in book_pages() if p.startswith("chapters/") and "claims_ledger" in p), None)

# The ledger table's geometry and every badge's computed colours (opening all details when asked).
PROBE = r"""
((open) => {
  const t = document.querySelector('table.ledger');
  if (!t) return null;
  t.querySelectorAll('details').forEach(d => { d.open = open; });
  const box = t.getBoundingClientRect(), parent = t.parentElement.getBoundingClientRect();
  const main = (document.querySelector('main') || document.body).getBoundingClientRect();
  const badges = [...t.querySelectorAll('.ledger-badge')].map(b => {
    const s = getComputedStyle(b);
    return {tone: [...b.classList].find(c => c !== 'ledger-badge'), bg: s.backgroundColor, fg: s.color,
            text: b.textContent, right: b.getBoundingClientRect().right};
  });
  return {rows: t.querySelectorAll('tr.ledger-row').length, table_scroll: t.scrollWidth, table_client: t.clientWidth,
          right: box.right, parent_right: parent.right + 1, main_right: main.right + 1,
          doc_scroll: document.documentElement.scrollWidth, viewport: document.documentElement.clientWidth,
          badges};
})(OPEN)
"""


def _rgb(css: str) -> tuple:
    values = [float(v) for v in re.findall(r"[\d.]+", css)]
    return tuple(values[:3]), (values[3] if len(values) > 3 else 1.0)


def _relative_luminance(rgb) -> float:
    def lin(c):
        c /= 255
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4
    r, g, b = (lin(c) for c in rgb)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(a, b) -> float:
    """The WCAG contrast ratio of two colours ``(r, g, b)`` in 0..255."""
    la, lb = sorted((_relative_luminance(a), _relative_luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


def test_contrast_ratio_of_known_colours():
    assert contrast((0, 0, 0), (255, 255, 255)) == pytest.approx(21.0)
    assert contrast((120, 120, 120), (120, 120, 120)) == pytest.approx(1.0)


@pytest.mark.skipif(LEDGER_PAGE is None, reason="the built book has no claims-ledger chapter")
def test_ledger_table_fits_the_page_and_badges_carry_their_colours(browser, server):  # noqa: F811 (fixtures)
    browser.navigate(urllib.parse.urljoin(server, urllib.parse.quote(LEDGER_PAGE)), timeout=LOAD_TIMEOUT)
    browser.evaluate(SETTLED, await_promise=True, timeout=SETTLE_TIMEOUT + 30)
    seen = {}
    try:
        for mode in ("light", "dark"):
            _set_theme(browser, mode)
            for open_ in (False, True):
                p = browser.evaluate(PROBE.replace("OPEN", "true" if open_ else "false"))
                assert p is not None, f"{LEDGER_PAGE}: no table.ledger"
                where = f"{LEDGER_PAGE} ({mode}, details {'open' if open_ else 'closed'})"
                assert p["rows"] >= 10, f"{where}: only {p['rows']} ledger rows"
                assert p["table_scroll"] <= p["table_client"] + 1, f"{where}: the table overflows: {p}"
                assert p["right"] <= min(p["parent_right"], p["main_right"]), f"{where}: the table is wider than its column"
                assert p["doc_scroll"] <= p["viewport"], f"{where}: the page scrolls sideways: {p}"
                assert all(b["right"] <= p["right"] + 1 for b in p["badges"]), f"{where}: a badge sticks out"
                assert len(p["badges"]) == p["rows"], f"{where}: {len(p['badges'])} badges for {p['rows']} rows"
                for b in p["badges"]:
                    bg, alpha = _rgb(b["bg"])
                    fg, _ = _rgb(b["fg"])
                    assert b["tone"].startswith("ledger-") and alpha > 0.9, f"{where}: badge {b} has no background"
                    assert contrast(bg, fg) >= 4.5, f"{where}: badge {b['text']!r} is hard to read: {b}"
                seen[mode] = {b["tone"]: b["bg"] for b in p["badges"]}
    finally:
        _set_theme(browser, "light")
    for mode, tones in seen.items():   # one colour per tone, different tones different colours
        assert len(set(tones.values())) == len(tones), f"{mode}: tones share a colour: {tones}"
    assert all(seen["light"][t] != seen["dark"][t] for t in seen["light"]), f"the dark theme keeps the light badges: {seen}"
