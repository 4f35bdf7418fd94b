"""rnnlib.complexity_kinds: chapter 2's complexity curves read from the engine's cache are rnnlib.smooth's values."""
import math

import numpy as np
import pytest

from rnnlib.complexity_kinds import ComplexityCurve, ComplexityCurveResult
from rnnlib.engine import run_many
from rnnlib.smooth import C_STAR, log10_complexity_eps, log10_complexity_sample, smooth_function

RADII = (0.5, 1.0, 1.3, 2.0)


@pytest.mark.parametrize("name", ["z^2", "sin(3z)", "tanh"])
@pytest.mark.parametrize("measure,c_star", [("sample", C_STAR), ("eps", 1.0), ("eps", C_STAR)])
def test_cached_curve_is_the_smooth_modules_values(tmp_path, name, measure, c_star):
    phi = smooth_function(name)
    cfg = ComplexityCurve.of(phi, measure, np.array(RADII), eps=0.1, c_star=c_star)
    if measure == "sample":
        want = [log10_complexity_sample(phi, R, c_star=c_star) for R in RADII]
    else:
        want = [log10_complexity_eps(phi, R, eps=0.1, c_star=c_star) for R in RADII]
    first = run_many([cfg], cache_dir=tmp_path, progress=False)[0].values
    again = run_many([cfg], cache_dir=tmp_path, progress=False)[0].values  # read back from the cache
    assert np.array_equal(first, want) and np.array_equal(again, want)


def test_a_divergent_series_survives_the_cache(tmp_path):
    cfg = ComplexityCurve.of(smooth_function("tanh"), "eps", RADII, c_star=C_STAR)
    values = run_many([cfg], cache_dir=tmp_path, progress=False)[0].values
    assert math.isinf(values[-1])
    assert np.array_equal(run_many([cfg], cache_dir=tmp_path, progress=False)[0].values, values)


def test_bad_input_and_damaged_entries_are_refused():
    with pytest.raises(ValueError, match="measure"):
        ComplexityCurve("sin", 3.0, False, "other", RADII, 0.1, C_STAR)
    with pytest.raises(TypeError, match="SmoothFunction"):
        ComplexityCurve.of("sin(3z)", "eps", RADII, c_star=C_STAR)
    with pytest.raises(TypeError):
        ComplexityCurveResult.from_dict({"values": ["oops"]})
    with pytest.raises(TypeError):
        ComplexityCurveResult.from_dict({"values": []})
