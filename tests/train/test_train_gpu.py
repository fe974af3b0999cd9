"""CUDA: bf16 autocast training of the tiny model (deselected by default; run with -m gpu)."""

import pytest
import torch

from autowarm.train import DataConfig, RunConfig, train

pytestmark = pytest.mark.gpu


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_tiny_bf16_run_on_cuda(sample_dir, tmp_path):
    cfg = RunConfig(
        model="tiny", steps=20, batch_size=8, seq_len=64, schedule="constant", device="cuda",
        data=DataConfig(source=str(sample_dir), cache_dir=str(tmp_path / "cache")),
        eval_every=10, eval_batches=2, out=str(tmp_path / "run"),
    )  # fmt: skip
    r = train(cfg, progress=False)
    assert r["final_val_loss"] < 5.0 and r["tokens_per_s"] > 0
