"""The studies of chapters 1-4 at small sizes: each check the chapters run, here too (issue 12.5).

Every study's ``check()`` must pass at these sizes and must fail on a result that contradicts it; its
``numbers()`` must give plain values with the keys the chapter's prose quotes.
"""
from __future__ import annotations

import ast
import dataclasses
import re
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import nbformat  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

import rnnlib  # noqa: E402
from rnnlib import glue  # noqa: E402
from rnnlib.plots.diagram import plot_unrolled_rnn  # noqa: E402
from rnnlib.studies import concept_class, initialization, question, sgd  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
CHAPTERS = {1: "01_question", 2: "02_concept_class", 3: "03_initialization", 4: "04_sgd_on_w"}


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(autouse=True, scope="module")
def _cache(tmp_path_factory):
    """The studies run through the engine: cache them away from the repository's cache."""
    mp = pytest.MonkeyPatch()
    mp.setenv("RNNLIB_CACHE", str(tmp_path_factory.mktemp("ch1_4_cache")))
    yield
    mp.undo()


def _plain(result) -> dict:
    values = glue.glue_values(result)
    assert all(type(v) in (int, float, str) for v in values.values()), values
    return values


# -- small studies, computed once -------------------------------------------------------------------

@pytest.fixture(scope="module")
def studies():
    x_back = initialization.backward_design(8)
    base = rnnlib.ExperimentConfig(length=10, n_train=300, n_test=200, epochs=10, eval_every=5, lr_scale=2.0,
                                   phi="sin(3z)")
    return {
        1: [question.position_example(), question.prior_bounds([64, 128, 256], n_nets=5, n_sequences=8)],
        2: [concept_class.token_normalization(200), concept_class.taylor_truncations(),
            concept_class.complexity_study(), concept_class.target_study(200),
            concept_class.variance_study([2, 3, 5, 9, 17], n_variance=1000, n_concepts=3),
            concept_class.label_noise_study(4000), concept_class.linear_share_study()],
        3: [initialization.forward_study([64, 256, 1024], 64, range(4), n=4),
            initialization.flip_study(256, 10, 16, [0.01, 0.03, 0.1, 0.3, 1.0]),
            initialization.backward_norm_study([64, 256], x_back),
            initialization.coherence_study([64, 128, 256, 512], range(2), x_back, heat_width=256)],
        # the fast profile's sweep: at fewer samples or widths the width trends drown in seed noise
        4: [sgd.theory_versus_practice(base.replace(n_train=100, epochs=6), 64),
            sgd.width_sweep(base, [64, 256, 1024], n_probe=128)],
    }


@pytest.mark.parametrize("chapter", [1, 2, 3, 4])
def test_checks_pass_and_numbers_are_plain(studies, chapter):
    for result in studies[chapter]:
        result.check()
        _plain(result)
    if chapter == 4:
        pseudo = studies[4][1].pseudo_network()
        pseudo.check()
        _plain(pseudo)


def test_same_design_same_numbers():
    a, b = question.prior_bounds([64, 128], n_nets=2, n_sequences=4, max_length=20), \
        question.prior_bounds([64, 128], n_nets=2, n_sequences=4, max_length=20)
    assert np.array_equal(a.hidden[64], b.hidden[64]) and a.spectral_W == b.spectral_W


# -- each check fails on a result that contradicts it -------------------------------------------------

def test_position_check_fails_when_order_does_not_matter(studies):
    ex = studies[1][0]
    same = dataclasses.replace(ex, outputs=np.array([ex.outputs[0], ex.outputs[0]]))
    with pytest.raises(AssertionError, match="different targets"):
        same.check()


def test_bounds_check_fails_on_exploding_hidden_states(studies):
    b = studies[1][1]
    exploding = dataclasses.replace(b, hidden={m: h * 100 for m, h in b.hidden.items()})
    with pytest.raises(AssertionError, match="median network"):
        exploding.check()


def test_concept_class_checks_fail_on_contradictions(studies):
    tokens, taylor, complexity, targets, variance, noise, shares = studies[2]
    with pytest.raises(AssertionError, match="unit norm"):
        dataclasses.replace(tokens, x_star=2 * tokens.x_star).check()
    with pytest.raises(AssertionError, match="smaller eps"):
        dataclasses.replace(taylor, needed={0.1: 9, 0.01: 7}).check()
    with pytest.raises(AssertionError, match="closed forms"):
        dataclasses.replace(complexity, closed_form_gap=1e-3).check()
    with pytest.raises(AssertionError, match="pair terms"):
        dataclasses.replace(targets, pair_sum_gap=1e-3).check()
    with pytest.raises(AssertionError, match="grow like L"):
        dataclasses.replace(variance, var_raw=variance.var_norm).check()
    with pytest.raises(AssertionError, match="noise_floor"):
        dataclasses.replace(noise, floor=2 * noise.floor).check()
    with pytest.raises(AssertionError, match="orthogonal"):
        dataclasses.replace(shares, shares={**shares.shares, "z^2": {"sphere": 0.4, "orthogonal_to_constant": 0.2}}).check()
    with pytest.raises(AssertionError, match="linear"):
        dataclasses.replace(shares, shares={**shares.shares, "z": {"sphere": 0.9, "orthogonal_to_constant": 1.0}}).check()


def test_linear_shares_are_chapter_5s():
    from rnnlib.linear_share import linear_share
    study = concept_class.linear_share_study(["sin(3z)", "z^2"])
    assert study.shares["sin(3z)"]["sphere"] == linear_share("sin(3z)").share
    assert study.shares["z^2"]["orthogonal_to_constant"] == linear_share("z^2", direction="orthogonal_to_constant").share
    with pytest.raises(ValueError, match="direction"):
        concept_class.linear_share_study(["z"], directions=["diagonal"])


def test_initialization_checks_fail_on_contradictions(studies):
    forward, flips, back, coherence = studies[3]
    grown = [dataclasses.replace(r, norms=r.norms * np.arange(1, r.norms.shape[-1] + 1) ** 2) for r in forward.results]
    with pytest.raises(AssertionError):
        dataclasses.replace(forward, results=tuple(grown)).check()
    with pytest.raises(AssertionError, match="Gaussian prediction"):
        dataclasses.replace(flips, predicted=2 * flips.predicted).check()
    with pytest.raises(AssertionError, match="median"):
        dataclasses.replace(back, norms={m: (3 * r, o) for m, (r, o) in back.norms.items()}).check()
    with pytest.raises(AssertionError, match="overlap"):
        dataclasses.replace(coherence, overlap=0.5).check()


def test_sgd_checks_fail_on_contradictions(studies):
    scales, sweep = studies[4]
    with pytest.raises(AssertionError, match="unchanged"):
        dataclasses.replace(scales, theory=scales.practical).check()
    # the sweep in reverse width order: the trends point the wrong way
    flipped = dict(zip(sorted(sweep.results), [sweep.results[m] for m in sorted(sweep.results, reverse=True)]))
    with pytest.raises(AssertionError):
        dataclasses.replace(sweep, results={m: dataclasses.replace(r, config=r.config.replace(width=m))
                                            for m, r in flipped.items()}).check()


# -- glue ---------------------------------------------------------------------------------------------

def test_plain_converts_numpy_scalars_and_rejects_the_rest():
    assert type(glue.plain("a", np.float64(0.5))) is float and type(glue.plain("b", np.int64(3))) is int
    assert glue.plain("c", np.array(2.5)) == 2.5 and glue.plain("d", "text") == "text"
    for bad in (np.ones(2), None, {"x": 1}, True, np.bool_(False)):
        with pytest.raises(TypeError, match="glued value 'k'"):
            glue.plain("k", bad)


def test_glue_all_glues_plain_values_and_figures(monkeypatch):
    seen = {}
    monkeypatch.setattr(glue, "_myst_glue", lambda key, value: seen.__setitem__(key, value))
    fig = Figure()
    assert glue.glue_all({"x": np.float32(1.5), "fig-a": fig}, {"n": np.int64(4)}, prefix="p-") is None
    assert seen == {"p-x": 1.5, "p-fig-a": fig, "p-n": 4} and type(seen["p-x"]) is float
    with pytest.raises(ValueError, match="given twice"):
        glue.glue_values({"x": 1}, {"x": 2})
    with pytest.raises(TypeError, match="numbers"):
        glue.glue_values([1, 2])
    # a rich display object (a Markdown table for {glue:md}) is glued as it is; an array is refused
    from IPython.display import Markdown
    table = Markdown("| a |\n|---|\n| 1 |")
    assert glue.glue_values({"t": table})["t"] is table
    with pytest.raises(TypeError, match="'arr' must be a number or a string"):
        glue.glue_values({"arr": np.arange(3)})


# -- the diagram --------------------------------------------------------------------------------------

def test_unrolled_rnn_diagram_marks_the_recurrence_patterns_and_backward_map():
    fig = plot_unrolled_rnn(length=5, i=2)
    texts = " ".join(t.get_text() for t in fig.axes[0].texts)
    assert "W h_{0}" in texts and "D_{5}" in texts and "Back" in texts and "D_{3} W" in texts
    assert "D_{2} W" not in texts          # Back_{2->5} stops at D_3 W
    for kwargs in ({"length": 1}, {"length": 4, "i": 4, "j": 4}, {"length": 4, "i": 1, "j": 6}):
        with pytest.raises(ValueError):
            plot_unrolled_rnn(**kwargs)


# -- the chapters ---------------------------------------------------------------------------------------

def _notebook(chapter: int):
    return nbformat.read(ROOT / "chapters" / f"{CHAPTERS[chapter]}.ipynb", as_version=4)


@pytest.mark.parametrize("chapter", [1, 2, 3, 4])
def test_chapter_has_at_most_80_lines_of_code(chapter):
    nb = _notebook(chapter)
    lines = sum(len(c.source.splitlines()) for c in nb.cells if c.cell_type == "code")
    assert lines <= 80, f"chapter {chapter} holds {lines} lines of code"


@pytest.mark.parametrize("chapter", [1, 2, 3, 4])
def test_the_calls_that_make_figures_are_shown(chapter):
    for cell in _notebook(chapter).cells:
        if cell.cell_type == "code" and '"fig-' in cell.source:
            assert "hide-input" not in cell.metadata.get("tags", []), cell.source


@pytest.mark.parametrize("chapter", [1, 2, 3, 4])
def test_chapter_cites_the_paper_not_the_digest(chapter):
    for cell in _notebook(chapter).cells:
        assert "paper.md" not in cell.source, cell.source[:200]


@pytest.mark.parametrize("chapter", [1, 2, 3, 4])
def test_every_glue_key_in_the_prose_is_glued(studies, chapter):
    nb = _notebook(chapter)
    text = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
    wanted = set(re.findall(r"\{glue:text\}`([^`:]+)", text)) | set(re.findall(r"\{glue:figure\} (\S+)", text))
    code = "\n".join(c.source for c in nb.cells if c.cell_type == "code")
    glued = set(re.findall(r'"(fig-[\w-]+)"', code))
    results = list(studies[chapter]) + ([studies[4][1].pseudo_network()] if chapter == 4 else [])
    for result in results:
        glued |= set(_plain(result))
    assert not wanted - glued, f"chapter {chapter}: keys quoted but never glued: {sorted(wanted - glued)}"


def test_literalincludes_name_existing_objects():
    found = 0
    for chapter in CHAPTERS:
        for cell in _notebook(chapter).cells:
            for path, obj in re.findall(r"```\{literalinclude\} /(\S+)\n:pyobject: (\S+)", cell.source):
                tree = ast.parse((ROOT / path).read_text())
                scope = tree.body
                for part in obj.split("."):
                    node = next((n for n in scope if getattr(n, "name", None) == part), None)
                    assert node is not None, f"{path} has no {obj}"
                    scope = getattr(node, "body", [])
                found += 1
    assert found >= 2, "chapters 3 and 4 should include the recurrence and the SGD step"
