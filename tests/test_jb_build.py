"""_ext/jb_build.py: `make book`'s Sphinx step is Jupyter Book's own CLI without jsonschema's optional IRI
grammar (issue 12: the re-execution time). A book builds as with ``jupyter-book build``, a warning under
``-W -n`` still fails the build, and the grammar's module is never imported."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "_ext" / "jb_build.py"
# run the script as make does, and report whether the optional module was really imported
PROBE = ("import runpy, sys; sys.argv = [{script!r}] + {args!r}\n"
         "try:\n    runpy.run_path({script!r}, run_name='__main__')\n"
         "finally:\n    print('rfc3987_syntax:', type(sys.modules.get('rfc3987_syntax')).__name__)\n")


def _book(folder: Path, text: str) -> Path:
    folder.mkdir(parents=True)
    (folder / "_toc.yml").write_text("format: jb-book\nroot: intro\n", encoding="utf-8")
    (folder / "_config.yml").write_text("title: t\nexecute:\n  execute_notebooks: 'off'\n", encoding="utf-8")
    (folder / "intro.md").write_text(text, encoding="utf-8")
    return folder


def _build(book: Path, out: Path) -> subprocess.CompletedProcess:
    args = ["build", str(book), "--path-output", str(out), "-W", "-n", "--keep-going"]
    return subprocess.run([sys.executable, "-c", PROBE.format(script=str(SCRIPT), args=args)], cwd=str(book),
                          capture_output=True, text=True, timeout=300)


def test_a_clean_book_builds_and_a_warning_fails_the_build(tmp_path):
    good = _build(_book(tmp_path / "good", "# A page\n\nSome text.\n"), tmp_path / "out_good")
    assert good.returncode == 0, good.stdout[-2000:] + good.stderr[-2000:]
    assert (tmp_path / "out_good" / "_build" / "html" / "intro.html").is_file()
    assert "rfc3987_syntax: NoneType" in good.stdout           # never imported
    bad = _build(_book(tmp_path / "bad", "# A page\n\nSee {ref}`no-such-label`.\n"), tmp_path / "out_bad")
    assert bad.returncode != 0
    assert "no-such-label" in bad.stdout + bad.stderr
