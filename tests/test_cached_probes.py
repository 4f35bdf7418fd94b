"""The probes that let `make book` drop chapter 5's "alone" and chapter 8's "last" (_ext/page_probe.py, issue 12):
``rnnlib.studies.generalization.headline_cached`` and ``rnnlib.studies.ledger.ledger_inputs_cached`` say True
only when every engine run the page would send to its executor is in the cache, at tiny sizes."""
from __future__ import annotations

import pytest

from rnnlib import tasks
from rnnlib.engine import kind_key
from rnnlib.headline import HeadlineDesign, headline_base
from rnnlib.studies.generalization import headline_cached, headline_study
from rnnlib.studies.ledger import ledger_inputs_cached
from rnnlib.studies.why import interference_configs, interference_runs


def _tiny() -> HeadlineDesign:
    # with a step tuning (the points depend on its cached results) and a width study, as chapter 5's design
    return HeadlineDesign(headline_base(eps_x=1.0, n_test=100), lengths=(4, 6), n_grid=(100, 300), seeds=(0,),
                          widths={4: 16, 6: 16}, steps_at_10=100, ntk_max=300, tune_grid=(1.0, 4.0),
                          tune_lengths=(4,), width_grid=(8, 16), width_lengths=(4,))


@pytest.fixture(scope="module")
def filled(tmp_path_factory):
    """A cache holding the tiny headline study and the fast profile's interference runs."""
    cache = tmp_path_factory.mktemp("probe_cache")
    design = _tiny()
    assert headline_cached(design, cache_dir=cache) is False        # nothing cached yet: it would train
    study = headline_study(design, cache_dir=cache, n_boot=20)
    interference = tasks.interference_design(fast=True)
    assert ledger_inputs_cached(design, interference, cache_dir=cache) is False   # chapter 6's runs are missing
    interference_runs(interference, cache_dir=cache)
    return cache, design, study, interference


def test_headline_cached_once_the_study_ran_and_not_when_one_point_is_missing(filled):
    cache, design, study, _ = filled
    assert headline_cached(design, cache_dir=cache) is True
    # the last width point's entry removed: the study would train it again, so the page must not be
    # scheduled as cached
    point = study.width_results[-1].point
    (cache / f"{kind_key(point)}.json").unlink()
    try:
        assert headline_cached(design, cache_dir=cache) is False
    finally:
        headline_study(design, cache_dir=cache, n_boot=20)     # puts it back for the other tests
    assert headline_cached(design, cache_dir=cache) is True


def test_headline_cached_needs_the_step_tuning_cached(filled):
    cache, design, _, _ = filled
    tune = design.tuning_points()[0]
    entry = cache / f"{kind_key(tune)}.json"
    kept = entry.read_bytes()
    entry.unlink()
    try:
        assert headline_cached(design, cache_dir=cache) is False
    finally:
        entry.write_bytes(kept)
    assert headline_cached(design, cache_dir=cache) is True


def test_ledger_inputs_cached_reads_chapters_5_and_6(filled, tmp_path):
    cache, design, _, interference = filled
    assert ledger_inputs_cached(design, interference, cache_dir=cache) is True
    assert len(interference_configs(interference)) == len(interference.configs())
    assert ledger_inputs_cached(design, interference, cache_dir=tmp_path) is False     # an empty cache


def test_headline_cached_checks_its_design():
    with pytest.raises(TypeError, match="design must be a HeadlineDesign"):
        headline_cached("chapter 5")
