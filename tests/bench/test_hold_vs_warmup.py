"""benchmarks/hold_vs_warmup.py: the held multipliers, a real short run against a stored grid."""

import json
import subprocess
import sys
from pathlib import Path

import pytest
from benchmark_scripts import load

BENCH = Path(__file__).resolve().parents[2] / "benchmarks"
SCRIPT = BENCH / "hold_vs_warmup.py"
TEXT = Path(__file__).resolve().parents[1] / "assets" / "text"


def _load():
    return load("hold_vs_warmup")


@pytest.mark.parametrize(
    ("hold", "steps", "expected"),
    [
        (2, 5, [1.0, 1.0, 0.6, 0.4, 0.2]),  # the ramp (0, 0.2, ...) replaced, the decay kept
        (1, 3, [1.0, 0.2, 0.6]),
        (4, 4, [1.0, 1.0, 1.0, 1.0]),
    ],
)
def test_hold_multipliers_replace_the_ramp_by_the_peak_and_keep_the_rest(hold, steps, expected):
    grid = [0.0, 0.2, 0.6, 0.4, 0.2]
    got = _load().hold_multipliers(lambda s: grid[s], hold, steps)
    assert got == pytest.approx(expected) and len(got) == steps


@pytest.mark.slow
def test_a_real_run_holds_the_peak_then_follows_the_stored_decay(tmp_path):
    grid = tmp_path / "grid" / "results"
    grid.mkdir(parents=True)
    cmd = [sys.executable, str(SCRIPT), "--runs", "adamw@1", "--hold", "2", "--steps", "5",
           "--data", str(TEXT), "--grid", str(grid.parent), "--out", str(tmp_path / "out")]  # fmt: skip
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    assert res.returncode == 0, res.stderr
    run = json.loads((tmp_path / "out" / "summary.json").read_text())["runs"]["adamw-lrx1-hold2-s0"]
    assert run["grid_w0"] is None and run["same_decay_as_grid_wH"] is None and run["final"] > 0
    assert run["seed"] == 0 and run["adaptive"] is None
    metrics = tmp_path / "out" / "runs" / "adamw-lrx1-hold2-s0" / "metrics.jsonl"
    lrs = [json.loads(x)["lr"][0] / 3e-3 for x in metrics.read_text().splitlines()
           if "train_loss" in x]  # fmt: skip
    assert lrs[:2] == [1.0, 1.0] and lrs[2] < 1.0 and lrs[4] < lrs[3] < lrs[2]
    # a stored 5-update w=2 run with this decay (and a w=0 run of another length, left out)
    stored = {"final_val_loss": 1.5, "lr_multiplier": [0.01, 0.5, *lrs[2:]]}
    (grid / "adamw__grid-w2__s0.json").write_text(json.dumps(stored))
    (grid / "adamw__grid-w0__s0.json").write_text(
        json.dumps({"final_val_loss": 1.6, "lr_multiplier": [1.0] * 600})
    )
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    assert res.returncode == 0 and "1 finished run(s) reused, 0 to train" in res.stdout
    run = json.loads((tmp_path / "out" / "summary.json").read_text())["runs"]["adamw-lrx1-hold2-s0"]
    assert run["grid_wH"] == 1.5 and run["same_decay_as_grid_wH"] is True
    assert run["grid_w0"] is None  # a 600-update run is not this 5-update workload
    (cell,) = json.loads((tmp_path / "out" / "summary.json").read_text())["paired"]
    assert cell["n"] == 1 and cell["minus"]["grid_wH"]["mean"] == pytest.approx(run["final"] - 1.5)
    assert cell["minus"]["grid_w0"] is None and cell["minus"]["grid_wH"]["verdict"] == "n/a"
    assert (tmp_path / "out" / "hold_vs_warmup.png").stat().st_size > 0


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--runs", "adam@1"], "unknown optimizer 'adam'"),
        (["--hold", "0"], "--hold: 0 is below 1"),
        (["--hold", "10", "--steps", "10"], "--steps must be above every --hold"),
    ],
)
def test_bad_arguments_are_one_line_errors(tmp_path, argv, message):
    res = subprocess.run([sys.executable, str(SCRIPT), *argv, "--out", str(tmp_path)],
                         capture_output=True, text=True, timeout=120, cwd=BENCH)  # fmt: skip
    assert res.returncode == 2 and message in res.stderr


def test_a_ramp_runs_first_then_the_peak_then_the_decay():
    mod = _load()
    got = mod.hold_multipliers(lambda s: 0.5, 4, 6, ramp=lambda s: 0.25 * (s + 1), ramp_steps=2)
    assert got == [0.25, 0.5, 1.0, 1.0, 0.5, 0.5]
    with pytest.raises(ValueError, match="must fit in the hold"):
        mod.hold_multipliers(lambda s: 0.5, 2, 6, ramp=lambda s: 0.5, ramp_steps=3)


def test_a_ramp_longer_than_the_hold_is_a_one_line_error(tmp_path):
    res = subprocess.run([sys.executable, str(SCRIPT), "--ramp", "300", "--out", str(tmp_path)],
                         capture_output=True, text=True, timeout=120, cwd=BENCH)  # fmt: skip
    assert res.returncode == 2 and "--ramp must be between 0 and every --hold" in res.stderr


def _run(seed, final, w0=None, wh=None, ad=None):
    return {"optimizer": "lion", "lr_factor": 1.0, "hold": 240, "seed": seed, "final": final,
            "grid_w0": w0, "grid_wH": wh, "adaptive": ad}  # fmt: skip


def test_paired_differences_by_seed_with_their_interval():
    mod = _load()
    runs = {s: _run(s, 1.60 + 0.01 * s, w0=1.65 + 0.01 * s, ad=1.60 + 0.02 * s) for s in range(3)}
    runs[3] = _run(3, 1.60, wh=1.61)  # a seed only w=H has: its difference alone
    (c,) = mod.paired(runs)
    assert c["n"] == 4 and c["held_mean"] == pytest.approx(1.6075)
    w0 = c["minus"]["grid_w0"]
    assert w0["mean"] == pytest.approx(-0.05) and w0["n"] == 3 and w0["verdict"] == "better"
    assert c["minus"]["adaptive"]["mean"] == pytest.approx(-0.01)
    assert c["minus"]["grid_wH"]["n"] == 1 and c["minus"]["grid_wH"]["verdict"] == "n/a"
