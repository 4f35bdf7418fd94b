"""The vectorized N* of chapter 5's bootstrap and the memoized code digest give the numbers of the loops."""
import math
import warnings

import numpy as np
import pytest

from rnnlib import cache
from rnnlib.headline_stats import bootstrap_n_star
from rnnlib.stats import samples_needed, samples_needed_rows

N = np.array([100.0, 300.0, 1000.0, 3000.0, 10000.0])


def _reference_rows(n, rows, target):
    return np.array([samples_needed(n, r, target) for r in rows])


def _same(a, b):
    return np.array_equal(np.asarray(a), np.asarray(b), equal_nan=True)


def test_rows_equal_the_scalar_rule_bitwise_with_edges_and_nans():
    rng = np.random.default_rng(3)
    rows = np.exp(-np.cumsum(rng.uniform(0, 0.3, size=(400, 5)), axis=1))  # decreasing, some not
    rows[rng.random(rows.shape) < 0.2] = np.nan
    rows[::7] = rows[::7][:, ::-1]
    rows[5] = np.nan
    rows[6] = [0.9, 0.8, 0.7, 0.6, 0.5]
    rows[7] = [0.95, np.nan, 0.7, np.nan, 0.4]  # exactly the target at a grid point
    for target in (0.7, 0.85, 0.99, 0.1):
        got = samples_needed_rows(N, rows, target)
        assert _same(got, _reference_rows(N, rows, target)), target
    assert math.isnan(samples_needed_rows(N, rows, 0.7)[5]) and samples_needed_rows(N, rows, 0.7)[7] == 1000.0


def test_rows_refuse_what_the_scalar_rule_refuses():
    with pytest.raises(ValueError, match="positive"):
        samples_needed_rows(N, [[0.9, 0.0, 0.5, 0.4, 0.3]], 0.5)
    with pytest.raises(ValueError, match="shape"):
        samples_needed_rows(N, [0.9, 0.8], 0.5)
    with pytest.raises(ValueError, match="increasing"):
        samples_needed_rows(N[::-1], np.ones((1, 5)), 0.5)


def _reference_boot(values, x, target, n_boot, seed):
    """The loop chapter 5 ran before (rnnlib.headline_stats.n_star_summary at commit 3836642)."""
    rng = np.random.default_rng(seed)
    G, K, S = values.shape
    boot = np.full((n_boot, G), np.nan)
    for b in range(n_boot):
        idx = rng.integers(0, S, size=(G, S))
        sample = np.take_along_axis(values, idx[:, None, :].repeat(K, axis=1), axis=2)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            m = np.nanmean(sample, axis=2)
        for i in range(G):
            v = samples_needed(x, m[i], target)
            boot[b, i] = v if math.isfinite(v) else np.nan
    return boot


@pytest.mark.parametrize("S", [3, 5])
def test_bootstrap_equals_the_loop_bitwise(S):
    rng = np.random.default_rng(S)
    values = np.exp(-np.cumsum(rng.uniform(0, 0.25, size=(4, 5, S)), axis=1))
    values[1, 4, 0] = np.nan  # a point not run
    values[3, 3:] = np.nan
    got = bootstrap_n_star(values, N, 0.8, 300, seed=2)
    assert got.shape == (300, 4)
    assert _same(got, _reference_boot(values, N, 0.8, 300, 2))
    assert np.isfinite(got).any()


def test_code_digest_memo_gives_the_parsed_digest(tmp_path, monkeypatch):
    path = tmp_path / "m.py"
    path.write_text('"""doc"""\nimport math\nX = 1\n', encoding="utf-8")
    monkeypatch.setattr(cache, "PACKAGE_DIR", tmp_path / "pkg")
    first = cache.module_digest(path)
    memo = list((tmp_path / "pkg" / "__pycache__" / "rnnlib-digests").glob("*.json"))
    assert len(memo) == 1
    cache._FACTS.clear()
    assert cache.module_digest(path) == first  # read from the memo
    memo[0].write_text('{"digest": "x"}', encoding="utf-8")  # a damaged memo is recomputed
    cache._FACTS.clear()
    assert cache.module_digest(path) == first
    path.write_text('"""other doc"""\nimport math\nX = 1\n', encoding="utf-8")  # a docstring: same digest
    assert cache.module_digest(path) == first
    path.write_text('"""doc"""\nimport math\nX = 2\n', encoding="utf-8")  # code: another digest
    assert cache.module_digest(path) != first


def test_bootstrap_exponents_equal_one_fit_per_row():
    from rnnlib.headline_stats import bootstrap_exponents
    from rnnlib.stats import fit_power_law
    rng = np.random.default_rng(0)
    x = np.array([5.0, 10.0, 20.0, 40.0])
    rows = rng.choice([np.nan, 300.0, 420.5, 1000.0, 2500.0], size=(200, 4))  # many repeated rows
    got = bootstrap_exponents(x, rows)
    want = [fit_power_law(x, r).exponent if np.isfinite(r).sum() >= 2 else np.nan for r in rows]
    assert _same(got, want) and np.isnan(got).any() and np.isfinite(got).any()


@pytest.mark.parametrize("phi,eps,L", [("sin(3z)", 0.1, 5), ("z^2", 0.01, 10), ("tanh(4z)", 0.1, 20)])
def test_theory_calculator_reuses_its_complexity_for_log10_T(phi, eps, L):
    from rnnlib import ledger_view, theory
    calc = ledger_view.theory_calculator(phi, eps, L, 1, 256)
    assert calc["log10_T"] == theory.log10_theory_iterations(eps, L, 256, phi=phi)
    assert theory.log10_theory_iterations(eps, L, 256, phi=phi, log10_c=calc["log10_C_eps"]) == calc["log10_T"]
