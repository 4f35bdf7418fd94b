"""The studies of the book's chapters: each turns library calls into a typed, checked finding.

Paper: Allen-Zhu & Li (2019), sections 1, 3 and 5 and Theorem 1, a part per chapter (each study says which).

One module per chapter study: :mod:`.question` (Chapter 1), :mod:`.concept_class` (Chapter 2),
:mod:`.initialization` (Chapter 3), :mod:`.sgd` (Chapter 4), :mod:`.generalization` (Chapter 5),
:mod:`.why` (Chapter 6), :mod:`.baselines` (Chapter 7) and :mod:`.ledger` (Chapter 8). A study
function takes the chapter's design (sizes, seeds) and returns a frozen dataclass that carries the
measured arrays, the numbers the chapter quotes (``numbers()``, glued with
:func:`rnnlib.glue.glue_all`) and its qualitative checks (``check()``, which raises
``AssertionError`` with a message). The chapter calls ``check()`` on the full-size result; the tests
call it on small ones.
"""
from . import baselines, concept_class, generalization, initialization, ledger, question, sgd, why

__all__ = ["question", "concept_class", "initialization", "sgd", "generalization", "why", "baselines", "ledger"]
