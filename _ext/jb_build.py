"""`make book`'s Sphinx step: Jupyter Book's own command line, without an import it does not need (issue 12).

Chapter: every page (the appendix "How the book is made and checked"); paper section: none, this is build
tooling.

Usage: ``python _ext/jb_build.py build . --path-output DIR -W -n --keep-going``: the arguments are
``jupyter-book``'s, run by its own CLI (``jupyter_book.cli.main``), so every option keeps its meaning.
The one difference: Jupyter Book imports jsonschema to validate _config.yml, and jsonschema then imports
the optional ``rfc3987_syntax``, which builds a grammar (lark) for the "iri" string format on import: 1.4 s
of CPU, on the critical path of every build (Sphinx runs on one core). Jupyter Book validates without
format checkers, and no schema the build validates against uses "iri", so the build is the same without
it; ``_ext/execute_book.py`` leaves it out the same way. Without the module jsonschema only lacks that
format checker (it imports it optionally).
"""
from __future__ import annotations

import sys


def main(argv=None) -> int:
    sys.modules.setdefault("rfc3987_syntax", None)   # `import rfc3987_syntax` now raises ImportError
    from jupyter_book.cli.main import main as cli

    try:
        cli.main(args=sys.argv[1:] if argv is None else list(argv), prog_name="jupyter-book", standalone_mode=True)
    except SystemExit as done:
        return done.code if isinstance(done.code, int) else (0 if done.code is None else 1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
