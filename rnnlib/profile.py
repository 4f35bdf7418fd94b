"""The two profiles (infrastructure of all chapters; Paper: none): ``RNNLIB_FAST=1`` selects small sizes
everywhere."""
from __future__ import annotations

import os

__all__ = ["FAST", "is_fast", "pick"]


def is_fast() -> bool:
    """True when the environment variable ``RNNLIB_FAST`` is set to a true value (1, true, yes)."""
    return os.environ.get("RNNLIB_FAST", "").strip().lower() in ("1", "true", "yes", "on")


FAST = is_fast()


def pick(full, fast):
    """``fast`` under the fast profile, ``full`` otherwise (read at call time)."""
    return fast if is_fast() else full
