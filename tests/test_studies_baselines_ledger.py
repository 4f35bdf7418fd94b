"""Chapters 7 and 8's studies (rnnlib.studies.baselines, rnnlib.studies.ledger) at the fast profile's
sizes, in a private cache: their checks hold, a second call reads everything from the cache (the
ledger re-measures nothing), damaged payloads are refused and a check fails on wrong data."""
import dataclasses
from pathlib import Path

import nbformat
import numpy as np
import pytest
import torch

from rnnlib import engine, tasks
from rnnlib.glue import glue_values
from rnnlib.headline import HeadlineDesign, headline_base
from rnnlib.plots import baselines as bplots
from rnnlib.plots.generalization import plot_ledger_result
from rnnlib.studies import baselines as bstudy
from rnnlib.studies import ledger as lstudy
from rnnlib.studies.generalization import headline_study

torch.set_num_threads(1)


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    mp = pytest.MonkeyPatch()
    path = tmp_path_factory.mktemp("ch78_cache")
    mp.setenv("RNNLIB_CACHE", str(path))
    yield path
    mp.undo()


@pytest.fixture(scope="module")
def headline(cache):
    """Chapter 5's study at small sizes (the fast design's two shortest lengths), in the module's cache."""
    d = HeadlineDesign(headline_base(eps_x=1.0, n_test=400), lengths=(4, 6), n_grid=(100, 300, 1000), seeds=(0, 1),
                       widths={4: 32, 6: 32}, steps_at_10=300, ntk_max=1000)
    return headline_study(d, n_boot=50)


@pytest.fixture(scope="module")
def comparison(headline):
    return bstudy.headline_comparison(headline)


def test_comparison_reads_chapter_5_checks_table_and_glue(comparison, headline):
    comparison.check()
    values = glue_values(comparison, {"fig": bplots.plot_method_comparison(comparison)})
    assert {"ch7-vs-sgd_wa-2-L1", "ch7-nstar-ntk_ridge-1-L2", "ch7-fewer", "ch7-summary", "ch7-sin-ridge",
            "ch7-ntk-next-cpu"} <= set(values)
    assert all(isinstance(v, (int, float, str)) for v in values.values() if not hasattr(v, "savefig"))
    assert values["ch7-share-orth-square"] < 1e-9 < values["ch7-share-sin3z"]
    assert values["ch7-vs-linear_ridge-1-L1"] in ("not reached in the grid", "undetermined")
    table = comparison.table()
    assert len(table.splitlines()) == 2 + 5 * 3 and "NTK budget" in table  # 5 methods x 3 targets; the NTK's stop
    # the NTK stops at L2 (N L <= 1000): the next grid point is predicted, not run
    n_next, cpu, mb = comparison.ntk_next(6)
    assert n_next == 300 and cpu > 0 and mb == pytest.approx(8e-6 * 300 ** 2)
    assert comparison.ntk_point() == {"n": 100, "length": 6, "width": 32, "n_test": 400}
    assert engine.is_cached(headline.design.points()) == [True] * len(headline.design.points())


def test_comparison_check_fails_when_linear_ridge_fits_the_old_task_badly(comparison, headline):
    bad = tuple(dataclasses.replace(r, test_mse=0.95) if r.point.method == "linear_ridge" else r
                for r in headline.contrasts["sin3z"])
    broken = dataclasses.replace(headline, contrasts={**headline.contrasts, "sin3z": bad})
    with pytest.raises(AssertionError, match="linear ridge should solve the old sin"):
        bstudy.headline_comparison(broken).check()
    with pytest.raises(TypeError, match="HeadlineStudy"):
        bstudy.headline_comparison(tasks.headline_design(fast=True))


def test_outside_eps_lambda_on_the_headline_task(cache, headline):
    out = bstudy.outside_study(headline)
    out.check()
    assert list(out.errors) == ["additive", "non-additive", "exactly-one", "parity-2", "parity-3"]  # k < L = 4
    values = glue_values(out)
    assert values["ch7-out-L"] == 4 and values["ch7-target-err"] == 0.85 and values["ch7-out-c"] == 2.0
    # one step constant for every target: here chapter 5's (untuned), so the additive target is its run
    np.testing.assert_allclose(out.errors["additive"], headline.curves("sgd_w").values[0, :, 0], rtol=1e-5)
    eps = bstudy.eps_study(headline, [0.03, 0.1, 0.3, 1.0])
    eps.check()
    # eps_x = 1 is chapter 5's value: the same task, so SGD at eps 1 matches chapter 5's runs at L = 4, N = 1000
    assert eps.sgd[-1] == pytest.approx(headline.curves("sgd_w").values[0, -1], abs=1e-9)
    lam = bstudy.lambda_study(headline, [1.0, 0.3, 0.1], [16, 32])
    lam.check()
    assert glue_values(lam)["ch7-lam-c"] == headline.design.base.lr_scale
    for fig in (bplots.plot_outside_study(out), bplots.plot_eps_study(eps), bplots.plot_lambda_study(lam)):
        assert fig.axes
    with pytest.raises(AssertionError, match="flip more"):
        dataclasses.replace(lam, flips=np.ones_like(lam.flips)).check()
    with pytest.raises(AssertionError, match="should learn far worse"):
        dataclasses.replace(eps, sgd=eps.sgd[::-1].copy()).check()
    with pytest.raises(AssertionError, match="additive target should be learned"):
        dataclasses.replace(out, errors={**out.errors, "additive": np.ones(3)}).check()
    with pytest.raises(ValueError, match="eps_grid"):
        bstudy.eps_study(headline, [1.0, 0.1])


def test_chapter_7_has_at_most_80_lines_of_code():
    nb = nbformat.read(Path(__file__).resolve().parents[1] / "chapters" / "07_baselines_and_limits.ipynb",
                       as_version=4)
    lines = sum(len(c.source.splitlines()) for c in nb.cells if c.cell_type == "code")
    assert lines <= 80, f"chapter 7 holds {lines} lines of code"


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


def test_ledger_reads_cached_results(cache, headline):
    # chapter 5's study is the module's small one (its runs are cached by then) with a width study of two
    # widths at its shortest length; the fast profile's own design (three lengths, the step tuning, four
    # widths: 40 s of CPU more) is read by chapter 8 in the fast book build of make test
    small = dataclasses.replace(headline.design, width_grid=(16, 32), width_lengths=(4,))
    designs = {"headline": small,
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
