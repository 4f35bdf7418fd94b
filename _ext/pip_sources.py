"""Print pip's package sources as uv options, so that ``make venv`` installs from where pip would.

``make venv`` installs the pinned requirements with uv (``uv pip install``), which is several times
faster than pip (a fresh ``.venv``: about 20 s against about 100 s, measured on the book's 2-core
machine), but uv does not read pip's configuration.  A machine may point pip at local indexes, a
directory of wheels (``find-links``: where the CPU build of torch lies on the book's machines) or
a constraints file; without them uv would resolve the same pins from PyPI alone, and ``torch==2.13.0``
there is the CUDA build with several GB of dependencies.  This script asks pip for its settings
(``pip config list``: the configuration files and the ``PIP_*`` environment variables, the environment
winning, as in pip) and prints the uv options that say the same, one per line, for the Makefile::

    .venv/bin/python _ext/pip_sources.py            # e.g. --find-links /opt/wheels

pip considers every index for every package and takes the best match; uv by default stops at the first
index that has a package, so ``--index-strategy unsafe-best-match`` is printed whenever there is more
than one index.  Settings uv has no equivalent for (``cert``, ``timeout``, ...) are left out: uv reads
``SSL_CERT_FILE`` itself.
"""

from __future__ import annotations

import ast
import subprocess
import sys

# pip's option -> uv's option; pip's scopes, lowest priority first (":env:" is PIP_* in the environment).
OPTIONS = {"index-url": "--index-url", "extra-index-url": "--extra-index-url", "find-links": "--find-links",
           "constraint": "--constraint", "no-index": "--no-index"}
SCOPES = ("global", "install", ":env:")


def pip_settings(python: str = sys.executable) -> dict[str, str]:
    """``{option: value}`` of pip's configuration for ``install``, the highest-priority scope winning."""
    out = subprocess.run([python, "-m", "pip", "config", "list"], capture_output=True, text=True, check=True).stdout
    found: dict[tuple[str, str], str] = {}
    for line in out.splitlines():
        key, sep, value = line.partition("=")
        scope, _, option = key.rpartition(".")
        if sep and scope in SCOPES and option in OPTIONS:
            found[scope, option] = ast.literal_eval(value)  # pip prints values as Python string literals
    return {option: found[scope, option] for scope in SCOPES for option in OPTIONS if (scope, option) in found}


def uv_options(settings: dict[str, str]) -> list[str]:
    """The uv command-line options equivalent to pip's ``settings``."""
    args: list[str] = []
    for option, value in settings.items():
        if option == "no-index":
            if value.strip().lower() in ("1", "true", "yes", "on"):
                args.append(OPTIONS[option])
            continue
        for item in value.split():  # pip accepts several values separated by whitespace
            args += [OPTIONS[option], item]
    if "--extra-index-url" in args:
        args += ["--index-strategy", "unsafe-best-match"]
    return args


if __name__ == "__main__":
    print("\n".join(uv_options(pip_settings())))
