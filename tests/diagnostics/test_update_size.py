"""Update-size metrics against hand-computed values; the logger in a user loop and in train()."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
import torch
from torch import nn

from autowarm.diagnostics.smoothness import SmoothnessProbe
from autowarm.diagnostics.update_size import (
    UpdateSizeLogger,
    angular_update,
    relative_update,
    representation_change,
    update_norm,
)

ASSETS = Path(__file__).resolve().parents[1] / "assets" / "text"


def test_metric_values_by_hand():
    w = torch.tensor([[3.0, 0.0], [0.0, 4.0]])  # ||W|| = 5
    w2 = w + torch.tensor([[0.0, 3.0], [0.0, 0.0]])  # ||dW|| = 3
    assert update_norm(w, w2) == pytest.approx(3.0)
    assert relative_update(w, w2) == pytest.approx(0.6)
    # <W, W'> = 9 + 16 = 25, ||W'|| = sqrt(9 + 9 + 16) = sqrt(34): angle = arccos(25 / (5 sqrt 34))
    assert angular_update(w, w2) == pytest.approx(math.acos(5 / math.sqrt(34)), rel=1e-12)
    assert angular_update(w, -w) == pytest.approx(math.pi)
    assert angular_update(w, 2 * w) == 0.0
    assert math.isnan(angular_update(torch.zeros(2), w[0]))
    assert relative_update(torch.zeros(2), torch.zeros(2)) == 0.0
    assert relative_update(torch.zeros(2), torch.ones(2)) == math.inf


def test_small_angles_are_accurate():
    w = torch.tensor([1.0, 0.0], dtype=torch.float64)
    assert angular_update(w, torch.tensor([1.0, 1e-9], dtype=torch.float64)) == pytest.approx(
        1e-9, rel=1e-9
    )


def test_representation_change_by_hand():
    w = torch.tensor([[1.0, 2.0], [0.0, 1.0]])
    d_w = torch.tensor([[0.0, 0.0], [1.0, 0.0]])
    x = torch.tensor([[1.0, 1.0], [2.0, 0.0], [0.0, 0.0]])
    # X W^T = [[3, 1], [2, 0], [0, 0]] -> ||.||^2 = 14 ; X dW^T = [[0, 1], [0, 2], [0, 0]] -> 5
    assert representation_change(w, w + d_w, x) == pytest.approx(math.sqrt(5 / 14))
    # inputs with extra leading dimensions are flattened
    assert representation_change(w, w + d_w, x.reshape(3, 1, 2)) == pytest.approx(math.sqrt(5 / 14))


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.embed = nn.Embedding(5, 2)
        self.lin = nn.Linear(2, 2, bias=False)

    def forward(self, ids):
        return self.lin(self.embed(ids))


def test_logger_in_a_user_loop_captures_the_training_inputs(tmp_path):
    torch.manual_seed(0)
    net = Net()
    opt = torch.optim.SGD(net.parameters(), lr=0.5)
    log = UpdateSizeLogger(every=2, path=tmp_path / "u.jsonl")
    ids = torch.tensor([0, 3, 3])
    records = []
    for step in range(4):
        log.prepare(step, net)
        e_before, w_before = net.embed.weight.detach().clone(), net.lin.weight.detach().clone()
        x_lin = net.embed(ids).detach()
        loss = net(ids).square().sum()
        with torch.no_grad():  # an evaluation pass in between must not be captured
            net.eval()
            net(torch.tensor([1, 2]))
            net.train()
        loss.backward()
        opt.step()
        opt.zero_grad()
        rec = log.measure(step, net, opt)
        if step % 2:
            assert rec is None
            continue
        records.append(rec)
        w_after = net.lin.weight.detach()
        assert rec["layers"]["lin.weight"]["rrc"] == pytest.approx(
            representation_change(w_before, w_after, x_lin), rel=1e-6
        )
        d_e = net.embed.weight.detach() - e_before
        expected = (d_e[ids].square().sum() / e_before[ids].square().sum()).sqrt().item()
        assert rec["layers"]["embed.weight"]["rrc"] == pytest.approx(expected, rel=1e-6)
        assert rec["lr"] == [0.5]
    lines = [json.loads(x) for x in (tmp_path / "u.jsonl").read_text().splitlines()]
    assert [r["step"] for r in lines] == [0, 2] and lines == records
    assert set(lines[0]["mean"]) == {"update_norm", "relative_update", "angular_update", "rrc"}
    assert not net.lin._forward_hooks  # hooks removed after each logged update


def test_bad_arguments():
    with pytest.raises(ValueError, match="every must be"):
        UpdateSizeLogger(every=0)
    with pytest.raises(ValueError, match="min_ndim"):
        UpdateSizeLogger(min_ndim=-1)


@pytest.mark.slow
def test_both_diagnostics_as_training_callbacks(tmp_path):
    from autowarm.train import DataConfig, RunConfig, train

    torch.set_num_threads(1)
    cfg = RunConfig(
        model="tiny",
        optimizer="lion",
        lr=1e-3,
        schedule="warmup_cosine:warmup_steps=2",
        steps=6,
        batch_size=4,
        seq_len=32,
        data=DataConfig(source=str(ASSETS), cache_dir=str(tmp_path / "cache")),
        eval_every=3,
        eval_batches=1,
        final_eval=False,
        log_every=2,
        threads=1,
        device="cpu",
        out=str(tmp_path / "run"),
    )
    probe = SmoothnessProbe(every=2, target_loss=1.0)
    sizes = UpdateSizeLogger(every=3)
    train(cfg, callbacks=[probe, sizes], progress=False)
    assert [p["step"] for p in probe.points] == [0, 2, 4]
    assert all(p["K"] > 0 and math.isfinite(p["K"]) for p in probe.points)
    assert probe.norm == "sign"
    # Lion moves every entry by lr, plus the decoupled decay lr wd |w| (|w| < 0.2): dx = max |dW|
    assert probe.points[0]["dx"] == pytest.approx(probe.points[0]["lr"], rel=0.02)
    rows = [json.loads(x) for x in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows if "smooth_K" in r] == [1, 3, 5]
    assert [r["step"] for r in rows if "upd_rrc" in r] == [1, 4]
    recs = [
        json.loads(x) for x in (tmp_path / "run" / "update_size.jsonl").read_text().splitlines()
    ]
    assert [r["step"] for r in recs] == [0, 3]
    assert "blocks.0.attn.qkv.weight" in recs[0]["layers"]
    assert "rrc" in recs[0]["layers"]["blocks.0.mlp.w2.weight"]
