"""target_loss="auto" as a user meets it: the CLI, RunConfig, the bench mode, a tiny closed loop."""

import json
import math
from pathlib import Path

import pytest
import torch
from autowarm_cli import run_autowarm

from autowarm.cli import build_parser
from autowarm.cli.train import config_from_args
from autowarm.train import DataConfig, RunConfig, train

TEXT = Path(__file__).resolve().parents[1] / "assets" / "text"


def cli(*args, cwd):
    return run_autowarm(*args, cwd=cwd)


@pytest.fixture(scope="module")
def curve(tmp_path_factory):
    f = tmp_path_factory.mktemp("sim") / "loss.csv"
    losses = [1.0 + 4.0 * (1.0 + 0.5 * k) ** -0.5 for k in range(300)]
    f.write_text("step,loss\n" + "".join(f"{k},{x}\n" for k, x in enumerate(losses)))
    return f


def test_simulate_with_an_automatic_target_loss(curve):
    first = 1.0 + 4.0
    # the default rule: f* at the loss's floor, the warm-up ends at the latest switch (half the run)
    proc = cli("simulate", "--losses", str(curve), "--target-loss", "auto", "--kappa", "3e4",
               "--div-factor", "100", "--json", cwd=curve.parent)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert out["target_loss"] == 0.0 and out["warmup_end_step"] == 150
    assert out["initial_gap"] == pytest.approx(first)
    # the online estimate, and its options, are flags too
    est = ("--fstar-rule", "estimate", "--warmup-max-frac", "none", "--max-growth", "none")
    proc = cli("simulate", "--losses", str(curve), "--target-loss", "auto", "--kappa", "3e4",
               "--div-factor", "100", *est, "--json", cwd=curve.parent)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert out["warmup_end_step"] is not None and 0 < out["target_loss"] <= 0.4 * first
    assert out["initial_gap"] + out["target_loss"] == pytest.approx(first)
    assert out["peak_loss"] == pytest.approx(out["target_loss"] + out["delta_star"])
    proc = cli("simulate", "--losses", str(curve), "--target-loss", "auto", "--kappa", "3e4",
               *est, "--fstar-provisional-frac", "0.3", "--json", cwd=curve.parent)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["target_loss"] <= 0.3 * first + 1e-12


@pytest.mark.parametrize("verb", ["simulate", "train"])
@pytest.mark.parametrize("bad", ["best", "nan", ""])
def test_a_bad_target_loss_is_one_line_and_exit_2(curve, verb, bad):
    extra = ("--losses", str(curve), "--kappa", "3e4") if verb == "simulate" else ("--steps", "3")
    proc = cli(verb, *extra, "--target-loss", bad, cwd=curve.parent)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in proc.stderr, proc.stderr
    assert "argument --target-loss: target_loss must be a finite number or 'auto'" in lines[0]
    assert repr(bad) in lines[0]


def test_train_cli_and_run_config_accept_auto():
    args = build_parser().parse_args(
        ["train", "--schedule", "adaptive", "--target-loss", "auto", "--steps", "50"]
    )
    args.extra = []
    cfg = config_from_args(args)
    assert cfg.target_loss == "auto" and cfg.adaptive_config().is_auto
    # the spec's key overrides a numeric target_loss (how the bench builds adaptive-auto)
    cfg = RunConfig(schedule="adaptive:target_loss=auto", target_loss=1.3, steps=50)
    assert cfg.adaptive_config().is_auto
    assert RunConfig.from_dict(json.loads(json.dumps(cfg.to_dict()))) == cfg
    for bad in ("best", math.nan, True):
        with pytest.raises(
            ValueError, match=r"target_loss must be a finite number, 'auto' or None"
        ):
            RunConfig(schedule="wsd:warmup_steps=3", target_loss=bad)
    with pytest.raises(ValueError, match=r"target_loss must be a finite number or 'auto'"):
        RunConfig(schedule="adaptive:target_loss=best", steps=50)


def test_the_bench_runs_adaptive_auto_next_to_the_default_mode(tmp_path):
    from autowarm.bench.presets import preset
    from autowarm.bench.sweep import plan

    specs = plan(preset("cpu"), tmp_path, adaptive_modes=["adaptive", "adaptive-auto"], seeds=1)
    auto = [s for s in specs if s.arm == "adaptive-auto"]
    assert {s.optimizer for s in auto} == {"muon", "lion", "normsgd", "adamw"}
    for s in auto:
        cfg = s.config.adaptive_config()
        default = next(
            x for x in specs if x.optimizer == s.optimizer and x.arm == "adaptive"
        ).config.adaptive_config()
        assert cfg.is_auto and cfg.replace(target_loss=default.target_loss) == default


@pytest.mark.filterwarnings("ignore:AdaptiveWarmup is still in its warm-up")
def test_a_tiny_closed_loop_run_with_auto_records_the_f_star_at_the_switch(tmp_path):
    torch.set_num_threads(1)
    cfg = RunConfig(
        model="tiny",
        optimizer="adamw",
        lr=1e-2,
        schedule="adaptive:div_factor=20,fstar_rule=estimate,fstar_provisional_frac=0.7,"
        "warmup_max_frac=none,max_growth=none",
        target_loss="auto",
        steps=40,
        batch_size=8,
        seq_len=64,
        data=DataConfig(source=str(TEXT), cache_dir=str(tmp_path / "cache")),
        eval_every=0,
        eval_batches=2,
        final_eval=False,
        log_every=5,
        threads=1,
        device="cpu",
        out=str(tmp_path / "run"),
    )
    results = train(cfg, progress=False)
    rows = [json.loads(x) for x in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    first = rows[0]["train_loss"]
    assert results == json.loads((tmp_path / "run" / "final.json").read_text())
    f = results["target_loss"]
    assert f is not None and math.isfinite(f) and f <= 0.7 * first + 1e-9
    assert results["warmup_end_step"] is not None and results["warmup_end_step"] < 40
    mults = [r["lr_mult"] for r in rows if "lr_mult" in r]
    assert mults[0] == pytest.approx(1 / 20) and max(mults) > 0.5  # it rose, then decayed
