"""The adaptive warm-up as a user drives it from the command line: bad input is one line, exit 2."""

import json

import pytest
from autowarm_cli import run_autowarm

from autowarm.train import RunConfig


def cli(*args, cwd):
    return run_autowarm(*args, cwd=cwd)


@pytest.fixture(scope="module")
def curve(tmp_path_factory):
    f = tmp_path_factory.mktemp("sim") / "loss.csv"
    losses = [6.0 * 0.97**k + 1.0 for k in range(200)]
    f.write_text("step,loss\n" + "".join(f"{k},{x}\n" for k, x in enumerate(losses)))
    return f


def test_the_documented_simulate_command_works(curve):
    proc = cli("simulate", "--losses", str(curve), "--target-loss", "1.0", "--delta-star", "1.5",
               "--json", cwd=curve.parent)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert out["peak_loss"] == pytest.approx(2.5) and out["warmup_end_step"] is not None
    # kappa from the optimizer's matrices, without a model
    proc = cli("simulate", "--losses", str(curve), "--target-loss", "1.0", "--norm", "spectral",
               "--shapes", "64x256,256x64", "--div-factor", "10", "--json", cwd=curve.parent)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["delta_star"] > 0


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((), "simulate needs where D* comes from: pass --delta-star D"),
        (
            ("--delta-star", "1.5", "--total-steps", "10"),
            "--total-steps 10 is shorter than the loss",
        ),
        (("--delta-star", "abc"), "adaptive option delta_star must be a number or none; got 'abc'"),
        (
            ("--delta-star", "1.5", "--ramp", "cosine"),
            "ramp must be one of 'paper', 'linear', 'progress'",
        ),
        (("--kappa", "-3"), "kappa must be"),
        (("--norm", "spectral", "--shapes", "64by3"), "--shapes must be MxN items"),
        (("--shapes", "64x3", "--delta-star", "1"), "--shapes needs --norm"),
        (("--delta-star", "9.0"), "must be below the initial gap"),
    ],
)
def test_simulate_bad_input_is_one_line_and_exit_2(curve, args, message):
    proc = cli("simulate", "--losses", str(curve), "--target-loss", "1.0", *args, cwd=curve.parent)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], proc.stderr
    assert "Traceback" not in proc.stderr


def test_a_bad_adaptive_spec_fails_in_run_config_before_any_data():
    with pytest.raises(ValueError, match="unknown adaptive warm-up option 'bogus'"):
        RunConfig(schedule="adaptive:bogus=1", target_loss=1.0)
    with pytest.raises(ValueError, match="adaptive option patience must be an integer"):
        RunConfig(schedule="adaptive:patience=two", target_loss=1.0)
    with pytest.raises(ValueError, match="needs target_loss"):
        RunConfig(schedule="adaptive:div_factor=10")
    cfg = RunConfig(schedule="adaptive:div_factor=10,ramp=paper", target_loss=1.3, steps=60)
    assert cfg.adaptive_config().ramp == "paper" and cfg.adaptive_config().total_steps == 60
