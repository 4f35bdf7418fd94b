"""rnnlib.share_kinds: the linear shares read from the engine's cache are rnnlib.linear_share's values."""
import pytest

from rnnlib.engine import run_many
from rnnlib.linear_share import DIRECTIONS, linear_share_table
from rnnlib.share_kinds import LinearShares, LinearSharesResult
from rnnlib.smooth import SMOOTH_FUNCTIONS, smooth_function
from rnnlib.studies.concept_class import linear_share_study

NAMES = ("z", "z^2", "sin(3z)", "exp(z)-1")


@pytest.mark.parametrize("direction", DIRECTIONS)
def test_cached_shares_are_the_tables_values(tmp_path, direction):
    want = [linear_share_table([n], token_dim=8, direction=direction)[n].share for n in NAMES]
    cfg = LinearShares(NAMES, 8, direction)
    assert list(run_many([cfg], cache_dir=tmp_path, progress=False)[0].shares) == want
    assert list(run_many([cfg], cache_dir=tmp_path, progress=False)[0].shares) == want  # read back


def test_the_study_gives_the_former_numbers(tmp_path, monkeypatch):
    monkeypatch.setenv("RNNLIB_CACHE", str(tmp_path))
    names = list(dict.fromkeys(smooth_function(f).name for f in SMOOTH_FUNCTIONS))  # as the study names them
    tables = {d: linear_share_table(names, token_dim=8, direction=d) for d in DIRECTIONS}
    want = {n: {d: float(tables[d][n].share) for d in DIRECTIONS} for n in names}
    assert linear_share_study(token_dim=8).shares == want
    assert linear_share_study(token_dim=8).shares == want  # from the cache


def test_bad_input_and_damaged_entries():
    with pytest.raises(ValueError, match="direction"):
        LinearShares(NAMES, 8, "north")
    with pytest.raises(ValueError):
        LinearShares((), 8, "sphere")
    with pytest.raises(ValueError):
        LinearSharesResult.from_dict({"shares": [float("nan")]})
    with pytest.raises(TypeError):
        LinearSharesResult.from_dict({"shares": "0.5"})
