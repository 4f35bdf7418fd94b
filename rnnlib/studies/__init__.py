"""The studies of the book's chapters: each turns library calls into a typed, checked finding.

One module per chapter study (chapters 1-4 here): :mod:`.question` (Chapter 1), :mod:`.concept_class`
(Chapter 2), :mod:`.initialization` (Chapter 3), :mod:`.sgd` (Chapter 4) and :mod:`.generalization`
(Chapter 5). A study function takes
the chapter's design (sizes, seeds) and returns a frozen dataclass that carries the measured arrays,
the numbers the chapter quotes (``numbers()``, glued with :func:`rnnlib.glue.glue_all`) and its
qualitative checks (``check()``, which raises ``AssertionError`` with a message). The chapter calls
``check()`` on the full-size result; the tests call it on small ones.
"""
from . import concept_class, generalization, initialization, question, sgd

__all__ = ["question", "concept_class", "initialization", "sgd", "generalization"]
