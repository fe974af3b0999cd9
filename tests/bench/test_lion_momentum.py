"""benchmarks/lion_momentum.py: the arms' configs, a real short run per arm, reuse on a re-run."""

import json
import subprocess
import sys
from pathlib import Path

import pytest
from benchmark_scripts import load

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "lion_momentum.py"
TEXT = Path(__file__).resolve().parents[1] / "assets" / "text"  # 57 KB: a fast final evaluation


def _load():
    return load("lion_momentum")


def _args(tmp_path, **kw):
    import argparse

    mod = _load()
    base = dict(out=tmp_path, lr_factor=0.5, data="default", seed=0, steps=600, arms=list(mod.ARMS))
    return mod, argparse.Namespace(**{**base, **kw})


def test_arms_vary_only_the_warmup_start_and_beta2(tmp_path):
    from autowarm.bench import plan, preset
    from autowarm.schedules.registry import from_spec

    mod, args = _args(tmp_path)
    configs = mod.plan(args)
    grid = {s.warmup_steps: s.config for s in plan(preset("cpu"), tmp_path, optimizers=["lion"],
            seeds=1, adaptive=False, lr_factors=[0.5], div_factors={"lion": 100})}  # fmt: skip
    assert configs["w0"].replace(out="") == grid[0].replace(out="")  # the bench's own grid runs
    assert configs["w30"].replace(out="") == grid[30].replace(out="")
    starts = {arm: from_spec(c.schedule, 600)(0) for arm, c in configs.items()}
    assert starts["w30"] == pytest.approx(0.01, rel=1e-3)
    assert starts["w30-div10"] == pytest.approx(0.1, rel=1e-3)
    assert starts["w30-div3"] == pytest.approx(1 / 3, rel=1e-3)
    assert configs["b09-w30"].optimizer_args["betas"] == [0.9, 0.9]
    assert "betas" not in configs["w30"].optimizer_args  # the preset's Lion betas (0.9, 0.99)
    assert {c.lr for c in configs.values()} == {0.5 * preset("cpu").optimizers["lion"].lr}


def test_short_runs_write_a_summary_and_are_reused(tmp_path):
    cmd = [sys.executable, str(SCRIPT), "--arms", "w0,b09-w30", "--steps", "40", "--jobs", "1",
           "--data", str(TEXT), "--out", str(tmp_path / "out")]  # fmt: skip
    first = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    assert first.returncode == 0, first.stderr
    assert "0 finished run(s) reused, 2 to train" in first.stdout
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert set(summary["arms"]) == {"w0", "b09-w30"}
    for row in summary["arms"].values():
        assert 0 < row["final_val_loss"] < 6 and row["angular_update_late"] > 0
        assert all(x > 0 for x in row["attn_mlp_norm_end"])
    assert summary["arms"]["b09-w30"]["betas"] == [0.9, 0.9]
    assert (tmp_path / "out" / "lion_momentum.png").stat().st_size > 0
    again = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    assert again.returncode == 0 and "2 finished run(s) reused, 0 to train" in again.stdout
    assert json.loads((tmp_path / "out" / "summary.json").read_text())["arms"] == summary["arms"]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--arms", "w0,w45"], "unknown arm(s) w45"),
        (["--steps", "25"], "multiple of 10"),
        (["--steps", "30"], "above the longest warm-up (30)"),
    ],
)
def test_bad_arguments_are_one_line_errors(tmp_path, argv, message):
    res = subprocess.run([sys.executable, str(SCRIPT), *argv, "--out", str(tmp_path)],
                         capture_output=True, text=True, timeout=120)  # fmt: skip
    assert res.returncode == 2 and message in res.stderr
