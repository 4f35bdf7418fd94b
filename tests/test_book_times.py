"""bench/book_times.py: per-page times of the cold, warm and re-execution builds, read from a build log."""
from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))

import book_times  # noqa: E402

LOG = """\
\x1b[01mreading sources... \x1b[39;49;00m[ 15%] appendix/making_the_book
/repo/appendix/making_the_book.md: Executing notebook using local CWD [mystnb]
/repo/appendix/making_the_book.md: Executed notebook in 4.04 seconds [mystnb]
/repo/chapters/05_generalization.ipynb: Executed notebook in 522.94 seconds [mystnb]
/repo/chapters/06_why_it_works.ipynb: Using cached notebook: ID=7 [mystnb]
some other line mentioning Executed notebook in 9.99 seconds without a path first
"""


def test_page_times_reads_executed_and_cached_pages():
    seconds, cached = book_times.page_times(LOG)
    assert seconds == {"appendix/making_the_book": 4.04, "chapters/05_generalization": 522.94,
                       "chapters/06_why_it_works": 0.0}
    assert cached == ["chapters/06_why_it_works"]
    build = {"pages": seconds, "cached_pages": cached}
    assert [book_times.warm_status(p, build) for p in ("chapters/06_why_it_works", "chapters/05_generalization",
                                                        "chapters/07_baselines_and_limits")] == \
        ["read from the execution cache", "executed", "up to date, not re-read"]


def test_write_results_puts_the_book_figures_into_results_json(tmp_path):
    path = tmp_path / "results.json"
    path.write_text(json.dumps({"step_vs_torch_m128": 2.0, "details": {"x": 1}}))
    result = {"book_cold_seconds": 800.0, "book_warm_seconds": 20.0, "book_reexec_seconds": 55.0,
              "chapter_cold_seconds": {"chapters/06_why_it_works": 60.0},
              "chapter_warm_seconds": {"chapters/06_why_it_works": 0.0},
              "chapter_warm_status": {"chapters/06_why_it_works": "up to date, not re-read"},
              "chapter_reexec_seconds": {"chapters/06_why_it_works": 9.0},
              "load_average_per_build": {}, "machine": {"cores": 2}, "book_flop_efficiency": None}
    book_times.write_results(result, path)
    data = json.loads(path.read_text())
    assert (data["book_cold_seconds"], data["book_warm_seconds"], data["book_reexec_seconds"]) == (800.0, 20.0, 55.0)
    assert data["step_vs_torch_m128"] == 2.0 and data["details"]["x"] == 1
    assert data["details"]["book_times"]["chapter_reexec_seconds"] == {"chapters/06_why_it_works": 9.0}


def test_fast_profile_builds_apart_from_the_book():
    fast, full = book_times.Profile(True), book_times.Profile(False)
    assert fast.env()["RNNLIB_FAST"] == "1" and "RNNLIB_FAST" not in full.env()
    assert fast.sweep_cache != full.sweep_cache and fast.build_dir != full.build_dir
    assert full.build_command()[:2] == ["make", "book"] and "--path-output" in fast.build_command()[-1]
    assert "execute_book.py" in fast.build_command()[-1] and "--write-executed" in fast.build_command()[-1]


def test_chapter_6_training_is_counted_in_the_flops():
    import book_flops
    run = {"length": 8, "n_train": 100, "width": 16, "token_dim": 8, "epochs": 2, "batch_size": 32, "labels": "all"}
    inter = {"kind": "interference", "result": {"config": {"run": run, "pair": [3, 6]}, "seconds": 1.5}}
    single = {"kind": "single_position_sgd", "result": {"config": {"run": dict(run, labels="last")}}}
    assert [c for c, _ in book_flops._sgd_runs(inter)] == [run, run]       # two models trained together
    assert sum(r["seconds"] for _, r in book_flops._sgd_runs(inter)) == 1.5
    assert book_flops.run_flops(book_flops._sgd_runs(single)[0][0]) < book_flops.run_flops(run)
    assert book_flops._sgd_runs({"kind": "lemma_rate", "result": {"config": {}}}) == []


def test_chapter_4_tracked_runs_are_counted_in_the_flops():
    import book_flops
    run = {"length": 8, "n_train": 100, "width": 16, "token_dim": 8, "epochs": 2, "batch_size": 32, "labels": "last"}
    tracked = {"kind": "tracked_sgd", "result": {"result": {"config": run, "seconds": 0.7}, "tracker": {}}}
    assert book_flops._sgd_runs(tracked) == [(run, {"config": run, "seconds": 0.7})]


def test_the_re_execution_is_repeated_and_its_slowest_run_is_the_figure(tmp_path, monkeypatch):
    """Issue 12's figure must hold for every re-execution: main() runs --reexec-repeats of them after the
    cold and warm builds, each after dropping the execution cache, and reports the slowest."""
    events = []

    class FakeProfile:
        def __init__(self, fast):
            self.out = tmp_path

        def clean(self, log):
            events.append("clean")

        def drop_execution_cache(self):
            events.append("drop")

    seconds = iter([700.0, 8.0, 31.0, 44.0, 35.0])

    def fake_build(profile, log_path, log):
        events.append("build")
        pages = {"chapters/01_question": next(seconds)}
        return {"seconds": pages["chapters/01_question"], "pages": pages, "cached_pages": [], "load_before": [1.0],
                "load_after": [1.0], "log": ""}

    monkeypatch.setattr(book_times, "Profile", FakeProfile)
    monkeypatch.setattr(book_times, "timed_build", fake_build)
    monkeypatch.setattr(book_times, "machine_info", lambda: {"cores": 2})
    result = book_times.main(["--fast", "--no-flops", "--reexec-repeats", "3", "--out", str(tmp_path / "t.json")])
    assert events == ["clean", "build", "build", "drop", "build", "drop", "build", "drop", "build"]
    assert result["book_reexec_seconds_runs"] == [31.0, 44.0, 35.0] and result["book_reexec_seconds"] == 44.0
    assert result["chapter_reexec_seconds"] == {"chapters/01_question": 44.0}
    assert set(result["load_average_per_build"]) == {"cold", "warm", "reexec", "reexec_1", "reexec_2"}
    assert json.loads((tmp_path / "t.json").read_text())["book_reexec_seconds"] == 44.0


def test_make_bench_keeps_the_opt_in_figures_as_their_scripts_write_them(tmp_path, monkeypatch):
    """bench/run_all.py rewrites results.json: the book's and the fresh-clone test's figures, details included,
    come back from bench/book_times.json and bench/test_times.json exactly as bench-book and bench-test put them."""
    import run_all
    import test_times

    book = {"book_cold_seconds": 620.0, "book_warm_seconds": 6.0, "book_reexec_seconds": 40.0,
            "book_reexec_seconds_runs": [40.0, 35.0], "chapter_cold_seconds": {"a": 1.0},
            "chapter_warm_seconds": {"a": 0.0}, "chapter_warm_status": {"a": "x"}, "chapter_reexec_seconds": {"a": 2.0},
            "load_average_per_build": {}, "machine": {"cores": 2},
            "book_flop_efficiency": {"book_flop_efficiency": 0.41, "breakdown_seconds": {"pages": 597.0}}}
    tests = {"test_fresh_clone_seconds": 283.4, "exit_status": 0, "steps": {"venv": 27.0}, "load_before": [1.0],
             "load_after": [2.0], "machine": {"cores": 2}, "uv_cache_present": True}
    (tmp_path / "book_times.json").write_text(json.dumps(book))
    (tmp_path / "test_times.json").write_text(json.dumps(tests))
    monkeypatch.setattr(run_all, "HERE", tmp_path)
    merged = tmp_path / "results.json"
    merged.write_text(json.dumps({"step_vs_torch_m128": 1.9, "details": {"threads_1": {}}}))
    out = run_all.merge_opt_in_figures(merged)

    expected = tmp_path / "expected.json"
    expected.write_text(json.dumps({"step_vs_torch_m128": 1.9, "details": {"threads_1": {}}}))
    book_times.write_results(book, expected)
    test_times.write_results(tests, expected)
    assert out == json.loads(expected.read_text())
    assert out["book_reexec_seconds_runs"] == [40.0, 35.0] and out["test_fresh_clone_seconds"] == 283.4
    assert out["details"]["test_times"]["steps"] == {"venv": 27.0}
    assert out["details"]["book_flop_efficiency"]["breakdown_seconds"] == {"pages": 597.0}
    assert out["step_vs_torch_m128"] == 1.9 and out["details"]["threads_1"] == {}

    (tmp_path / "test_times.json").write_text(json.dumps({**tests, "exit_status": 2}))   # a failed make test
    merged.write_text(json.dumps({"details": {}}))
    assert "test_fresh_clone_seconds" not in run_all.merge_opt_in_figures(merged)
