"""A LLaMA-style decoder in one readable file: RMSNorm, rotary embeddings, SwiGLU, causal SDPA.

The block is pre-norm,

.. math::
    h = x + \\mathrm{Attn}(\\mathrm{RMSNorm}(x)), \\qquad
    y = h + W_2\\,(\\mathrm{silu}(W_1 \\hat h) \\odot W_3 \\hat h), \\quad \\hat h = \\mathrm{RMSNorm}(h),

with :math:`\\mathrm{RMSNorm}(x) = g \\odot x / \\sqrt{\\mathrm{mean}(x^2) + \\epsilon}`, rotary position
embeddings on queries and keys (Su et al. 2021, arXiv:2104.09864), a SwiGLU MLP (Shazeer 2020,
arXiv:2002.05202) and no biases anywhere (Touvron et al. 2023, arXiv:2302.13971). Weights start as
:math:`\\mathcal N(0, 0.02^2)`; the two residual projections of every block (attention output and MLP
down-projection) are further scaled by :math:`1/\\sqrt{2L}` (GPT-2), so the residual stream's variance
does not grow with depth.

The presets: ``tiny`` (CI tests in seconds), ``cpu`` (the CPU benchmark model, ~0.8 M parameters),
``cpu-large``, ``llama-30m`` (the one-GPU check of ``benchmarks/gpu_check.sh``, 30.6 M parameters with
a 4096-token BPE) and the paper's ``llama-124m`` / ``llama-210m`` (GPT-2 vocabulary padded to 50304).
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from autowarm.schedules._validate import integer


@dataclass(frozen=True)
class ModelConfig:
    """Shape of a :class:`LLaMA` model.

    Example:
        >>> ModelConfig(vocab_size=256, d_model=64, n_layers=2, n_heads=4, d_ff=160, context=32)
        ModelConfig(vocab_size=256, d_model=64, n_layers=2, n_heads=4, d_ff=160, context=32, ...)
    """

    vocab_size: int  # number of token ids (256 for bytes; 50304 = GPT-2's 50257 padded to 64)
    d_model: int  # width of the residual stream
    n_layers: int  # number of transformer blocks
    n_heads: int  # attention heads; d_model must be divisible by it (head dim = d_model / n_heads)
    d_ff: int  # hidden width of the SwiGLU MLP (about 8/3 * d_model)
    context: int  # maximum sequence length (sizes the rotary table)
    tie_embeddings: bool = True  # share the token embedding with the output head (no lm_head)
    rope_theta: float = 10_000.0  # base of the rotary frequencies
    norm_eps: float = 1e-5  # epsilon inside RMSNorm's square root

    def __post_init__(self) -> None:
        for name in ("vocab_size", "d_model", "n_layers", "n_heads", "d_ff", "context"):
            integer(name, getattr(self, name), minimum=1)
        if self.d_model % self.n_heads:
            raise ValueError(
                f"d_model ({self.d_model}) must be divisible by n_heads ({self.n_heads})"
            )
        if (self.d_model // self.n_heads) % 2:
            raise ValueError(
                f"head dim d_model/n_heads = {self.d_model // self.n_heads} must be even for RoPE"
            )
        if not (self.rope_theta > 0 and self.norm_eps > 0):
            raise ValueError(
                f"rope_theta and norm_eps must be > 0; got {self.rope_theta!r}, {self.norm_eps!r}"
            )

    def replace(self, **changes: object) -> ModelConfig:
        """A copy with some fields changed."""
        return dataclasses.replace(self, **changes)


MODEL_PRESETS: dict[str, ModelConfig] = {
    # A CI-sized model: a forward+backward on a few short sequences takes milliseconds.
    "tiny": ModelConfig(vocab_size=256, d_model=32, n_layers=2, n_heads=2, d_ff=96, context=64),
    # The CPU benchmark model: 0.84 M parameters, ~12k tokens/s on 2 cores.
    "cpu": ModelConfig(vocab_size=256, d_model=128, n_layers=4, n_heads=4, d_ff=352, context=128),
    # A "bigger" CPU point: 4.9 M parameters, ~3k tokens/s on 2 cores.
    "cpu-large": ModelConfig(
        vocab_size=256, d_model=256, n_layers=6, n_heads=4, d_ff=704, context=256
    ),
    # A mid-size GPU model for a one-GPU comparison in minutes (benchmarks/gpu_check.sh): the
    # paper's 124M shape at width 512 and 9 blocks, d_ff = 8/3 d rounded up to a multiple of 32;
    # 30.6 M parameters with the default 4096-token BPE (28.5 M without the embedding).
    "llama-30m": ModelConfig(
        vocab_size=4096, d_model=512, n_layers=9, n_heads=8, d_ff=1376, context=512
    ),
    # The paper's models (GPT-2 tokens, FineWeb, seq 512): 123.6 M and 208.5 M parameters.
    "llama-124m": ModelConfig(
        vocab_size=50304, d_model=768, n_layers=12, n_heads=12, d_ff=2048, context=512
    ),
    "llama-210m": ModelConfig(
        vocab_size=50304, d_model=768, n_layers=24, n_heads=12, d_ff=2048, context=512
    ),
}


def model_config(name: str) -> ModelConfig:
    """The :class:`ModelConfig` of a preset name.

    Example:
        >>> model_config("cpu").d_model
        128
    """
    try:
        return MODEL_PRESETS[name]
    except (KeyError, TypeError):
        valid = ", ".join(MODEL_PRESETS)
        raise ValueError(f"unknown model preset {name!r}; valid: {valid}") from None


class RMSNorm(nn.Module):
    """:math:`g \\odot x / \\sqrt{\\mathrm{mean}(x^2) + \\epsilon}` over the last dimension."""

    def __init__(self, dim: int, eps: float) -> None:
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        xf = x.float()
        y = xf * torch.rsqrt(xf.pow(2).mean(-1, keepdim=True) + self.eps)
        return y.type_as(x) * self.weight


def rope_table(head_dim: int, context: int, theta: float) -> tuple[torch.Tensor, torch.Tensor]:
    """cos and sin of the angles :math:`t\\,\\theta^{-2i/d}`, each of shape (context, head_dim/2)."""
    inv_freq = theta ** (-torch.arange(0, head_dim, 2, dtype=torch.float64) / head_dim)
    angles = torch.outer(torch.arange(context, dtype=torch.float64), inv_freq)
    return angles.cos().float(), angles.sin().float()


def apply_rope(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
    """Rotate consecutive halves of the head dimension: x is (B, H, T, D), cos/sin (T, D/2)."""
    x1, x2 = x.float().chunk(2, dim=-1)
    out = torch.cat((x1 * cos - x2 * sin, x1 * sin + x2 * cos), dim=-1)
    return out.type_as(x)


class Attention(nn.Module):
    """Multi-head causal self-attention with a fused QKV projection and RoPE."""

    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__()
        self.n_heads = cfg.n_heads
        self.qkv = nn.Linear(cfg.d_model, 3 * cfg.d_model, bias=False)
        self.proj = nn.Linear(cfg.d_model, cfg.d_model, bias=False)

    def forward(self, x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
        b, t, d = x.shape
        q, k, v = self.qkv(x).view(b, t, 3, self.n_heads, d // self.n_heads).unbind(2)
        q, k, v = (z.transpose(1, 2) for z in (q, k, v))  # (B, H, T, Dh)
        q, k = apply_rope(q, cos, sin), apply_rope(k, cos, sin)
        y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        return self.proj(y.transpose(1, 2).reshape(b, t, d))


class SwiGLU(nn.Module):
    """:math:`W_2(\\mathrm{silu}(W_1 x) \\odot W_3 x)`."""

    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__()
        self.w1 = nn.Linear(cfg.d_model, cfg.d_ff, bias=False)
        self.w3 = nn.Linear(cfg.d_model, cfg.d_ff, bias=False)
        self.w2 = nn.Linear(cfg.d_ff, cfg.d_model, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.w2(F.silu(self.w1(x)) * self.w3(x))


class Block(nn.Module):
    """One pre-norm transformer block."""

    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__()
        self.attn_norm = RMSNorm(cfg.d_model, cfg.norm_eps)
        self.attn = Attention(cfg)
        self.mlp_norm = RMSNorm(cfg.d_model, cfg.norm_eps)
        self.mlp = SwiGLU(cfg)

    def forward(self, x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
        x = x + self.attn(self.attn_norm(x), cos, sin)
        return x + self.mlp(self.mlp_norm(x))


class LLaMA(nn.Module):
    """A LLaMA-style causal language model.

    Args:
        cfg: the model shape (see :data:`MODEL_PRESETS`).

    ``forward(idx)`` maps token ids (B, T), T <= ``cfg.context``, to logits (B, T, vocab); with
    ``targets`` (B, T) it returns the mean next-token cross-entropy (nats/token) instead.

    Example:
        >>> _ = torch.manual_seed(0)
        >>> model = LLaMA(model_config("tiny"))
        >>> idx = torch.randint(0, 256, (2, 16))
        >>> model(idx).shape
        torch.Size([2, 16, 256])
        >>> targets = torch.randint(0, 256, (2, 16))
        >>> round(model(idx, targets).item(), 1)  # about ln(256) = 5.5 at init
        5.5
    """

    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__()
        self.cfg = cfg
        self.embed = nn.Embedding(cfg.vocab_size, cfg.d_model)
        self.blocks = nn.ModuleList(Block(cfg) for _ in range(cfg.n_layers))
        self.norm = RMSNorm(cfg.d_model, cfg.norm_eps)
        if not cfg.tie_embeddings:
            self.lm_head = nn.Linear(cfg.d_model, cfg.vocab_size, bias=False)
        cos, sin = rope_table(cfg.d_model // cfg.n_heads, cfg.context, cfg.rope_theta)
        self.register_buffer("rope_cos", cos, persistent=False)
        self.register_buffer("rope_sin", sin, persistent=False)
        self.reset_parameters()

    @torch.no_grad()
    def reset_parameters(self) -> None:
        """N(0, 0.02) for every matrix; residual projections further scaled by 1/sqrt(2 L)."""
        resid_std = 0.02 / math.sqrt(2 * self.cfg.n_layers)
        for name, module in self.named_modules():
            if isinstance(module, (nn.Linear, nn.Embedding)):
                std = resid_std if name.endswith(("attn.proj", "mlp.w2")) else 0.02
                nn.init.normal_(module.weight, mean=0.0, std=std)
            elif isinstance(module, RMSNorm):
                nn.init.ones_(module.weight)

    def num_params(self, non_embedding: bool = False) -> int:
        """Number of parameters (shared tensors counted once); optionally without the embedding."""
        n = sum(p.numel() for p in self.parameters())
        return n - self.embed.weight.numel() if non_embedding else n

    def forward(self, idx: torch.Tensor, targets: torch.Tensor | None = None) -> torch.Tensor:
        t = idx.shape[1]
        if t > self.cfg.context:
            raise ValueError(f"sequence length {t} exceeds the model context {self.cfg.context}")
        cos, sin = self.rope_cos[:t], self.rope_sin[:t]
        x = self.embed(idx)
        for block in self.blocks:
            x = block(x, cos, sin)
        x = self.norm(x)
        head = self.embed.weight if self.cfg.tie_embeddings else self.lm_head.weight
        logits = F.linear(x, head)
        if targets is None:
            return logits
        return F.cross_entropy(logits.float().view(-1, logits.shape[-1]), targets.reshape(-1))
