"""The claims ledger shown: tables and the theory calculator (chapter 8; Allen-Zhu & Li (2019), Theorem 1).

:func:`ledger_markdown` and :func:`ledger_html` render the rows of :func:`rnnlib.ledger.evaluate`
(myst-nb renders Markdown outputs as CommonMark, which has no tables, so the chapter shows the
HTML: a compact table with coloured verdict badges and a dropdown of details per row);
:func:`thresholds_html` lists every threshold with its reason.  :func:`theory_calculator` gives the
parameters Theorem 1 prescribes for a chosen
``phi, eps, L, d, m`` beside the practical ones that train (the book task of :mod:`rnnlib.tasks`);
:func:`theory_table_markdown`, :func:`theory_table_html` and :func:`theory_calculator_html` (the live
widget's callback) show them.
"""
from __future__ import annotations

import html
import math
import re
from typing import Sequence

from . import theory
from ._checks import check_float, check_int
from .experiment import ExperimentConfig
from .headline_stats import THRESHOLDS as HEADLINE_THRESHOLDS
from .ledger import Row
from .ledger_rules import HEADLINE_REASONS, THRESHOLD_REASONS, THRESHOLDS, TONES
from .smooth import C_STAR, log10_complexity_eps, log10_complexity_sample, smooth_function
from .tasks import BOOK_TASK

__all__ = ["ledger_markdown", "ledger_html", "ledger_css", "thresholds_html", "link_html",
           "theory_calculator", "theory_table_markdown",
           "theory_table_html", "theory_calculator_html"]


def _cell(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def _rows(rows) -> list:
    rows = list(rows)
    for r in rows:
        if not isinstance(r, Row):
            raise TypeError(f"rows must hold Row objects, got {type(r).__name__}")
    return rows


def ledger_markdown(rows: Sequence[Row]) -> str:
    """The ledger as a Markdown table: claim, measured figure with its interval, verdict, chapter."""
    lines = ["| | Claim | Measured [interval] | Verdict | Chapter |", "|---|---|---|---|---|"]
    for k, r in enumerate(_rows(rows), 1):
        tag = "" if r.claim.kind == "claim" else f" *({r.claim.kind})*"
        lines.append(f"| {k} | {_cell(r.claim.claim)}{tag} | {_cell(r.figure)} | **{r.verdict}** | {r.claim.chapter} |")
    return "\n".join(lines)


# -- the theory calculator -----------------------------------------------------------------------

def theory_calculator(phi: str = "sin(3z)", eps: float = 0.1, length: int = 10, output_dim: int = 1,
                      width: int = 256, *, hidden: int = 1, c_star: float = C_STAR,
                      practical: ExperimentConfig = BOOK_TASK) -> dict:
    """Theorem 1's parameters (Allen-Zhu & Li (2019), section 3 and Theorem 1, recalled) beside the practical ones.

    Returns ``rho = 100 L d ln m``, ``lambda = eps/(10 L rho)``, ``eta = 1/(eps rho^2 m)``,
    ``log10_T`` (``T = p^2 C^2 rho / eps^2``, hidden constants 1 and ``poly(rho) = rho``),
    ``log10_C_eps`` = ``log10 C_eps(phi, sqrt(L))``, ``log10_C_s`` = ``log10 C_s(phi, sqrt(L))``,
    the practical ``lambda`` and ``eta`` of ``practical`` at the same ``L`` and ``m``, and
    ``c_star``.  The width and sample requirements are ``m >= poly(C, 1/eps)`` and
    ``N >= poly(C, 1/eps) log m`` with unknown degrees; the calculator reports ``log10(C/eps)``,
    the base of both polynomials.
    """
    smooth_function(phi)
    eps = check_float("eps", eps, positive=True, below=1.0)
    R = math.sqrt(check_int("length", length, minimum=1))
    log_ce = log10_complexity_eps(phi, R, eps, c_star)
    cfg = practical.replace(length=max(length, 2), width=width, output_dim=output_dim)
    return {"phi": phi, "eps": eps, "length": length, "output_dim": output_dim, "width": width,
            "c_star": c_star, "rho": theory.rho(length, output_dim, width),
            "lambda": theory.theory_output_scale(eps, length, width, output_dim),
            "eta": theory.theory_step_size(eps, length, width, output_dim),
            "log10_T": theory.log10_theory_iterations(eps, length, width, hidden=hidden, output_dim=output_dim,
                                                      phi=phi, c_star=c_star, log10_c=log_ce),
            "log10_C_eps": log_ce, "log10_C_s": log10_complexity_sample(phi, R, c_star),
            "log10_C_over_eps": log_ce - math.log10(eps),
            "lambda_practical": cfg.output_scale, "eta_practical": cfg.step_size}


_CALC_COLUMNS = (("phi", "phi", "{}"), ("eps", "eps", "{:g}"), ("L", "length", "{}"), ("d", "output_dim", "{}"),
                 ("m", "width", "{}"), ("rho", "rho", "{:.0f}"), ("lambda", "lambda", "{:.1e}"),
                 ("eta", "eta", "{:.1e}"), ("log10 T", "log10_T", "{:.1f}"),
                 ("log10 C_eps", "log10_C_eps", "{:.1f}"), ("log10 C_s", "log10_C_s", "{:.1f}"),
                 ("lambda (practical)", "lambda_practical", "{:g}"), ("eta (practical)", "eta_practical", "{:.1e}"))


def theory_table_markdown(entries: Sequence[dict]) -> str:
    """A Markdown table of :func:`theory_calculator` outputs, one row each."""
    head = "| " + " | ".join(c[0] for c in _CALC_COLUMNS) + " |"
    lines = [head, "|" + "---|" * len(_CALC_COLUMNS)]
    for e in entries:
        lines.append("| " + " | ".join(fmt.format(e[k]) for _, k, fmt in _CALC_COLUMNS) + " |")
    return "\n".join(lines)


def theory_calculator_html(phi: str = "sin(3z)", eps: float = 0.1, length: int = 10, output_dim: int = 1,
                           width: int = 256) -> str:
    """Chapter 8's theory calculator as a one-row HTML table: :func:`theory_calculator` at these values
    (Theorem 1's requirements), rendered by :func:`theory_table_html`; the function behind chapter 8's
    live calculator (:func:`rnnlib.widgets.live_html`)."""
    return theory_table_html([theory_calculator(phi, eps, int(length), int(output_dim), int(width))])


# -- HTML rendering (myst-nb renders Markdown outputs as CommonMark, which has no tables) ---------

def link_html(markdown_link: str) -> str:
    m = re.fullmatch(r"\[(.+)\]\((.+)\)", markdown_link)
    if m is None:
        return html.escape(markdown_link)
    return f'<a href="{html.escape(m.group(2))}">{html.escape(m.group(1))}</a>'


# Badge colours per tone (rnnlib.ledger_rules.TONES), light and dark theme: each pair has a contrast
# ratio above 7 (text on badge), so the badges read in both of the book's modes.
_TONE_COLOURS = {"good": (("#d3f0d9", "#0f4d1f"), ("#1f5130", "#d9f7e1")),
                 "mixed": (("#fdefc4", "#5c4300"), ("#5a4708", "#fff1c7")),
                 "bad": (("#f9d5d8", "#6e1019"), ("#62212a", "#ffdfe2")),
                 "neutral": (("#e3e5e8", "#2c3036"), ("#3a3f47", "#eceef1")),
                 "construction": (("#d8e6f8", "#163a6b"), ("#1f3c63", "#dde9fa"))}


def ledger_css() -> str:
    """The ``<style>`` of :func:`ledger_html`: a fixed-layout table that wraps at page width, and the
    verdict badges in the light and the dark theme (``html[data-theme=dark]``)."""
    rules = ["table.ledger{width:100%;table-layout:fixed;border-collapse:collapse;margin:1em 0}",
             "table.ledger th,table.ledger td{vertical-align:top;padding:.35em .5em;overflow-wrap:break-word;"
             "text-align:left}",
             "@media print{table.ledger{font-size:.85em}table.ledger col.v{width:8em}}",
             "table.ledger thead th,table.ledger tr.ledger-details td{border-bottom:1px solid rgba(128,128,128,.35)}",
             "table.ledger tr.ledger-details td{padding-top:0}table.ledger td.n{white-space:nowrap}",
             "table.ledger col.n{width:2.6em}table.ledger col.fig{width:30%}table.ledger col.v{width:9.5em}"
             "table.ledger col.ch{width:6.5em}",
             "table.ledger details{font-size:.88em}table.ledger summary{cursor:pointer;opacity:.8}",
             ".ledger-badge{display:inline-block;padding:.1em .55em;border-radius:.8em;font-size:.85em;"
             "font-weight:600;line-height:1.35}"]
    for tone, ((bg, fg), (dbg, dfg)) in _TONE_COLOURS.items():
        rules.append(f".ledger-{tone}{{background:{bg};color:{fg}}}")
        rules.append(f'html[data-theme="dark"] .ledger-{tone}{{background:{dbg};color:{dfg}}}')
    return "<style>" + "".join(rules) + "</style>"


def _threshold_items(r: Row) -> list:
    items = [f"{k} = {THRESHOLDS[k]:g}: {THRESHOLD_REASONS[k]}" for k in r.claim.thresholds]
    if r.claim.rule in ("length", "comparison"):
        items += [f"chapter 5's {k} = {HEADLINE_THRESHOLDS[k]:g}: {HEADLINE_REASONS[k]}"
                  for k in (("fit_ratio", "min_lengths") if r.claim.rule == "length" else ("sample_ratio",))]
    return items


def ledger_html(rows: Sequence[Row]) -> str:
    """The ledger as a compact HTML table: claim, the headline figure with its interval, a verdict badge
    coloured by verdict (:data:`rnnlib.ledger_rules.TONES`), a link to the chapter; below each row, across
    the table, a ``<details>`` dropdown with what is measured, the full numbers, the reason and the
    thresholds (the book's PDF opens every dropdown before printing)."""
    out = [ledger_css(), '<table class="ledger">',
           '<colgroup><col class="n"><col class="claim"><col class="fig"><col class="v"><col class="ch"></colgroup>',
           "<thead><tr><th></th><th>Claim</th><th>Measured [interval]</th><th>Verdict</th><th>Chapter</th></tr>"
           "</thead>", "<tbody>"]
    for k, r in enumerate(_rows(rows), 1):
        tag = "" if r.claim.kind == "claim" else f" <i>({html.escape(r.claim.kind)})</i>"
        tone = TONES.get(r.verdict, "neutral")
        items = "".join(f"<li>{html.escape(t)}</li>" for t in _threshold_items(r))
        details = (f"<details><summary>details</summary><p><b>Measured:</b> {html.escape(r.claim.experiment)}. "
                   f"{html.escape(r.details)}</p><p><b>Why this verdict:</b> {html.escape(r.reason)}.</p>"
                   + (f"<p><b>Thresholds</b> (fixed before the measurement):</p><ul>{items}</ul>" if items else "")
                   + "</details>")
        out.append(f'<tr class="ledger-row" data-tone="{tone}"><td class="n">{k}</td>'
                   f"<td>{html.escape(r.claim.claim)}{tag}</td><td>{html.escape(r.figure)}</td>"
                   f'<td><span class="ledger-badge ledger-{tone}">{html.escape(r.verdict)}</span></td>'
                   f"<td>{link_html(r.claim.chapter)}</td></tr>")
        out.append(f'<tr class="ledger-details"><td></td><td colspan="4">{details}</td></tr>')
    out.append("</tbody></table>")
    return "\n".join(out)


def thresholds_html() -> str:
    """Every threshold of the ledger's rules with its value and reason (:data:`rnnlib.ledger_rules.THRESHOLDS`
    and chapter 5's :data:`rnnlib.headline_stats.THRESHOLDS`), as an HTML list."""
    items = [f"<li><code>{k}</code> = {v:g}: {html.escape(THRESHOLD_REASONS[k])}</li>" for k, v in THRESHOLDS.items()]
    items += [f"<li><code>{k}</code> = {v:g} (chapter 5): {html.escape(HEADLINE_REASONS[k])}</li>"
              for k, v in HEADLINE_THRESHOLDS.items() if k in HEADLINE_REASONS]
    return "<ul class=\"ledger-thresholds\">" + "".join(items) + "</ul>"


def theory_table_html(entries: Sequence[dict]) -> str:
    """:func:`theory_table_markdown` as an HTML table."""
    out = ["<table>", "<thead><tr>" + "".join(f"<th>{html.escape(c[0])}</th>" for c in _CALC_COLUMNS)
           + "</tr></thead>", "<tbody>"]
    for e in entries:
        out.append("<tr>" + "".join(f"<td>{html.escape(fmt.format(e[k]))}</td>" for _, k, fmt in _CALC_COLUMNS)
                   + "</tr>")
    out.append("</tbody></table>")
    return "\n".join(out)
