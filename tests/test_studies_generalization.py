"""Chapter 5's study at tiny sizes: the same checks the chapter runs, the glued numbers, the figures."""
import math

import numpy as np
import pytest

from rnnlib.headline import HeadlineDesign, headline_base
from rnnlib.ledger_measures import measure_headline
from rnnlib.plots import headline as hplots
from rnnlib.bounds import evaluate_bounds
from rnnlib.rnn import ElmanRNN
from rnnlib.studies.generalization import (PRIOR_BOUNDS, TARGETS, bound_samples, headline_study, key_of,
                                           widths_text)


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    return tmp_path_factory.mktemp("cache")


@pytest.fixture(scope="module")
def study(cache):
    d = HeadlineDesign(headline_base(eps_x=1.0, n_test=200), lengths=(4, 6, 8), n_grid=(100, 300, 1000),
                       seeds=(0, 1), widths={4: 24, 6: 24, 8: 12}, steps_at_10=250, ntk_max=1000,
                       n_min={8: 1000}, stops={"sgd_wa": 6}, tune_grid=(1.0, 4.0), tune_lengths=(4,),
                       width_grid=(12, 24, 48), width_lengths=(4,))
    return headline_study(d, cache_dir=cache, n_boot=50)


def test_study_checks_and_numbers(study):
    study.check()
    n = study.numbers()
    unique = {r.point for r in study.results + study.width_results + sum(study.contrasts.values(), ())}
    assert n["n_runs"] == len(unique) + len(study.tuning)
    assert n["share_orth_square"] < 1e-9 < n["share_square"] and n["share_sin3z"] > 0.8
    assert n["sin_ridge"] < 0.5 and n["opt"] > 0
    table = study.table()   # glued as Markdown by the chapter ({glue:md})
    assert "| method |" in table and "not run (N L > 1,000)" in table  # the NTK's stop is shown
    row = next(r for r in table.splitlines() if r.startswith("| SGD on W and A |"))
    assert row.count("not run (budget)") == 1 and n["stop_sgd_wa"] == 6 and 0 <= n["stop_sgd_wa_err"] < 5
    assert all(isinstance(v, (int, float, str)) for v in n.values())
    assert {f"target{i + 1}" for i in range(3)} <= set(n) and n["target1"] == TARGETS[0]


def test_study_is_read_back_from_the_cache(study, cache):
    again = headline_study(study.design, cache_dir=cache, n_boot=50)
    assert again.n_cached == again.n_runs
    assert [r.test_mse for r in again.results] == [r.test_mse for r in study.results]


def test_figures(study):
    for fig in (hplots.plot_shares(study.shares), hplots.plot_curves(study), hplots.plot_n_star(study),
                hplots.plot_contrasts(study), hplots.plot_front(study)):
        assert fig.axes


def test_bound_samples_and_keys():
    np.testing.assert_allclose(bound_samples([2.0, 3.0], 0.1), [6.0, 8.0])
    assert key_of("sin(3z)") == "sin3z" and key_of("cos(3z)-1") == "cos3zm1" and key_of(0.85) == "085"


def test_a_width_per_length_reaches_the_text_and_the_prior_bounds(study):
    # the fixture trains its longest length narrower, as the book's design does at L = 80
    assert study.numbers()["widths"] == widths_text(study.design.widths) == "24 at L = 4 to 6, 12 at L = 8"
    assert widths_text({10: 64, 5: 64}) == "64 at L = 5 to 10" and widths_text({3: 8}) == "8 at L = 3"
    # each length's prior bounds are evaluated on networks of that length's width
    d = study.design
    for L, m in ((8, 12), (4, 24)):
        ev = [evaluate_bounds(ElmanRNN(d.base.token_dim + 1, m, seed=s), [L]) for s in d.seeds]
        for key, label in PRIOR_BOUNDS.items():
            want = bound_samples(np.median([e[key] for e in ev], axis=0), TARGETS[1])[0]
            np.testing.assert_allclose(study.prior[label][d.lengths.index(L)], want, rtol=1e-12)
    wide = [evaluate_bounds(ElmanRNN(d.base.token_dim + 1, 24, seed=s), [8]) for s in d.seeds]
    assert study.prior[PRIOR_BOUNDS["zhang"]][-1] != bound_samples(np.median([e["zhang"] for e in wide], axis=0),
                                                                   TARGETS[1])[0]  # the width matters


def test_measure_headline(study):
    m = measure_headline(study.summary)
    assert m["target"] == sorted(TARGETS)[1] and m["lengths"] == [4, 6, 8]
    assert m["n_inside"] == sum(st == "inside" for st in m["status"])
    assert m["growth"] in ("power law", "exponential", "undecided")
    assert all(math.isnan(v) for v, st in zip(m["n_star"], m["status"]) if st != "inside")
    with pytest.raises(ValueError, match="method"):
        measure_headline(study.summary, method="adam")
    with pytest.raises(ValueError, match="target"):
        measure_headline(study.summary, target=0.5)


def test_tuning_width_and_tokens(study):
    n = study.numbers()
    assert len(study.tuning) == 2 * 3 and {r.chosen for r in study.tuning} <= {1.0, 4.0}
    c = study.chosen_c()
    assert all(c[(6, N)] == c[(4, N)] == c[(8, N)] for N in (100, 300, 1000))  # untuned lengths take L = 4's c
    assert n["c_sgd_w_L1"] == c[(4, 1000)] and n["c_sgd_w"].endswith("at L = 4")
    assert all(p.point.config.lr_scale == c[(p.point.config.length, p.point.config.n_train)] for p in study.results
               if p.point.method == "sgd_w")
    assert n["tune_sgd_w_1_L"] == 4 and len(n["tune_sgd_w_1"].split(", ")) == 2
    assert 0 <= n["n_halved"] <= n["n_sgd_runs"]
    w = study.width_summary()
    assert w["widths"] == [12, 24, 48] and w["n_values"] == [100, 300, 1000]
    assert np.array(w["errors"]).shape == (3, 3) and np.array(w["sems"]).shape == (3, 3)
    assert set(w["n_star"]) == set(TARGETS) and all(len(v) == 3 for v in w["n_star_interval"].values())
    assert set(w["verdict"].values()) <= {"falls", "stays", "rises", "borderline", "undecided"}
    assert n["width_min_seeds"] == 2 and n["width_L"] == 4 and n["min_seeds"] == 2
    assert n["token_L"] == 8 and n["token_N"] == 1000 and 0 <= n["token_late"] and 0 <= n["token_early"]
    assert all(isinstance(v, (int, float, str)) for v in n.values())
    for fig in (hplots.plot_width(study), hplots.plot_tokens(study)):
        assert fig.axes
