"""benchmarks/lr_response.py: the A-B-A trial rule, its decay, the configs, and a real short run."""

import itertools
import json
import math
import subprocess
import sys
from pathlib import Path

import pytest
from benchmark_scripts import load

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "lr_response.py"
TEXT = Path(__file__).resolve().parents[1] / "assets" / "text"  # 57 KB: a fast final evaluation


def _load():
    return load("lr_response")


def _trial(loop, falls, start=5.0, noise=(0.01, -0.01, 0.0)):
    """Feed one trial whose three segments fall by ``falls`` per update (a little noise)."""
    levels, y = [], start
    for fall in falls:
        for i in range(loop.h):
            levels.append(loop.level())
            loop.feed(y + noise[i % 3])
            y -= fall
    return levels, y


def test_fall_is_minus_the_least_squares_slope():
    mod = _load()
    b, rss, sxx = mod.fall([3.0, 2.5, 2.0, 1.5])
    assert b == pytest.approx(0.5) and rss == pytest.approx(0.0) and sxx == pytest.approx(5.0)
    b, rss, _ = mod.fall([1.0, 1.2, 1.0, 1.2])
    assert b == pytest.approx(-0.04) and rss > 0


def test_a_faster_fall_at_the_higher_level_passes_and_the_step_grows():
    mod = _load()
    loop = mod.ResponseLoop(total=600, div=100.0, h=4)
    levels, y = _trial(loop, (0.05, 0.10, 0.05))
    assert levels == [0.01] * 4 + [0.02] * 4 + [0.01] * 4  # A at m, B at 2m, A at m
    assert loop.trials[-1]["pass"] and loop.m == pytest.approx(0.02) and loop.g == 4.0
    levels, _ = _trial(loop, (0.05, 0.05, 0.05), start=y)  # as fast: no slower, passes too
    assert levels[4:8] == [pytest.approx(0.08)] * 4
    assert loop.trials[-1]["pass"] and loop.m == pytest.approx(0.08) and loop.g == 8.0


def test_a_clearly_slower_fall_at_the_higher_level_fails_and_the_step_resets():
    mod = _load()
    loop = mod.ResponseLoop(total=600, div=10.0, h=4, g0=3.0)
    _trial(loop, (0.05, 0.10, 0.05))
    assert loop.m == pytest.approx(0.3) and loop.g == 6.0
    _trial(loop, (0.05, -0.02, 0.05))  # the loss rises at the higher level
    last = loop.trials[-1]
    assert not last["pass"] and last["fall_B"] < last["fall_A"] - last["se"]
    assert loop.m == pytest.approx(0.3) and loop.g == 3.0  # kept; the next step is g0 again
    assert loop.switch is None


def test_the_peak_ends_the_warmup_with_a_cosine_decay_to_the_last_update():
    mod = _load()
    loop = mod.ResponseLoop(total=100, div=2.0, h=3, final=1e-4)
    _trial(loop, (0.05, 0.10, 0.05))  # 0.5 -> 1.0: the peak
    assert loop.switch == 9 and loop.cap == 1.0
    values = [loop.level()]
    while loop.step < 100:
        loop.feed(1.0)
        values.append(loop.level())
    assert values[0] == pytest.approx(1.0)
    assert values[(100 - 9) // 2] == pytest.approx(0.5, abs=0.02)  # half-way down
    assert values[-1] == pytest.approx(1e-4)
    assert all(a >= b for a, b in itertools.pairwise(values))


def test_the_latest_switch_decays_from_the_level_reached():
    mod = _load()
    loop = mod.ResponseLoop(total=40, div=100.0, h=3, max_frac=0.5)
    falls = [0.05] * 3 + [-0.05] * 3 + [0.05] * 3  # every trial fails: m stays at 1/div
    y = 5.0
    while loop.switch is None:
        loop.feed(y + 0.01 * (loop.step % 2))
        y -= falls[(loop.step - 1) % 9]
    assert all(not t["pass"] for t in loop.trials) and len(loop.trials) == 2
    assert loop.switch == 20 and loop.cap == pytest.approx(0.01)
    assert loop.level() == pytest.approx(0.01)


def test_non_finite_losses_stay_out_of_the_trial():
    mod = _load()
    loop = mod.ResponseLoop(total=600, div=100.0, h=3)
    loop.feed(math.nan)
    loop.feed(math.inf)
    assert loop.trial == [] and loop.step == 2 and loop.level() == 0.01


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("sgd@1", "unknown optimizer 'sgd'"),
        ("adamw@x", "must be a positive number"),
        ("adamw@-1", "must be a positive number"),
        ("adamw", "must be a positive number"),
        (",", "no runs given"),
    ],
)
def test_bad_runs_are_one_line_errors(text, message):
    with pytest.raises(ValueError, match=message):
        _load().parse_runs(text)


def test_configs_are_the_bench_grid_runs_with_a_constant_schedule(tmp_path):
    import argparse

    from autowarm.bench import plan, preset

    mod = _load()
    args = argparse.Namespace(runs=[("muon", 0.5), ("adamw", 4.0)], data="default", seed=1,
                              steps=600, out=tmp_path)  # fmt: skip
    configs = mod.plan(args)
    assert list(configs) == ["muon-lrx0.5", "adamw-lrx4"]
    for (opt, factor), cfg in zip(args.runs, configs.values(), strict=True):
        grid = plan(preset("cpu"), tmp_path, optimizers=[opt], seeds=2, adaptive=False,
                    warmup_steps=[0], lr_factors=[factor])[-1].config  # fmt: skip
        mine, theirs = cfg.to_dict(), grid.to_dict()
        assert {k: v for k, v in mine.items() if k not in ("out", "schedule", "seed")} == {
            k: v for k, v in theirs.items() if k not in ("out", "schedule", "seed")
        }
        assert cfg.schedule == "constant" and cfg.seed == 1


@pytest.mark.slow
def test_short_runs_write_a_summary_and_are_reused(tmp_path):
    cmd = [sys.executable, str(SCRIPT), "--runs", "adamw@1,muon@2", "--steps", "30", "--h", "3",
           "--jobs", "2", "--data", str(TEXT), "--out", str(tmp_path / "out")]  # fmt: skip
    first = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    assert first.returncode == 0, first.stderr
    assert "0 finished run(s) reused, 2 to train" in first.stdout
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert set(summary["runs"]) == {"adamw-lrx1", "muon-lrx2"}
    for name, row in summary["runs"].items():
        assert 0 < row["final_val_loss"] < 7 and row["trials"]
        assert row["switch"] is not None and 0 < row["cap"] <= 1
        rows = [json.loads(x) for x in (tmp_path / "out" / "runs" / name / "metrics.jsonl")
                .read_text().splitlines()]  # fmt: skip
        trained = [r for r in rows if "response_mult" in r]
        assert trained[0]["response_mult"] == pytest.approx(0.01)  # both start at lr/100
        lr0 = summary["runs"][name]["lr"]
        assert trained[0]["lr"][0] == pytest.approx(lr0 * 0.01)  # the LR the update ran with
    assert (tmp_path / "out" / "lr_response.png").stat().st_size > 0
    again = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    assert again.returncode == 0 and "2 finished run(s) reused, 0 to train" in again.stdout


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--runs", "adamw@1,sgd@1"], "unknown optimizer 'sgd'"),
        (["--h", "2"], "--h must be at least 3"),
        (["--g0", "1"], "need --g0 > 1"),
        (["--div", "0.5"], "--div must be at least 1"),
    ],
)
def test_bad_arguments_are_one_line_errors(tmp_path, argv, message):
    res = subprocess.run([sys.executable, str(SCRIPT), *argv, "--out", str(tmp_path)],
                         capture_output=True, text=True, timeout=120)  # fmt: skip
    assert res.returncode == 2 and message in res.stderr
