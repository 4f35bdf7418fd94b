"""No measured-looking number is typed by hand in the book's prose (issue 14; developers' guide:
"numbers in prose are glued from executed cells").

The prose is what a reader sees of the sources, without building the book: the markdown cells of
chapters/*.ipynb, intro.md, appendix/*.md and bibliography.md. A number there must come from a cell
through myst-nb's glue (``{glue:text}`key:fmt```), so that it is the number the build computed.
"Measured-looking" means a decimal (0.37), a power of ten (10^45, 1e-3, 10⁴), a percentage (42%),
or a number spelled out as a multiple or a large count (sixteen-fold, thirteen thousand), the way the
hand-typed numbers of issue 14 hid. Integers in digits (widths, lengths, seeds, batch sizes, and
ratios of them such as "8 times wider") are settings and are not checked.

Not prose, and not checked: code (fenced blocks, code cells, inline code), the content of roles
(glue, cite, ref, ...), directive options, labels, comments and link targets. Math is checked: a
measured number written as ``$0.72$`` is still hand-typed.

A few numbers are definitions or design, not measurements; ALLOWED lists them, each with its reason.
A hit inside a match of an ALLOWED pattern passes. Keep the list short: a number that a cell computes
is glued, not allowed.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

# (pattern, reason). A number found inside a match of a pattern is not a measurement.
ALLOWED: list[tuple[str, str]] = [
    (r"(?:Sections?|§|Lemmas?|Theorems?|Corollary|Claim|Definition|Proposition|Remark|Fact|Appendix|Equation|Eq\.)"
     r"\s*~?\d+(?:\.\d+)+",
     "a numbered part of a cited paper (Lemma 5.2, Section 3.1) is a label, not a measurement"),
    (r"\d+\s?(?:[-–]\s?\d+\s?)?%\s+(?:[A-Za-z]+\s+)?(?:intervals?|bands?)",
     "the level of an interval or band (90% bootstrap interval, 10-90% band) is chosen before the data"),
    (r"C\^\{?\*\}?\s*=\s*10\^\{?4\}?",
     "C* = 10^4 is the paper's constant in its complexity measures (rnnlib.C_STAR), a definition"),
    (r"\^\{1\.75\}",
     "the exponent 1.75 in the paper's sample complexity C_s = C* sum (i+1)^1.75 R^i |c_i|, a definition"),
    (r"\\(?:lambda|varepsilon_x|varepsilon|eta)\s*=\s*[-\d.,\s^{}]*[\d}]",
     "a setting of one of the paper's parameters written as an assignment in math ($\\lambda = 0.3$, "
     "$\\varepsilon_x = 0.1$, $\\varepsilon = 10^{-3}$, $\\eta = 10^{-3}$): design, stated as such"),
    (r"\bPython\s\d+\.\d+",
     "the Python version the book is built with (appendix), not a result"),
    (r"\b1\.0 is the error of predicting the mean",
     "the definition of the standardized error: predicting the mean scores 1.0 by construction"),
]

_SMALL = "two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|thirteen|fourteen|fifteen|sixteen|twenty|" \
         "thirty|forty|fifty|sixty|seventy|eighty|ninety|hundred"
# What looks like a measured number (see the module docstring).
NUMBER = re.compile("|".join([
    r"\d+(?:\.\d+)?\s?(?:%|\\%|percent\b|per\s+cent\b)",              # percentage
    r"10\s*\^\s*\{?\s*[-−]?\s*\d+\s*\}?",                              # power of ten, TeX
    r"10[⁻⁰¹²³⁴⁵⁶⁷⁸⁹]+",                                               # power of ten, Unicode
    r"(?<![\w.])\d+(?:\.\d+)?[eE][-+]?\d+\b",                          # 1e-3, 2.5e4
    r"(?<![\w.])\d*\.\d+",                                            # decimal
    rf"\b(?:{_SMALL})-fold\b",                                         # sixteen-fold
    rf"\b(?:{_SMALL})[\s-]+(?:thousand|million|billion)\b",            # thirteen thousand
]), re.IGNORECASE)

# Directives whose content is code or configuration, not prose.
CODE_DIRECTIVES = {"code-cell", "code-block", "code", "sourcecode", "literalinclude", "raw", "eval-rst",
                   "bibliography", "tableofcontents", "toctree", "mermaid", "graphviz"}
_FENCE = re.compile(r"^(\s*)(`{3,}|~{3,}|:{3,})\s*(\{([\w:-]+)\})?\s*(.*)$")
_ROLE = re.compile(r"\{([\w:.-]+)\}(`+)(.+?)\2")
_CODE = re.compile(r"(`+)(.+?)\1")


def _strip_block(lines: list[str]) -> list[str]:
    """The prose lines of markdown: code fences and code directives removed, directive options and
    the arguments of glue and exercise directives removed, the content of other directives kept."""
    out: list[str] = []
    i = 0
    while i < len(lines):
        m = _FENCE.match(lines[i])
        if not m:
            out.append(lines[i])
            i += 1
            continue
        fence, name, arg = m.group(2), m.group(4), m.group(5)
        # the closing fence: same character, at least as long, nothing after it
        close = re.compile(rf"^\s*{re.escape(fence[0])}{{{len(fence)},}}\s*$")
        j = i + 1
        while j < len(lines) and not close.match(lines[j]):
            j += 1
        body = lines[i + 1:j]
        if name is not None and name not in CODE_DIRECTIVES:
            k = 0
            while k < len(body) and re.match(r"^\s*:[\w-]+:", body[k]):     # directive options
                k += 1
            keep_arg = ":" not in name and name not in {"exercise", "solution-start", "solution-end", "figure",
                                                        "image", "glue"}
            out.extend(([arg] if keep_arg else []) + _strip_block(body[k:]))
        i = j + 1
    return out


def prose(text: str) -> str:
    """``text`` (MyST markdown) without what the reader does not read as prose; math is kept.

    A removed span becomes a space, so that removing it never joins two numbers into one.
    """
    text = re.sub(r"<!--.*?-->", " ", text, flags=re.S)
    lines = [ln for ln in text.splitlines() if not re.match(r"^\s*(?:%|\(\S+\)=\s*$|\+\+\+)", ln)]
    text = "\n".join(_strip_block(lines))
    text = _ROLE.sub(lambda m: f" {m.group(3)} " if m.group(1) == "math" else " ", text)
    text = _CODE.sub(" ", text)
    text = re.sub(r"\]\([^)]*\)", "] ", text)                  # link targets
    text = re.sub(r"<?https?://\S+", " ", text)                # bare and autolinked URLs
    return text


def violations(text: str) -> list[str]:
    """Every measured-looking number in the prose of ``text`` that no ALLOWED pattern excuses,
    each as ``'<number>' in: <its context>``."""
    body = prose(text)
    allowed = [m.span() for pattern, _ in ALLOWED for m in re.finditer(pattern, body)]
    found = []
    for m in NUMBER.finditer(body):
        if any(a <= m.start() and m.end() <= b for a, b in allowed):
            continue
        context = " ".join(body[max(0, m.start() - 60):m.end() + 30].split())
        found.append(f"{m.group().strip()!r} in: ...{context}...")
    return found


def documents(root: Path = ROOT) -> dict[str, list[tuple[str, str]]]:
    """``{file: [(where, markdown)]}`` for every prose source: a notebook's markdown cells (where =
    'cell N'), a markdown page whole (where = 'page')."""
    docs: dict[str, list[tuple[str, str]]] = {}
    for nb in sorted((root / "chapters").glob("*.ipynb")):
        cells = json.loads(nb.read_text(encoding="utf-8"))["cells"]
        docs[str(nb.relative_to(root))] = [(f"cell {i}", "".join(c["source"])) for i, c in enumerate(cells)
                                           if c["cell_type"] == "markdown"]
    for md in [root / "intro.md", *sorted((root / "appendix").glob("*.md")), root / "bibliography.md"]:
        if md.is_file():
            docs[str(md.relative_to(root))] = [("page", md.read_text(encoding="utf-8"))]
    return docs


def file_violations(parts: list[tuple[str, str]]) -> list[str]:
    return [f"{where}: {v}" for where, text in parts for v in violations(text)]


DOCS = documents()


@pytest.mark.parametrize("name", sorted(DOCS))
def test_prose_numbers_are_glued(name):
    found = file_violations(DOCS[name])
    assert not found, (f"{name}: numbers typed in the prose; glue them from the cell that computes them, or, "
                       f"for a definition, see ALLOWED in {Path(__file__).name}:\n  " + "\n  ".join(found))


def test_the_scan_sees_every_prose_source():
    assert {"intro.md", "appendix/reproducibility.md"} <= set(DOCS)
    assert sum(n.startswith("chapters/") for n in DOCS) >= 8, sorted(DOCS)
    assert all(parts for n, parts in DOCS.items() if n.startswith("chapters/")), "a chapter without markdown"


@pytest.mark.parametrize("planted", [
    "The test error falls to 0.37 at the largest width.",
    "It needs $10^{45}$ samples.",
    "It needs 1e6 samples.",
    "In 42% of the runs the loss spikes.",
    "It drops by 12 percent.",
    "The error is $0.72$ at $L = 20$.",
    "a sixteen-fold increase",
    "thirteen thousand digits",
    "its $\\log_{10}$ is 10⁴⁵",
    "```{note}\nA note can hide 0.5 too.\n```",
    "```{glue:figure} fig-x\n:name: fig-x\n\nA caption with a typed 0.25.\n```",
])
def test_a_planted_number_is_found(planted):
    text = f"Some prose with a glued {{glue:text}}`x:.2f` before it.\n\n{planted}\n"
    assert violations(text), f"not found: {planted!r}"


@pytest.mark.parametrize("fine", [
    "glued: {glue:text}`ch3-flip-other:.1f`% of the patterns, {glue:text}`order_for_0.1`",
    "a citation {cite:t}`allenzhu2019can`, Lemma 5.2(b), Section 3.1, and {numref}`fig-1`",
    "code: `torch==2.13.0`, `127.0.0.1`, `lr=0.01`",
    "```python\nx = 0.3 * 10**4\n```",
    "```{code-cell} ipython3\nprint(0.5)\n```",
    "```{glue:figure} fig-x\n:width: 80%\n:name: fig-x\n\nA caption.\n```",
    "bars: 90% bootstrap intervals; the 10-90% band; the 5–95 % band; a 90% Wilson interval",
    "$C^* = 10^4$ and $(i + 1)^{1.75}$",
    "at $\\lambda = 0.3$, $\\varepsilon_x = 0.03$ and $\\varepsilon = 10^{-1}, 10^{-2}$",
    "width 512, length 40, batch 32, 8 seeds, m = 1024, 8 times wider",
    "[a link](https://example.org/v1.5/page) and <https://example.org/10.5555>",
    "<!-- a comment with 0.5 -->",
])
def test_what_is_not_a_typed_measurement_passes(fine):
    assert not violations(fine), violations(fine)


def test_a_planted_number_in_a_notebook_names_file_and_cell(tmp_path):
    (tmp_path / "chapters").mkdir()
    nb = {"cells": [{"cell_type": "markdown", "metadata": {}, "source": ["# Title\n"]},
                    {"cell_type": "code", "metadata": {}, "source": ["x = 0.5\n"], "outputs": [],
                     "execution_count": None},
                    {"cell_type": "markdown", "metadata": {}, "source": ["Measured: 0.93 at $L = 10$.\n"]}],
          "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    (tmp_path / "chapters" / "09_x.ipynb").write_text(json.dumps(nb), encoding="utf-8")
    (tmp_path / "intro.md").write_text("No numbers here, only {glue:text}`a:.2f`.\n", encoding="utf-8")
    docs = documents(tmp_path)
    found = file_violations(docs["chapters/09_x.ipynb"])
    assert len(found) == 1 and found[0].startswith("cell 2: '0.93'"), found
    assert not file_violations(docs["intro.md"])


def test_every_allowed_pattern_is_needed():
    """An entry of ALLOWED that excuses nothing in the book is stale: remove it (keeps the list short)."""
    bodies = [prose(text) for parts in DOCS.values() for _, text in parts]
    unused = [reason for pattern, reason in ALLOWED
              if not any(NUMBER.search(m.group()) for body in bodies for m in re.finditer(pattern, body))]
    assert not unused, f"ALLOWED entries that excuse no number of the book: {unused}"
