"""`autowarm bench --data FILE --model tiny`: any corpus and model, recorded so runs never mix."""

import json
import random

import pytest

from autowarm.cli import main

WORDS = [
    "the",
    "a",
    "of",
    "warm",
    "up",
    "rate",
    "loss",
    "step",
    "model",
    "learns",
    "slowly",
    "quickly",
    "data",
    "text",
    "run",
    "seed",
]


def _corpus(path, paragraphs=400):
    rng = random.Random(0)
    text = "\n\n".join(
        " ".join(rng.choice(WORDS) for _ in range(rng.randint(20, 60))) + "."
        for _ in range(paragraphs)
    )
    path.write_text(text)
    return path


@pytest.mark.slow
def test_bench_on_a_text_file_with_the_tiny_model(tmp_path, capsys):
    data = _corpus(tmp_path / "corpus.txt")
    out = tmp_path / "b"
    argv = ["bench", "--preset", "cpu", "--model", "tiny", "--data", str(data), "--optimizers",
            "adamw", "--seeds", "1", "--steps", "3", "--warmup-steps", "0", "--no-adaptive",
            "--jobs", "1", "--no-progress", "--out", str(out)]  # fmt: skip
    assert main(argv) == 0
    r = json.loads((out / "results" / "adamw__grid-w0__s0.json").read_text())
    assert r["config"]["model"] == "tiny" and r["config"]["data"]["source"] == str(data)
    assert len(r["train_loss"]) == 3 and r["vocab_size"] == 256
    capsys.readouterr()
    # the same directory on the default corpus (or another model) is refused before any work:
    # the same run, and another run (another warm-up) of the directory alike
    default = [a for a in argv if a not in ("--data", str(data))]
    assert main(default) == 2
    assert "adamw__grid-w0__s0 in" in capsys.readouterr().err
    other = [a if a != "0" else "1" for a in default]
    assert main(other) == 2
    assert f"holds runs with data.source={str(data)!r}" in capsys.readouterr().err
    cpu = [a if a != "tiny" else "cpu" for a in argv]
    assert main(cpu) == 2
    assert "was trained with model='tiny'" in capsys.readouterr().err


def test_bad_model_and_data_options_are_refused(tmp_path, capsys):
    base = ["bench", "--preset", "tiny", "--out", str(tmp_path / "b")]
    assert main([*base, "--model", "huge"]) == 2
    assert "huge" in capsys.readouterr().err
    assert main([*base, "--val-frac", "1.5"]) == 2
    assert "val_frac must be in (0, 1)" in capsys.readouterr().err
    assert not (tmp_path / "b").exists()
