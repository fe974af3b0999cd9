"""`autowarm schedule` and `autowarm simulate` end to end (in process and as a console script)."""

import json
import subprocess
import sys

import pytest

from autowarm.cli import main
from autowarm.schedules import AdaptiveWarmupSchedule, sample, wsd


def test_schedule_json_equals_library(capsys):
    assert (
        main(
            [
                "schedule",
                "wsd",
                "--total-steps",
                "50",
                "--warmup-steps",
                "5",
                "--cooldown-frac",
                "0.2",
                "--json",
            ]
        )
        == 0
    )
    got = json.loads(capsys.readouterr().out)
    assert got == pytest.approx(sample(wsd(50, 5, 0.2), 50).tolist())


def test_schedule_spec_table_and_plot(tmp_path, capsys):
    png = tmp_path / "s.png"
    assert (
        main(["schedule", "cosine:warmup_steps=2", "--total-steps", "6", "--plot", str(png)]) == 0
    )
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "step\tmultiplier" and out[1] == "0\t0.5" and len(out) == 7
    assert png.stat().st_size > 1000 and png.read_bytes()[:4] == b"\x89PNG"


def test_schedule_errors(capsys):
    assert main(["schedule", "wsd", "--total-steps", "10", "--nope", "1"]) == 2
    assert "unknown argument(s) nope" in capsys.readouterr().err
    assert main(["schedule", "wsd"]) == 2
    assert main(["schedule", "--list"]) == 0
    assert "wsd: warmup_steps, cooldown_frac" in capsys.readouterr().out


@pytest.mark.parametrize("ramp", ["paper", "linear"])
def test_simulate_reports_switch(tmp_path, capsys, ramp):
    losses = [6.0 * 0.97**k + 1.0 for k in range(200)]
    f = tmp_path / "loss.csv"
    f.write_text("step,loss\n" + "".join(f"{k},{x}\n" for k, x in enumerate(losses)))
    png = tmp_path / "sim.png"
    args = [
        "simulate",
        "--losses",
        str(f),
        "--target-loss",
        "1.0",
        "--delta-star",
        "1.5",
        "--smoothing",
        "0",
        "--ramp",
        ramp,
        "--json",
        "--plot",
        str(png),
    ]
    assert main(args) == 0
    out = json.loads(capsys.readouterr().out)
    m = AdaptiveWarmupSchedule(200, 1.0, delta_star=1.5, smoothing=0.0, ramp=ramp)
    ref = m.simulate(losses)
    assert out["warmup_end_step"] == ref["state"]["warmup_end_step"]
    assert out["multiplier"] == pytest.approx(ref["multiplier"])
    assert out["peak_loss"] == pytest.approx(2.5)
    assert png.exists()


def test_simulate_reads_metrics_jsonl_and_errors(tmp_path, capsys):
    f = tmp_path / "metrics.jsonl"
    f.write_text(
        "".join(json.dumps({"step": k, "train_loss": 5 - 0.01 * k}) + "\n" for k in range(100))
    )
    assert main(["simulate", "--losses", str(f), "--target-loss", "2", "--kappa", "1e4"]) == 0
    assert "warmup_end_step" in capsys.readouterr().out
    assert main(["simulate", "--losses", str(tmp_path / "missing.csv"), "--target-loss", "1"]) == 2
    assert main(["simulate", "--losses", str(f), "--target-loss", "9", "--kappa", "1"]) == 2
    assert "must be below the first" in capsys.readouterr().err


def test_console_script_and_module_entry_point():
    out = subprocess.run(
        [sys.executable, "-m", "autowarm", "--version"], capture_output=True, text=True, check=True
    )
    assert out.stdout.startswith("autowarm ")
