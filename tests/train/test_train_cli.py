"""``autowarm train`` argument handling (the run itself is tested in test_train.py)."""

import subprocess
import sys

import pytest

from autowarm.cli import build_parser
from autowarm.cli.train import config_from_args


def parse(argv):
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    args.extra = extra
    return config_from_args(args)


def test_fixed_interface_and_extra_optimizer_arguments():
    cfg = parse(["train", "--model", "cpu", "--optimizer", "lion", "--lr", "1e-3", "--schedule",
                 "adaptive:div_factor=100", "--target-loss", "1.6", "--steps", "50", "--out", "r",
                 "--seed", "3", "--resume", "--weight-decay", "0.0", "--clip", "0",
                 "--data", "shakespeare+kjv+bbcnews", "--tokenizer", "bpe"])  # fmt: skip
    assert (cfg.model, cfg.optimizer, cfg.lr, cfg.steps, cfg.out, cfg.seed) == (
        "cpu",
        "lion",
        1e-3,
        50,
        "r",
        3,
    )
    assert cfg.is_adaptive and cfg.target_loss == 1.6 and cfg.resume
    assert cfg.optimizer_args == {"weight_decay": 0.0} and cfg.grad_clip is None
    assert cfg.data.source == "shakespeare+kjv+bbcnews" and cfg.data.tokenizer == "bpe"


def test_adaptive_without_target_loss_is_an_error():
    with pytest.raises(ValueError, match="needs target_loss"):
        parse(["train", "--schedule", "adaptive"])


def test_python_dash_m_is_the_console_script():
    proc = subprocess.run([sys.executable, "-m", "autowarm", "train", "--help"],
                          capture_output=True, text=True, timeout=60, check=False)  # fmt: skip
    assert proc.returncode == 0 and "--target-loss" in proc.stdout and "--resume" in proc.stdout
