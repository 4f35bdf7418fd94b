"""The one primitive of the studies' qualitative checks (chapters 1-4; Paper: none).

``require(condition, message)`` raises ``AssertionError(message)`` when the condition is false. A
study's ``check()`` is a list of such requirements; unlike ``assert`` it is not removed by
``python -O``, and its message says which fact failed and with which measured values.
"""
from __future__ import annotations

__all__ = ["require"]


def require(condition, message: str) -> None:
    """Raise ``AssertionError(message)`` unless ``condition`` holds (numpy bools included)."""
    if not bool(condition):
        raise AssertionError(message)
