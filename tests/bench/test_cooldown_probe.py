"""benchmarks/cooldown_probe.py: the probe's multipliers, its inputs, and a real short probe."""

import itertools
import json
import subprocess
import sys
from pathlib import Path

import pytest
from benchmark_scripts import load

BENCH = Path(__file__).resolve().parents[2] / "benchmarks"
SCRIPT = BENCH / "cooldown_probe.py"
TEXT = Path(__file__).resolve().parents[1] / "assets" / "text"  # 57 KB: a fast final evaluation


def _load():
    return load("cooldown_probe")


@pytest.mark.parametrize(
    ("b", "c", "expected"),
    [
        (2, 4, [0.1, 0.2, 0.3, 0.225, 0.15, 0.075]),  # the cooldown starts at update b + 1's
        (1, 1, [0.1, 0.2]),
        (3, 2, [0.1, 0.2, 0.3, 0.4, 0.2]),
    ],
)
def test_probe_multipliers_follow_the_grid_then_fall_linearly(b, c, expected):
    mod = _load()
    got = mod.probe_multipliers(lambda s: 0.1 * (s + 1), b, c)
    assert got == pytest.approx(expected) and len(got) == b + c


def test_probe_multipliers_never_reach_zero_and_keep_the_grid_prefix():
    mod = _load()
    grid = [0.01, 0.3, 1.0, 0.9, 0.5, 0.2]
    got = mod.probe_multipliers(lambda s: grid[s], 3, 5)
    assert got[:3] == grid[:3] and all(x > 0 for x in got)
    assert all(a > b for a, b in itertools.pairwise(got[3:]))


@pytest.mark.parametrize(
    ("text", "message"),
    [("0,x", "'x' is not an integer"), ("-1", "-1 is below 0"), (" , ", "no values given")],
)
def test_parse_ints_rejects_bad_items(text, message):
    mod = _load()
    with pytest.raises(ValueError, match=message):
        mod.parse_ints(text, "--warmups", 0)
    assert mod.parse_ints("240,0,60,0", "--warmups", 0) == [0, 60, 240]


def _probe(tmp_path, grid_dir):
    cmd = [sys.executable, str(SCRIPT), "--runs", "adamw@1", "--warmups", "0,3", "--branch", "3",
           "--cooldown", "2", "--data", str(TEXT), "--grid", str(grid_dir), "--jobs", "2",
           "--out", str(tmp_path / "out")]  # fmt: skip
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    assert res.returncode == 0, res.stderr
    return res.stdout, json.loads((tmp_path / "out" / "summary.json").read_text())


@pytest.mark.slow
def test_a_real_probe_sets_its_lr_checks_the_grid_run_and_is_reused(tmp_path):
    grid_dir = tmp_path / "grid"
    (grid_dir / "results").mkdir(parents=True)
    out, summary = _probe(tmp_path, grid_dir)
    assert "2 to train" in out
    runs = summary["runs"]
    assert set(runs) == {"adamw-lrx1-w0-b3", "adamw-lrx1-w3-b3"}
    rows = {}
    for name, r in runs.items():
        assert r["matches_grid_run"] is None and r["grid_final"] is None  # no stored grid run
        assert len(r["mults"]) == 5 and 0 < r["cooled_loss"] < 6
        metrics = tmp_path / "out" / "runs" / name / "metrics.jsonl"
        rows[name] = [json.loads(x) for x in metrics.read_text().splitlines()]
        steps = [x for x in rows[name] if "train_loss" in x]
        # every update ran at the probe's multiplier of the peak LR (3e-3)
        assert [x["lr"][0] / 3e-3 for x in steps] == pytest.approx(r["mults"])
    # w=0 starts at the peak; w=3 ramps from lr/100 and cools down from its peak
    assert runs["adamw-lrx1-w0-b3"]["mults"][0] == pytest.approx(1.0, abs=1e-4)
    ramp = runs["adamw-lrx1-w3-b3"]["mults"]
    assert ramp[:3] == pytest.approx([0.01, 0.505, 1.0])  # the grid's half-cosine ramp
    assert 0.9 < ramp[3] < 1.0 and ramp[4] == pytest.approx(ramp[3] / 2)
    # a stored grid run with the same first 3 losses matches; one with another loss does not
    for name, w, bump in (("adamw-lrx1-w0-b3", 0, 0.0), ("adamw-lrx1-w3-b3", 3, 1e-3)):
        losses = [x["train_loss"] for x in rows[name] if "train_loss" in x]
        stored = {"final_val_loss": 1.5, "train_loss": [losses[0] + bump, *losses[1:]]}
        (grid_dir / "results" / f"adamw__grid-w{w}__s0.json").write_text(json.dumps(stored))
    out, summary = _probe(tmp_path, grid_dir)
    assert "2 finished probe(s) reused, 0 to train" in out
    assert summary["runs"]["adamw-lrx1-w0-b3"]["matches_grid_run"] is True
    assert summary["runs"]["adamw-lrx1-w3-b3"]["matches_grid_run"] is False
    assert summary["runs"]["adamw-lrx1-w0-b3"]["grid_final"] == 1.5
    assert (tmp_path / "out" / "cooldown_probe.png").stat().st_size > 0


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--runs", "sgd@1"], "unknown optimizer 'sgd'"),
        (["--warmups", "0,a"], "--warmups: 'a' is not an integer"),
        (["--branch", "0"], "--branch: 0 is below 1"),
        (["--cooldown", "0"], "--cooldown must be at least 1"),
    ],
)
def test_bad_arguments_are_one_line_errors(tmp_path, argv, message):
    res = subprocess.run([sys.executable, str(SCRIPT), *argv, "--out", str(tmp_path)],
                         capture_output=True, text=True, timeout=120, cwd=BENCH)  # fmt: skip
    assert res.returncode == 2 and message in res.stderr
    assert len(res.stderr.strip().splitlines()[-1]) < 200


def _row(opt, b, w, cooled, final):
    return {"optimizer": opt, "lr_factor": 1.0, "b": b, "w": w, "cooled_loss": cooled,
            "grid_final": final}  # fmt: skip


def test_choices_pick_the_lowest_cooled_loss_and_price_it_by_the_final_loss():
    mod = _load()
    runs = {
        "1": _row("lion", 150, 0, 2.00, 1.65),
        "2": _row("lion", 150, 240, 2.10, 1.60),
        "3": _row("lion", 300, 0, 1.90, 1.65),
        "4": _row("lion", 300, 240, 1.80, 1.60),
        "5": _row("muon", 150, 0, 2.00, None),  # no stored grid run: no regret
        "6": _row("muon", 150, 60, 2.05, 1.45),
    }
    got = {(c["optimizer"], c["b"]): c for c in mod.choices(runs)}
    assert got[("lion", 150)]["chosen"] == 0 and got[("lion", 150)]["final_best"] == 240
    assert got[("lion", 150)]["regret"] == pytest.approx(0.05)
    assert got[("lion", 300)]["chosen"] == 240 and got[("lion", 300)]["regret"] == 0
    assert got[("muon", 150)]["chosen"] == 0 and got[("muon", 150)]["regret"] is None
    assert got[("lion", 150)]["cooled"] == {"0": 2.0, "240": 2.1}
