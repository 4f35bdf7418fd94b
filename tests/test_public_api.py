"""The public API of ``rnnlib`` (issue 12, item 6): small, documented, and the old names still resolve.

Also the module docstrings: each names its chapter and the section of Allen-Zhu & Li (2019) it
implements (or says it has none), and the README's layer table matches the import contract.
"""
import ast
import importlib
import inspect
import re
import tomllib
import types
import warnings
from pathlib import Path

import pytest

import rnnlib

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "rnnlib"

# ``rnnlib.__all__`` before the API was made small (93 names, commit ca5d55c); every one must still
# resolve, the public ones silently and the others with a DeprecationWarning naming their module.
OLD_ALL = """
BOOK_TASK relu_recurrence sgd_step run_many cache engine stats tasks ledger AdditiveConcept C_STAR ElmanRNN
ExperimentConfig ExperimentResult SMOOTH_FUNCTIONS SmoothFunction TrainingDiverged TrainingHistory
complexity_eps complexity_sample bounds embed evaluate_bounds is_fast log10_complexity_eps
log10_complexity_sample log10_theory_iterations make_dataset pick practical_step_size rho run_experiment
sample_tokens run_ensemble smooth_function sweep config_grid default_cache_dir process_pool CacheWarning
SweepError theory_iterations theory_output_scale theory_step_size train_sgd weight_norms __version__
BackwardMaps ForwardStability PseudoNetworkTracker backward_maps coherence_matrix distinct_pairs
flip_fraction flips_versus_eps_x forward_stability hidden_norms initial_model linearization_error
mean_offdiagonal pattern_flips perturbed_token_flips predicted_flips pseudo_network rnn_change
sheppard_flip_probability fit_power_law lazy_summary scaled_config BASELINES BaselineResult run_baseline
ExistenceSetup SinglePositionTarget WStar InterferenceResult change_pair interference IndicatorFit
fit_indicator noise_robustness sup_error_vs_neurons gradient_factors measure_ntk_cost ntk_gram
OUTSIDE_TARGETS ExactlyOneConcept NonAdditiveConcept OutsideResult ParityConcept make_target run_outside
samples_needed
""".split()

# The public names whose attribute on the package is a function that shadows a module of the same name
# (``rnnlib.sweep`` is the function; the module is ``rnnlib.sweep`` in ``sys.modules``).
SHADOWING = {"sweep", "interference", "pseudo_network"}


def test_old_all_is_the_93_names():
    assert len(OLD_ALL) == len(set(OLD_ALL)) == 93


def test_all_is_small_unique_and_resolves_without_warning():
    assert 20 <= len(rnnlib.__all__) <= 30, len(rnnlib.__all__)
    assert len(set(rnnlib.__all__)) == len(rnnlib.__all__)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for name in rnnlib.__all__:
            obj = getattr(rnnlib, name)
            assert not isinstance(obj, types.ModuleType), f"{name} is a module; modules are not in __all__"
            assert name in vars(rnnlib), f"{name} is not bound eagerly in rnnlib/__init__.py"


def test_every_public_name_is_documented_in_the_package_docstring():
    doc = rnnlib.__doc__
    missing = [n for n in rnnlib.__all__ if not re.search(rf"`{re.escape(n)}`", doc)]
    assert not missing, f"public names not documented in rnnlib's docstring: {missing}"
    for layer in ("core", "kinds", "engine", "studies and tasks", "presentation"):
        assert f"**{layer}**" in doc


def test_every_old_name_still_resolves():
    public = set(rnnlib.__all__)
    for name in OLD_ALL:
        if name in public or name == "__version__" or name in SHADOWING:
            with warnings.catch_warnings():
                warnings.simplefilter("error")
                assert getattr(rnnlib, name) is not None
            continue
        obj_or_module = None
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            obj_or_module = getattr(rnnlib, name)
        if isinstance(obj_or_module, types.ModuleType):  # an old module export: no warning
            assert obj_or_module.__name__ == f"rnnlib.{name}" and not caught, name
            continue
        assert [w.category for w in caught] == [DeprecationWarning], (name, caught)
        message = str(caught[0].message)
        match = re.search(rf"from (rnnlib(?:\.\w+)+) import {name}\b", message)
        assert match, f"the warning for {name} names no module: {message}"
        module = importlib.import_module(match.group(1))
        assert getattr(module, name) is obj_or_module, f"{name}: the module the warning names gives another object"


def test_from_import_of_an_old_name_warns_and_gives_the_same_object():
    with pytest.warns(DeprecationWarning, match=r"from rnnlib\.engine import process_pool"):
        from rnnlib import process_pool
    from rnnlib.engine import process_pool as same
    assert process_pool is same


def test_the_shadowing_names_are_the_functions():
    assert callable(rnnlib.sweep) and rnnlib.sweep.__module__ == "rnnlib.sweep"
    assert callable(rnnlib.interference) and rnnlib.interference.__module__ == "rnnlib.interference"
    assert callable(rnnlib.pseudo_network) and rnnlib.pseudo_network.__module__ == "rnnlib.pseudo_network"


def test_modules_resolve_lazily_and_unknown_names_fail():
    assert rnnlib.theory is importlib.import_module("rnnlib.theory")
    assert rnnlib.studies is importlib.import_module("rnnlib.studies")
    with pytest.raises(AttributeError, match="no_such_name"):
        rnnlib.no_such_name  # noqa: B018
    assert not hasattr(rnnlib, "_no_such_private")


def test_dir_is_the_public_api_and_the_modules():
    listed = dir(rnnlib)
    assert listed == sorted(listed)
    assert set(rnnlib.__all__) <= set(listed)
    assert "__version__" in listed and "stats" in listed and "tasks" in listed and "plots" in listed
    deprecated = set(OLD_ALL) - set(rnnlib.__all__) - set(_modules()) - {"__version__"}
    assert not deprecated & set(listed), sorted(deprecated & set(listed))
    assert not [n for n in listed if n.startswith("_") and not n.startswith("__")]
    assert "__main__" not in listed
    with warnings.catch_warnings():  # tools that walk dir() (inspect, pydoc, completion) see no deprecation
        warnings.simplefilter("error")
        inspect.getmembers(rnnlib)


def test_star_import_gives_exactly_all():
    namespace = {}
    exec("from rnnlib import *", namespace)  # noqa: S102
    assert set(namespace) - {"__builtins__"} == set(rnnlib.__all__)


# -- module docstrings ---------------------------------------------------------------------------

CHAPTER = re.compile(r"\bchapters?\s+\d|\ball\s+chapters\b|\binfrastructure\b", re.IGNORECASE)
PAPER = re.compile(r"Allen-Zhu\s+&\s+Li\s+\(2019\),?\s+(?:sections?|Theorem|Lemma)\s+\d", re.IGNORECASE)
NO_PAPER = re.compile(r"\bPaper:\s+none\b")
# readers have the paper, not the project's digest of it nor its experiment labels
FORBIDDEN = re.compile(r"paper\.md|paper digest|\bpaper(?:'s)? sections? \d|\bE\d{1,2}\b")


def _modules():
    return sorted({p.stem if p.name != "__init__.py" else p.parent.name for p in PACKAGE.glob("*.py")}
                  | {p.name for p in PACKAGE.iterdir() if (p / "__init__.py").is_file()})


def _module_files():
    return sorted(p for p in PACKAGE.rglob("*.py") if "__pycache__" not in p.parts)


@pytest.mark.parametrize("path", _module_files(), ids=lambda p: str(p.relative_to(ROOT)))
def test_module_docstring_names_chapter_and_paper_section(path):
    doc = ast.get_docstring(ast.parse(path.read_text(encoding="utf-8")))
    assert doc, f"{path.relative_to(ROOT)} has no module docstring"
    assert CHAPTER.search(doc), f"{path.relative_to(ROOT)}: the docstring names no chapter"
    assert PAPER.search(doc) or NO_PAPER.search(doc), (
        f"{path.relative_to(ROOT)}: the docstring names no section of Allen-Zhu & Li (2019) and does not say "
        "'Paper: none'")
    bad = FORBIDDEN.search(doc)
    assert not bad, f"{path.relative_to(ROOT)}: the docstring cites {bad.group(0)!r}, which readers do not have"


# -- README ------------------------------------------------------------------------------------


def _readme_section(title):
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    match = re.search(rf"^## {re.escape(title)}\n(.*?)(?=^## )", text, re.MULTILINE | re.DOTALL)
    assert match, f"README.md has no section '## {title}'"
    return match.group(1)


def test_readme_layer_table_matches_the_import_contract():
    contract = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]["contracts"][0]
    layers = [{m.strip() for m in layer.split(":")} for layer in contract["layers"]]
    rows = re.findall(r"^\| (presentation|studies and tasks|engine|kinds|core) \| ([^|]*) \|",
                      _readme_section("Layout"), re.MULTILINE)
    assert [r[0] for r in rows] == ["presentation", "studies and tasks", "engine", "kinds", "core"]
    for (name, cell), modules in zip(rows, layers, strict=True):
        listed = {m.rstrip("/") for m in re.findall(r"`([\w/]+)`", cell)}
        public = {m for m in modules if m.startswith("__") or not m.startswith("_")}  # _checks, _linalg: private
        assert listed == public, f"README's {name} row: missing {sorted(public - listed)}, extra {sorted(listed - public)}"


def test_readme_lists_the_public_api():
    section = _readme_section("Public API")
    missing = [n for n in rnnlib.__all__ if f"`{n}`" not in section]
    assert not missing, f"README's public API section misses {missing}"
