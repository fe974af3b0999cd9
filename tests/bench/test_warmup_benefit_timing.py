"""benchmarks/warmup_benefit_timing.py: ranks, the leader's regret, and a run on stored results."""

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest
from benchmark_scripts import load

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "warmup_benefit_timing.py"


def _load():
    return load("warmup_benefit_timing")


@pytest.mark.parametrize(
    ("values", "expected"),
    [([0.3, 0.1, 0.3, 0.2], [3.5, 1.0, 3.5, 2.0]), ([1.0], [1.0]), ([2.0, 2.0], [1.5, 1.5])],
)
def test_ranks_share_the_mean_rank_on_ties(values, expected):
    assert _load().ranks(values) == expected


def test_spearman_value_table_and_bad_input():
    mod = _load()
    assert mod.spearman([1, 2, 3, 4], [10, 20, 30, 40]) == pytest.approx(1.0)
    assert mod.spearman([1, 2, 3], [3, 2, 1]) == pytest.approx(-1.0)
    assert mod.spearman([1, 2, 3], [1, 3, 2]) == pytest.approx(0.5)
    assert math.isnan(mod.spearman([1, 1, 1], [1, 2, 3]))
    with pytest.raises(ValueError, match="same length"):
        mod.spearman([1, 2], [1, 2, 3])


def _grid():
    # warm-up -> seed -> curve: w=0 leads early and loses at the end, w=240 wins late
    return {
        0: {0: {100: 2.0, 600: 1.70}, 1: {100: 2.1, 600: 1.72}},
        60: {0: {100: 2.2, 600: 1.65}, 1: {100: 2.3, 600: 1.67}},
        240: {0: {100: 2.6, 600: 1.60}, 1: {100: 2.5, 600: 1.62}},
    }


def test_timing_reports_the_leader_its_regret_and_the_rank_correlation():
    t = _load().timing(_grid())
    assert t["final_best"] == 240 and t["seeds"] == [0, 1] and t["warmups"] == [0, 60, 240]
    early, last = t["updates"][100], t["updates"][600]
    assert early["leader"] == 0
    assert early["regret"] == pytest.approx(0.10)  # 1.71 - 1.61
    assert early["minus_median"] == pytest.approx(0.05)  # 1.71 - 1.66
    assert early["spearman"] == pytest.approx(-1.0)
    assert last["leader"] == 240 and last["regret"] == 0 and last["spearman"] == pytest.approx(1)


def test_timing_uses_only_shared_seeds_and_needs_two_warmups():
    mod = _load()
    g = _grid()
    g[60][2] = {100: 9.0, 600: 9.0}  # a seed only one warm-up has: left out
    assert mod.timing(g)["seeds"] == [0, 1]
    assert mod.timing({0: _grid()[0]}) is None
    assert mod.timing({0: {0: {100: 1.0}}, 60: {1: {100: 1.0}}}) is None


def _write(results, opt, w, seed, curve, final, factor=1.0, arm="grid"):
    suffix = "" if factor == 1 else f"-lrx{factor:g}"
    name = (
        f"{opt}__{arm}-w{w}{suffix}__s{seed}.json"
        if arm == "grid"
        else f"{opt}__{arm}__s{seed}.json"
    )
    row = {"arm": f"{arm}-w{w}{suffix}" if arm == "grid" else arm, "optimizer": opt,
           "warmup_steps": w if arm == "grid" else None, "seed": seed, "lr_factor": factor,
           "evals": [[t, v] for t, v in curve.items()], "final_val_loss": final,
           "steps": [1] * 600}  # fmt: skip
    (results / name).write_text(json.dumps(row))


def test_the_script_reads_a_results_directory_and_writes_its_summary(tmp_path):
    results = tmp_path / "bench" / "results"
    results.mkdir(parents=True)
    for w, seeds in _grid().items():
        for s, curve in seeds.items():
            _write(results, "lion", w, s, {100: curve[100]}, curve[600])
    _write(results, "lion", 0, 0, {100: 0.1}, 0.1, arm="adaptive-auto")  # not a grid run
    out = tmp_path / "out"
    res = subprocess.run([sys.executable, str(SCRIPT), "--results", str(tmp_path / "bench"),
                          "--out", str(out)], capture_output=True, text=True, timeout=120)  # fmt: skip
    assert res.returncode == 0, res.stderr
    summary = json.loads((out / "summary.json").read_text())
    (cell,) = summary["cells"]
    assert cell["optimizer"] == "lion" and cell["final_best"] == 240
    assert cell["updates"]["100"]["leader"] == 0
    assert cell["updates"]["100"]["regret"] == pytest.approx(0.10)
    assert (out / "warmup_benefit_timing.png").stat().st_size > 0
    assert "lion" in res.stdout and "minus median" in res.stdout


def test_a_directory_without_results_is_a_one_line_error(tmp_path):
    res = subprocess.run([sys.executable, str(SCRIPT), "--results", str(tmp_path),
                          "--out", str(tmp_path / "o")], capture_output=True, text=True,
                         timeout=120)  # fmt: skip
    assert res.returncode == 2 and "no results/ directory there" in res.stderr
