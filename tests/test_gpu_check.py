"""benchmarks/gpu_check.sh: the one-GPU mid-size check, proven on the CPU by its --tiny mode."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest
import torch

from autowarm.bench import plan, preset
from autowarm.train import LLaMA, RunConfig, model_config
from autowarm.train.loop import resolve_model_config

REPO = Path(__file__).resolve().parents[1]
SCRIPT = REPO / "benchmarks" / "gpu_check.sh"


def _helper():
    spec = importlib.util.spec_from_file_location("gpu_check", REPO / "benchmarks" / "gpu_check.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _run(args, tmp_path, timeout=300):
    env = {
        **os.environ,
        "PYTHON": sys.executable,
        "AUTOWARM_CACHE": str(tmp_path / "cache"),
        "PYTHONPATH": os.pathsep.join([str(REPO / "src"), os.environ.get("PYTHONPATH", "")]),
    }
    return subprocess.run(
        ["bash", str(SCRIPT), *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=timeout,
        check=False,
    )


def test_llama_30m_is_mid_size_with_the_bpe_vocabulary():
    cfg = resolve_model_config(RunConfig(model="llama-30m"), 4096)
    with torch.device("meta"):
        model = LLaMA(cfg)
    assert 20e6 <= model.num_params() <= 50e6
    assert model.num_params() == 30_565_888
    assert model_config("llama-30m").context == 512


def test_gpu_mid_plans_grid_and_adaptive_arms_on_the_auto_device(tmp_path):
    bench = preset("gpu-mid")
    specs = plan(bench, tmp_path, adaptive_modes=["adaptive-faithful", "adaptive"])
    arms = sorted({s.run_id.split("__")[1] for s in specs if s.optimizer == "muon"})
    assert arms == [
        "adaptive",
        "adaptive-faithful",
        "grid-w0",
        "grid-w120",
        "grid-w30",
        "grid-w300",
    ]
    assert {s.optimizer for s in specs} == {"muon", "lion"}
    for s in specs:
        c = s.config
        assert (c.model, c.steps, c.batch_size, c.seq_len) == ("llama-30m", 1200, 16, None)
        assert (c.device, c.dtype) == ("auto", "auto")  # cuda + bf16 autocast on a GPU
        assert (c.data.source, c.data.tokenizer, c.data.vocab_size) == ("default", "bpe", 4096)
        # the paper-124m settings: LR, div factor and f* per optimizer
        setup = preset("paper-124m").optimizers[s.optimizer]
        assert c.lr == setup.lr
        if s.arm != "grid":
            assert c.target_loss == setup.target_loss


def test_bad_arguments_fail_before_any_work(tmp_path):
    for args, message in (
        ([], "OUTDIR is required"),
        (["--budget-s", "soon", str(tmp_path)], "--budget-s must be an integer >= 1; got soon"),
        (["--fast", str(tmp_path)], "unknown option --fast"),
        (["--steps", "0", str(tmp_path)], "--steps must be an integer >= 1; got 0"),
        ([str(tmp_path / "a"), str(tmp_path / "b")], "one OUTDIR only"),
    ):
        res = _run(args, tmp_path)
        assert res.returncode == 2, res.stderr
        assert message in res.stderr
    assert not (tmp_path / "a").exists()


@pytest.mark.slow
@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the failure without a GPU")
def test_full_mode_stops_without_a_gpu(tmp_path):
    out = tmp_path / "out"
    res = _run(["--optimizers", "muon,sgd", str(out)], tmp_path)
    assert res.returncode == 2, res.stdout + res.stderr
    assert "--optimizers: sgd not in preset gpu-mid; valid: muon, lion, normsgd" in res.stderr
    res = _run([str(out)], tmp_path)
    assert res.returncode == 3, res.stdout + res.stderr
    assert "sees no CUDA device; the full check needs one GPU" in res.stderr
    assert not (out / "runs").exists() and not (tmp_path / "cache").exists()


def test_summary_marks_runs_that_did_not_finish(tmp_path):
    gc = _helper()
    root = tmp_path / "out"
    (root / "runs" / "muon__grid-w0__s0").mkdir(parents=True)
    ids = ["muon__grid-w0__s0", "muon__adaptive__s0"]
    (root / "bench.json").write_text(json.dumps({"preset": "gpu-mid", "runs": ids}))
    final = {"steps": 10, "tokens": 81920, "wall_time_s": 4.0, "train_time_s": 2.0}
    final |= {"tokens_per_s": 40960.0, "final_val_loss": 4.5, "warmup_end_step": None}
    (root / "runs" / ids[0] / "final.json").write_text(json.dumps(final))
    config = {"device": "cuda:0", "params": 1_000_000, "data": {"cache": "/c/tokens/k"}}
    (root / "runs" / ids[0] / "config.json").write_text(json.dumps(config))
    phases = tmp_path / "phases.tsv"
    phases.write_text("prepare\t3\tok\nbench\t8\ttime-limit\n")
    facts = {"device": "cuda", "gpu": "NVIDIA H200", "torch": "2.11.0", "cuda": "13.0"}
    s = gc.summarize(root, "full", phases, "/c/tokens/k", facts)
    assert [r["status"] for r in s["runs"]] == ["done", "not finished"]
    assert (s["runs_done"], s["runs_planned"], s["total_s"]) == (1, 2, 11.0)
    assert s["aggregate_tokens_per_s"] == 10240  # 81920 tokens over the 8 s bench phase
    assert s["model_tflops"] == round(6 * 1e6 * 10240 / 1e12, 1)
    assert s["data_prepared_once"] is True
    gc.write_summary(root, s)
    md = (root / gc.SUMMARY_MD).read_text()
    assert "NVIDIA H200" in md and "| muon__adaptive__s0 | not finished |" in md
    assert "bench 8 s (time-limit)" in md
    (root / "runs" / ids[0] / "config.json").unlink()  # no run recorded which cache it read
    assert gc.summarize(root, "full", phases, "/c/tokens/k", facts)["data_prepared_once"] is None


@pytest.mark.slow
def test_tiny_mode_runs_every_phase_on_the_cpu(tmp_path):
    gc = _helper()
    out = tmp_path / "out"
    res = _run(["--tiny", str(out)], tmp_path)
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    for phase in ("preparing the data once", "token cache (built once)", "bench (at most"):
        assert phase in res.stdout
    modes = gc.modes()  # adaptive-faithful, adaptive, and adaptive-auto once autowarm has it
    assert modes[:2] == ["adaptive-faithful", "adaptive"]
    arms = ["grid-w0", "grid-w2", *modes]
    report = (out / "report.md").read_text()
    assert "Preset `gpu-mid`" in report
    for arm in modes:
        assert f"| {arm} |" in report
    assert "| 0 (best) |" in report or "| 0 |" in report
    assert "| 2 (best) |" in report or "| 2 |" in report
    summary = json.loads((out / gc.SUMMARY_JSON).read_text())
    assert summary["mode"] == "tiny" and summary["machine"]["device"] == "cpu"
    assert sorted(summary["arms"]) == sorted(arms)
    assert summary["runs_done"] == summary["runs_planned"] == len(arms)
    assert summary["data_prepared_once"] is True  # every run read the cache `prepare` built
    assert all(r["tokens_per_s"] > 0 and r["device"] == "cpu" for r in summary["runs"])
    md = (out / gc.SUMMARY_MD).read_text()
    for arm in arms:
        assert f"muon__{arm}__s0 | done |" in md
    with tarfile.open(out / "gpu_check_bundle.tar.gz") as tf:
        names = tf.getnames()
    assert "report.md" in names and gc.SUMMARY_MD in names
    assert not any(n.endswith(".pt") for n in names)
