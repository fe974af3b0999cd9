"""The CLI as a user drives it: every bad input ends in one stderr line, exit code 2, no traceback.

Each case runs ``python -m autowarm`` in a subprocess (the real console entry point) and checks the
exit code, that stderr is exactly one line ``autowarm <verb>: error: ...`` naming the bad value,
and that no ``Traceback`` appears anywhere.
"""

from __future__ import annotations

import os

import pytest
from autowarm_cli import one_line_error, run_autowarm

TRAIN = ["train", "--model", "tiny", "--optimizer", "adamw", "--lr", "1e-3", "--steps", "10"]

CASES = [
    (["schedule", "wsd", "--total-steps", "10"], "needs warmup_steps, decay_frac"),
    (["schedule", "cosine", "--total-steps", "10", "--warmup-steps", "abc"], "got 'abc'"),
    (["schedule", "wsd:warmup_steps=abc,cooldown_frac=0.2", "--total-steps", "100"], "'abc'"),
    (["schedule", "wsd:warmup_steps=10,cooldown_frac=1.5", "--total-steps", "100"], "got 1.5"),
    (["schedule", "wsd:warmup_steps=500", "--total-steps", "1000"], "needs decay_frac"),
    (["schedule", "warmup_cosine:warmup_steps=2.5", "--total-steps", "100"], "got 2.5"),
    (["schedule", "linear:power=3", "--total-steps", "10"], "unknown argument(s) power"),
    (["schedule", "constant:min_lr_factor=0.5", "--total-steps", "10"], "min_lr_factor"),
    (["schedule", "nosuch", "--total-steps", "10"], "unknown schedule 'nosuch'"),
    (["schedule", "cosine", "--total-steps", "abc"], "invalid int value: 'abc'"),
    (["schedule", "cosine", "--total-steps", "0"], "got 0"),
    (["probe", "--optimizer", "nosuch", "--out", "{tmp}/p"], "unknown optimizer 'nosuch'"),
    (["plan", "refine", "--grad-norms", "{tmp}/missing.txt"], "missing.txt"),
    (
        [
            "plan",
            "transfer",
            "--from",
            "wsd:bogus=1",
            "--to",
            "linear",
            "--lr",
            "1",
            "--steps",
            "9",
        ],
        "bogus",
    ),
    ([*TRAIN, "--schedule", "wsd:warmup_steps=abc,cooldown_frac=0.2", "--out", "{tmp}/t"], "'abc'"),
    ([*TRAIN, "--schedule", "wsd:warmup_steps=5", "--out", "{tmp}/t"], "needs decay_frac"),
]


def run_cli(args: list[str], tmp_path, env_extra: dict | None = None):
    argv = [a.replace("{tmp}", str(tmp_path)) for a in args]
    return run_autowarm(*argv, cwd=tmp_path, env_extra=env_extra)


def assert_one_line_error(proc, verb: str, needle: str) -> None:
    one_line_error(proc, needle, verb=verb)


@pytest.mark.slow
@pytest.mark.parametrize(("args", "needle"), CASES, ids=[" ".join(a)[:60] for a, _ in CASES])
def test_bad_input_is_one_line_and_exit_code_2(args, needle, tmp_path):
    verb = " ".join(args[:2]) if args[0] == "plan" else args[0]
    proc = run_cli(args, tmp_path)
    assert_one_line_error(proc, verb, needle)
    assert not (tmp_path / "t" / "metrics.jsonl").exists()  # nothing ran


@pytest.mark.slow
def test_missing_optional_dependency_names_the_extra(tmp_path):
    # A matplotlib that is "not installed": the real import machinery raises ModuleNotFoundError.
    fake = tmp_path / "hide" / "matplotlib"
    fake.mkdir(parents=True)
    (fake / "__init__.py").write_text(
        "raise ModuleNotFoundError(\"No module named 'matplotlib'\", name='matplotlib')\n"
    )
    path = os.pathsep.join(filter(None, [str(fake.parent), os.environ.get("PYTHONPATH")]))
    proc = run_cli(
        ["schedule", "cosine", "--total-steps", "5", "--plot", "s.png"],
        tmp_path,
        {"PYTHONPATH": path},
    )
    assert_one_line_error(proc, "schedule", "pip install 'autowarm[plot]'")
    assert "matplotlib is needed for plotting" in proc.stderr


@pytest.mark.slow
def test_debug_env_gives_the_traceback(tmp_path):
    proc = run_cli(["schedule", "wsd", "--total-steps", "10"], tmp_path, {"AUTOWARM_DEBUG": "1"})
    assert proc.returncode != 0 and "Traceback" in proc.stderr
    assert "needs warmup_steps" in proc.stderr
