"""``autowarm train`` as a user meets its failures: exit code 2, one line on stderr, no traceback."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import torch

pytestmark = pytest.mark.slow  # each case starts a Python process that imports torch

SAMPLE = Path(__file__).resolve().parents[1] / "assets" / "text"


def run_train(tmp_path, *args, pre=""):
    """``python -m autowarm train --model tiny ...`` in a subprocess (``pre``: code run first)."""
    argv = ["train", "--model", "tiny", "--steps", "2", "--batch-size", "4", "--seq-len", "32",
            "--threads", "1", "--no-progress", "--cache-dir", str(tmp_path / "cache"),
            "--schedule", "constant", *args]  # fmt: skip
    code = f"{pre}\nimport sys\nfrom autowarm.cli import main\nsys.exit(main({argv!r}))"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=180, env=env, check=False)  # fmt: skip


def assert_one_line_error(proc, *needles):
    err = proc.stderr.strip()
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert "Traceback" not in proc.stderr and len(err.splitlines()) == 1, err
    assert err.startswith("autowarm train: error: "), err
    for needle in needles:
        assert needle in err, err
    return err


def test_a_checkpoint_of_other_content_is_refused_on_resume(tmp_path):
    out = tmp_path / "run"
    out.mkdir()
    torch.save({"weights": torch.ones(2)}, out / "checkpoint.pt")
    proc = run_train(tmp_path, "--data", str(SAMPLE), "--out", str(out), "--resume")
    assert_one_line_error(proc, "checkpoint.pt is not an autowarm checkpoint", "lacks step")


def test_a_directory_where_the_checkpoint_goes_is_refused(tmp_path):
    out = tmp_path / "run"
    (out / "checkpoint.pt").mkdir(parents=True)
    for extra in ((), ("--resume",)):
        proc = run_train(tmp_path, "--data", str(SAMPLE), "--out", str(out), *extra)
        assert_one_line_error(proc, "checkpoint.pt is a directory")
    assert (out / "checkpoint.pt").is_dir()


def test_a_one_document_file_names_options_that_exist(tmp_path):
    f = tmp_path / "one.txt"
    f.write_text("a single paragraph " * 20)
    proc = run_train(tmp_path, "--data", str(f), "--out", str(tmp_path / "run"))
    err = assert_one_line_error(proc, "at least 2 documents", "doc_chars")
    assert "--doc-chars" not in err


MISSING = "import sys\nsys.modules[{name!r}] = None  # as if it were not installed"


@pytest.mark.xfail(
    strict=True,
    reason="autowarm.cli.main reports MissingExtraError as a user error once the schedules-cli "
    "branch lands; remove this marker then",
)
@pytest.mark.parametrize(
    ("module", "args", "extra"),
    [
        ("datasets", ("--data", "fineweb"), "autowarm[hub]"),
        ("tiktoken", ("--tokenizer", "gpt2"), "autowarm[gpt2]"),
        ("tokenizers", ("--tokenizer", "bpe"), "autowarm[bpe]"),
    ],
)
def test_a_missing_extra_is_one_line_naming_it(tmp_path, module, args, extra):
    data = () if "--data" in args else ("--data", str(SAMPLE))
    proc = run_train(tmp_path, *args, *data, "--out", str(tmp_path / "run"),
                     pre=MISSING.format(name=module))  # fmt: skip
    assert_one_line_error(proc, extra)


@pytest.mark.parametrize(
    ("module", "args", "extra"),
    [
        ("datasets", ("--data", "fineweb"), "autowarm[hub]"),
        ("tiktoken", ("--tokenizer", "gpt2"), "autowarm[gpt2]"),
        ("tokenizers", ("--tokenizer", "bpe"), "autowarm[bpe]"),
    ],
)
def test_a_missing_extra_raises_missing_extra_error(tmp_path, monkeypatch, module, args, extra):
    from autowarm import MissingExtraError
    from autowarm.train import DataConfig, load_data

    monkeypatch.setitem(sys.modules, module, None)
    source = args[1] if args[0] == "--data" else str(SAMPLE)
    tokenizer = args[1] if args[0] == "--tokenizer" else "byte"
    cfg = DataConfig(source=source, tokenizer=tokenizer, cache_dir=str(tmp_path / "cache"))
    with pytest.raises(MissingExtraError, match=re.escape(f"pip install '{extra}'")):
        load_data(cfg)
