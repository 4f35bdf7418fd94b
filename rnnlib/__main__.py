"""``python -m rnnlib``: the command line of :mod:`rnnlib.cli` (infrastructure, no chapter; Paper: none)."""
import sys

from .cli import main

if __name__ == "__main__":
    sys.exit(main())
