"""The claims ledger shown: tables and the theory calculator (chapter 8; Allen-Zhu & Li (2019), Theorem 1).

:func:`ledger_markdown` and :func:`ledger_html` render the rows of :func:`rnnlib.ledger.evaluate`
(myst-nb renders Markdown outputs as CommonMark, which has no tables, so the chapter shows the
HTML).  :func:`theory_calculator` gives the parameters Theorem 1 prescribes for a chosen
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
from .ledger import Row
from .smooth import C_STAR, log10_complexity_eps, log10_complexity_sample, smooth_function
from .tasks import BOOK_TASK

__all__ = ["ledger_markdown", "ledger_html", "link_html", "theory_calculator", "theory_table_markdown",
           "theory_table_html", "theory_calculator_html"]


def _cell(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def ledger_markdown(rows: Sequence[Row]) -> str:
    """The ledger as a Markdown table: claim, experiment, chapter, measured figure, verdict and reason."""
    lines = ["| | Claim | Experiment | Chapter | Measured | Verdict |", "|---|---|---|---|---|---|"]
    for k, r in enumerate(rows, 1):
        if not isinstance(r, Row):
            raise TypeError(f"rows must hold Row objects, got {type(r).__name__}")
        tag = "" if r.claim.kind == "claim" else " *(limitation)*"
        lines.append(f"| {k} | {_cell(r.claim.claim)}{tag} | {_cell(r.claim.experiment)} | {r.claim.chapter} | "
                     f"{_cell(r.figure)} | **{r.verdict}**: {_cell(r.reason)} |")
    return "\n".join(lines)


# -- the theory calculator -----------------------------------------------------------------------

def theory_calculator(phi: str = "sin(3z)", eps: float = 0.1, length: int = 10, output_dim: int = 1,
                      width: int = 256, *, hidden: int = 1, c_star: float = C_STAR,
                      practical: ExperimentConfig = BOOK_TASK) -> dict:
    """Theorem 1's parameters (paper.md sections 2.5-4.1) beside the practical ones.

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
                                                      phi=phi, c_star=c_star),
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


def ledger_html(rows: Sequence[Row]) -> str:
    """The ledger as an HTML table (same columns as :func:`ledger_markdown`)."""
    out = ['<table class="ledger">', "<thead><tr><th></th><th>Claim</th><th>Experiment</th><th>Chapter</th>"
           "<th>Measured</th><th>Verdict</th></tr></thead>", "<tbody>"]
    for k, r in enumerate(rows, 1):
        if not isinstance(r, Row):
            raise TypeError(f"rows must hold Row objects, got {type(r).__name__}")
        tag = "" if r.claim.kind == "claim" else " <i>(limitation)</i>"
        out.append(f"<tr><td>{k}</td><td>{html.escape(r.claim.claim)}{tag}</td>"
                   f"<td>{html.escape(r.claim.experiment)}</td><td>{link_html(r.claim.chapter)}</td>"
                   f"<td>{html.escape(r.figure)}</td><td><b>{html.escape(r.verdict)}</b>: "
                   f"{html.escape(r.reason)}</td></tr>")
    out.append("</tbody></table>")
    return "\n".join(out)


def theory_table_html(entries: Sequence[dict]) -> str:
    """:func:`theory_table_markdown` as an HTML table."""
    out = ["<table>", "<thead><tr>" + "".join(f"<th>{html.escape(c[0])}</th>" for c in _CALC_COLUMNS)
           + "</tr></thead>", "<tbody>"]
    for e in entries:
        out.append("<tr>" + "".join(f"<td>{html.escape(fmt.format(e[k]))}</td>" for _, k, fmt in _CALC_COLUMNS)
                   + "</tr>")
    out.append("</tbody></table>")
    return "\n".join(out)
