"""Static checks of chapter notebooks, run by `make lint`.

Usage: python tests/check_notebooks.py [chapters/NN_name.ipynb ...]   (default: chapters/*.ipynb)

Fails when a notebook is not valid nbformat, has saved error outputs, or its kernel is not the
generic `python3` one that nbval, Jupyter Book and JupyterLab all resolve to the project's .venv.
"""

from __future__ import annotations

import sys
from pathlib import Path

import nbformat


def problems(path: Path) -> list[str]:
    try:
        nb = nbformat.read(path, as_version=4)
        nbformat.validate(nb)
    except Exception as exc:  # any parse or schema error is the finding
        return [f"not a valid notebook: {exc}"]
    found = []
    kernel = nb.metadata.get("kernelspec", {}).get("name")
    if kernel not in (None, "python3"):
        found.append(f"kernelspec is {kernel!r}, expected 'python3'")
    for i, cell in enumerate(nb.cells):
        for out in cell.get("outputs", []):
            if out.get("output_type") == "error":
                found.append(f"cell {i}: saved error output ({out.get('ename')})")
    return found


def main(argv: list[str]) -> int:
    paths = [Path(a) for a in argv] or sorted(Path("chapters").glob("*.ipynb"))
    failed = 0
    for path in paths:
        for msg in problems(path):
            print(f"{path}: {msg}")
            failed += 1
    print(f"checked {len(paths)} notebook(s), {failed} problem(s)")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
