"""Chapters 7 and 8's studies (rnnlib.studies.baselines, rnnlib.studies.ledger) at the fast profile's
sizes, in a private cache: their checks hold, a second call reads everything from the cache (the
ledger re-measures nothing), damaged payloads are refused and a check fails on wrong data."""
import dataclasses

import numpy as np
import pytest
import torch

from rnnlib import engine, tasks
from rnnlib.glue import glue_values
from rnnlib.plots import baselines as bplots
from rnnlib.plots.generalization import plot_ledger_result
from rnnlib.studies import baselines as bstudy
from rnnlib.studies import ledger as lstudy

torch.set_num_threads(1)


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    mp = pytest.MonkeyPatch()
    path = tmp_path_factory.mktemp("ch78_cache")
    mp.setenv("RNNLIB_CACHE", str(path))
    yield path
    mp.undo()


@pytest.fixture(scope="module")
def design():
    return tasks.baselines_design(fast=True)


@pytest.fixture(scope="module")
def comparison(cache, design):
    return bstudy.comparison_study(design)


def test_comparison_checks_table_and_glue(comparison):
    comparison.check()
    values = glue_values(comparison, {"fig": bplots.plot_comparison(comparison)})
    assert {"ch7-verdict-ntk_ridge", "ch7-even-linear_ridge-1", "ch7-sgd-wab", "ch7-N2"} <= set(values)
    assert values["ch7-verdict-random_features"].endswith("SGD on W")
    assert "<table" in comparison.table_html() and "<table" in comparison.even_table_html()


def test_comparison_check_fails_when_sgd_does_not_improve(comparison):
    errors = dict(comparison.errors, sgd_w=comparison.errors["sgd_w"][::-1].copy())
    with pytest.raises(AssertionError, match="SGD on W should improve"):
        dataclasses.replace(comparison, errors=errors).check()


def test_outside_eps_lambda(cache, design):
    out = bstudy.outside_study(design, 0.5)
    out.check()
    assert glue_values(out)["ch7-need-parity2"].startswith("more than")
    eps = bstudy.eps_study(design, [0.03, 0.1, 0.3, 1.0])
    eps.check()
    lam = bstudy.lambda_study(design, [1.0, 0.3, 0.1], [32, 128], 1.0)
    lam.check()
    assert glue_values(lam)["ch7-lam-c"] == 1.0
    for fig in (bplots.plot_outside_study(out, width=64, length=10), bplots.plot_eps_study(eps),
                bplots.plot_lambda_study(lam)):
        assert fig.axes
    flat = dataclasses.replace(lam, flips=np.ones_like(lam.flips))
    with pytest.raises(AssertionError, match="flip more"):
        flat.check()


def test_ntk_cost_kind_round_trip(tmp_path):
    cost = bstudy.ntk_cost(20, 3, 8, 5, cache_dir=tmp_path)
    cost.check()
    assert engine.is_cached([cost.cost.config], tmp_path) == [True]
    assert bstudy.ntk_cost(20, 3, 8, 5, cache_dir=tmp_path).cost.values == cost.cost.values
    assert glue_values(cost)["ch7-ntk-m"] == 8
    with pytest.raises(ValueError):
        bstudy.NtkCost.from_dict({"config": cost.cost.config.to_dict(), "values": {"peak_rss_mb": float("inf")}})
    with pytest.raises(AssertionError, match="peak memory"):
        bstudy.NtkCostStudy(bstudy.NtkCost(cost.cost.config, {**cost.cost.values, "peak_rss_mb": 4096.0})).check()


def test_ledger_reads_cached_results(cache):
    designs = {"headline": tasks.headline_design(fast=True), "width": tasks.width_design(fast=True),
               "sgd": tasks.sgd_design(fast=True), "interference": tasks.interference_design(fast=True)}
    sizes = dict(m_init=64, l_forward=20, l_long=60, long_widths=(32, 64), long_seeds=4, pseudo_seeds=2,
                 coherence_seeds=2, n_boot=50)
    result = lstudy.ledger_study(**designs, **sizes)
    result.check()
    values = glue_values(result, {"fig-result": plot_ledger_result(result)})
    assert {"h_lengths", "h_target", "threshold_flip_ratio_min", "verdict_length", "long_drift", "n_measured",
            "count_supported", "n_borderline", "h_log10_T"} <= set(values)
    assert values["n_measured"] + values["n_construction"] == values["n_rows"] == len(lstudy.ledger.CLAIMS)
    # the length and comparison rows read chapter 5's headline study, not a design of their own
    assert result.measured["length"]["lengths"] == list(designs["headline"].lengths)
    # a second study computes nothing: every run, the headline's points and every probe are in the cache
    probes = [lstudy.LedgerProbeConfig("measure_additivity")]
    assert engine.is_cached(probes) == [True]
    again = lstudy.ledger_study(**designs, **sizes)
    assert again.headline.n_cached == again.headline.n_runs
    assert [r.verdict for r in again.rows] == [r.verdict for r in result.rows]
    # the check fails on a ledger whose lazy row claims more than its pseudo row
    rows = [dataclasses.replace(r, verdict=lstudy.ledger.SUPPORTED) if r.claim.key == "lazy" else r
            for r in result.rows]
    pseudo = [dataclasses.replace(r, verdict=lstudy.ledger.PARTLY) if r.claim.key == "pseudo" else r for r in rows]
    with pytest.raises(AssertionError, match="lazy"):
        dataclasses.replace(result, rows=pseudo).check()


def test_ledger_probe_refuses_unknown_probe_and_bad_payload():
    with pytest.raises(ValueError, match="probe must be one of"):
        lstudy.LedgerProbeConfig("measure_everything").run()
    with pytest.raises(ValueError):
        lstudy.LedgerProbe.from_dict({"config": {"probe": "measure_additivity", "kwargs": [], "run": None},
                                      "values": {"mixed": float("nan")}})
