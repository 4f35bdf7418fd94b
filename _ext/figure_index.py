"""The appendix's figure index (appendix/figures.md), generated from the chapter notebooks at build time.

Loaded by _ext/book_html.py (issue 17, item 5). Every code cell of every chapter is parsed (``ast``); a
reference to a function of ``rnnlib.plots`` whose name starts with ``plot_`` (called, or passed to a
widget as ``widgets.slider(plots.plot_x, ...)``) is a figure. It is named after the ``glue`` key that
stores it (``glue("fig-x", plots.plot_x(...))``, ``fig = plots.plot_x(...)`` then ``glue("fig-x", fig)``, or
``glue_all(result, {"fig-x": plots.plot_x(...)})``),
the ``seed_id`` of a kernel-free slider, or "live widget" for ``widgets.live``. The table lists each figure
with the library function that draws it, the first line of that function's docstring, and the chapter
and code cell that call it; a function that cannot be found is reported, so the index cannot go stale.

The docstrings are read from the library's source (``ast``), not by importing it: importing ``rnnlib``
imports torch, 1.3 s of CPU in every Sphinx build (issue 12's re-execution). A name re-exported by a
package's ``__init__`` (``from .sgd import plot_x``) is followed to the module that defines it.
"""
from __future__ import annotations

import ast
import functools
import importlib.util
import json
from dataclasses import dataclass
from pathlib import Path

PLOTS = "rnnlib.plots"
MARKER = "<!-- figure-index -->"


@dataclass(frozen=True)
class FigureUse:
    """One figure: where it is drawn (chapter notebook, 1-based code cell) and by which function."""

    chapter: str      # docname, e.g. "chapters/03_initialization"
    cell: int         # 1-based index among the chapter's code cells
    function: str     # dotted path, e.g. "rnnlib.plots.sgd.plot_training_run"
    figure: str       # glue key, slider id, or a description


def _aliases(tree: ast.AST, known: dict) -> None:
    """Add the names that imports bind to ``rnnlib`` modules or functions to ``known``."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for a in node.names:
                if a.name.startswith("rnnlib"):
                    known[a.asname or a.name.split(".")[0]] = a.name if a.asname else a.name.split(".")[0]
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("rnnlib") and not node.level:
            for a in node.names:
                known[a.asname or a.name] = f"{node.module}.{a.name}"


def _dotted(node: ast.AST, known: dict) -> str | None:
    """The dotted path of a Name/Attribute chain, with its first name resolved through ``known``."""
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name) or node.id not in known:
        return None
    return ".".join([known[node.id], *reversed(parts)])


def _plot_refs(node: ast.AST, known: dict) -> list[str]:
    """Every ``rnnlib.plots...plot_*`` referenced inside ``node``."""
    found = []
    for sub in ast.walk(node):
        if isinstance(sub, (ast.Name, ast.Attribute)):
            path = _dotted(sub, known)
            if path and path.startswith(PLOTS + ".") and path.rsplit(".", 1)[-1].startswith("plot_"):
                found.append(path)
    return list(dict.fromkeys(found))


def _source(cell) -> str:
    src = cell.get("source", "")
    src = "".join(src) if isinstance(src, list) else src
    # IPython magics and shell escapes are not Python
    return "\n".join("" if line.lstrip().startswith(("%", "!")) else line for line in src.splitlines())


def scan_notebook(path: Path, docname: str) -> tuple[list[FigureUse], list[str]]:
    """The figures of one notebook, and the problems met (cells that do not parse)."""
    nb = json.loads(path.read_text(encoding="utf-8"))
    cells = [c for c in nb.get("cells", []) if c.get("cell_type") == "code"]
    known: dict = {}
    trees, problems = [], []
    for k, cell in enumerate(cells, 1):
        try:
            tree = ast.parse(_source(cell))
        except SyntaxError as exc:
            problems.append(f"{docname}: code cell {k} does not parse ({exc.msg})")
            tree = ast.Module(body=[], type_ignores=[])
        _aliases(tree, known)
        trees.append(tree)
    uses = []
    for k, tree in enumerate(trees, 1):
        bound: dict = {}   # variable -> plot functions of the expression last assigned to it
        named: dict = {}   # plot function -> figure names in this cell
        # assignments and calls in source order, so that a name reused for several figures is followed
        events = sorted((n for n in ast.walk(tree) if isinstance(n, (ast.Assign, ast.Call))),
                        key=lambda n: (n.lineno, n.col_offset, isinstance(n, ast.Assign)))
        for node in events:
            if isinstance(node, ast.Assign):
                refs = _plot_refs(node.value, known)
                for target in node.targets:
                    for name in ast.walk(target):
                        if isinstance(name, ast.Name):
                            bound[name.id] = refs
                continue
            callee = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
            if callee == "glue" and len(node.args) >= 2:
                key = node.args[0].value if isinstance(node.args[0], ast.Constant) else None
                value = node.args[1]
                refs = bound.get(value.id, []) if isinstance(value, ast.Name) else _plot_refs(value, known)
                for ref in refs:
                    named.setdefault(ref, []).append(f"`{key}`" if key else "glued figure")
            elif callee == "glue_all":   # rnnlib.glue.glue_all(result, {"fig-x": plots.plot_x(...)})
                for arg in node.args:
                    if isinstance(arg, ast.Dict):
                        for k_node, value in zip(arg.keys, arg.values):
                            key = k_node.value if isinstance(k_node, ast.Constant) else None
                            refs = bound.get(value.id, []) if isinstance(value, ast.Name) \
                                else _plot_refs(value, known)
                            for ref in refs:
                                named.setdefault(ref, []).append(f"`{key}`" if key else "glued figure")
            elif callee in ("slider", "live"):
                seed = next((kw.value.value for kw in node.keywords
                             if kw.arg == "seed_id" and isinstance(kw.value, ast.Constant)), None)
                label = f"kernel-free slider `{seed}`" if callee == "slider" and seed else (
                    "kernel-free slider" if callee == "slider" else "live widget (needs a kernel)")
                for ref in _plot_refs(node, known):
                    named.setdefault(ref, []).append(label)
        for ref in _plot_refs(tree, known):
            for figure in named.get(ref) or ["shown by the cell"]:
                uses.append(FigureUse(docname, k, ref, figure))
    return list(dict.fromkeys(uses)), problems


def library_root(package: str = "rnnlib") -> Path | None:
    """The folder holding ``package``, the one ``import package`` would load here (the library the notebooks
    import), found without importing it; None when it is not importable."""
    spec = importlib.util.find_spec(package)
    return Path(spec.origin).resolve().parents[1] if spec is not None and spec.origin else None


@functools.lru_cache(maxsize=None)
def _module_tree(path: Path) -> ast.Module:
    """The parsed source of ``path``, once per build (the index looks up several functions per module)."""
    return ast.parse(path.read_text(encoding="utf-8"))


def _module_file(module: str, root: Path) -> Path | None:
    """The source file of the dotted ``module`` under ``root`` (a module or a package's ``__init__``)."""
    base = root.joinpath(*module.split("."))
    for path in (base.with_suffix(".py"), base / "__init__.py"):
        if path.is_file():
            return path
    return None


def _definition(module: str, name: str, root: Path, depth: int = 0) -> ast.AST | None:
    """The ``def``/``class`` node of ``module.name`` in the source under ``root``, following re-exports."""
    path = _module_file(module, root)
    if path is None or depth > 5:
        return None
    tree = _module_tree(path)
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and node.name == name:
            return node
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in tree.body:
        if isinstance(node, ast.ImportFrom):
            for alias in node.names:
                if (alias.asname or alias.name) == name:
                    parts = package.split(".")
                    base = ".".join(parts[:len(parts) - node.level + 1]) if node.level else ""
                    source = ".".join(p for p in (base, node.module) if p)
                    return _definition(source, alias.name, root, depth + 1)
    return None


def describe(function: str, root: Path | None = None) -> tuple[str | None, str]:
    """(first docstring line or None, problem or "") of a dotted ``rnnlib.plots`` function, read from
    its source under ``root`` (default: where ``import rnnlib`` would load the library from, as the
    notebooks do; :func:`library_root`)."""
    module, _, name = function.rpartition(".")
    root = library_root(function.partition(".")[0]) if root is None else root
    node = None if root is None else _definition(module, name, root)
    if node is None:
        return None, f"{function} cannot be found in the library's source"
    # the first sentence of the docstring's first paragraph
    paragraph = " ".join((ast.get_docstring(node) or "").strip().split("\n\n")[0].split())
    sentence = paragraph.split(". ")[0]
    return sentence + ("." if sentence and not sentence.endswith(".") else ""), ""


def index_markdown(srcdir: Path, chapters: list[str]) -> tuple[str, list[str]]:
    """The Markdown table of every figure of ``chapters`` (docnames), and the problems met."""
    rows, problems = [], []
    for doc in chapters:
        path = srcdir / f"{doc}.ipynb"
        if not path.is_file():
            continue
        uses, bad = scan_notebook(path, doc)
        problems += bad
        for use in uses:
            summary, problem = describe(use.function)
            if problem:
                problems.append(f"{doc}, code cell {use.cell}: {problem}")
                continue
            summary = summary.replace("|", "\\|")
            rows.append(f"| {use.figure} | `{use.function.removeprefix('rnnlib.')}` | {summary} "
                        f"| {{doc}}`/{doc}`, code cell {use.cell} |")
    if not rows:
        problems.append("no figure drawn by rnnlib.plots was found in the chapters")
    head = ["| figure | drawn by | what the function draws | called in |", "|---|---|---|---|"]
    count = f"{len(rows)} figures, drawn by {len({r.split('|')[2] for r in rows})} functions of `rnnlib.plots`.\n\n"
    return count + "\n".join(head + rows) + "\n", problems
