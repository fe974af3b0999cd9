"""Shared fixtures of the optimizer tests: a toy LM with every group kind and a training loop."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import torch
from torch import nn


class ToyLM(nn.Module):
    """Embedding, hidden matrices, norm gains, biases and an untied lm_head: every group kind."""

    def __init__(self, vocab: int = 16, d: int = 12) -> None:
        super().__init__()
        self.embed = nn.Embedding(vocab, d)
        self.up = nn.Linear(d, 2 * d)
        self.down = nn.Linear(2 * d, d, bias=False)
        self.norm = nn.LayerNorm(d)
        self.lm_head = nn.Linear(d, vocab, bias=False)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        h = self.embed(tokens)
        h = h + self.down(torch.relu(self.up(h)))
        return self.lm_head(self.norm(h))


def _fresh(seed: int = 0) -> ToyLM:
    torch.manual_seed(seed)
    return ToyLM()


def _train(model: nn.Module, opt: torch.optim.Optimizer, steps: int, seed: int = 0) -> list[float]:
    """``steps`` full-batch steps on a learnable token map; the losses before each step."""
    gen = torch.Generator().manual_seed(seed)
    x = torch.randint(0, 16, (64,), generator=gen)
    y = (3 * x + 1) % 16
    losses = []
    for _ in range(steps):
        opt.zero_grad()
        loss = nn.functional.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    return losses


@pytest.fixture
def fresh() -> Callable[..., ToyLM]:
    """``fresh(seed=0)``: a ToyLM initialised from ``torch.manual_seed(seed)``."""
    return _fresh


@pytest.fixture
def train() -> Callable[..., list[float]]:
    """``train(model, opt, steps, seed=0)``: run the toy training loop, return the losses."""
    return _train
