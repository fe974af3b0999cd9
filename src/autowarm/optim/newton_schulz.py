"""Newton-Schulz orthogonalisation: the approximate ``U V^T`` of ``G = U S V^T`` behind Muon.

Starting from ``X_0 = G / max(||G||_F, eps)`` (so every singular value is at most 1), the quintic
iteration

    A = X X^T,    X <- a X + (b A + c A^2) X

maps each singular value ``s`` to ``a s + b s^3 + c s^5``. Keller Jordan's coefficients
``(a, b, c) = (3.4445, -4.7750, 2.0315)`` maximise the slope at zero, so after 5 steps the singular
values land in roughly [0.7, 1.2] rather than exactly at 1 (Jordan et al. 2024,
https://kellerjordan.github.io/posts/muon/; Bernstein & Newhouse 2024, arXiv 2409.20325). For a
tall matrix the iteration runs on ``G^T`` so that ``A`` is the smaller Gram matrix. The arithmetic
(dtype, transposition, normalisation, fused multiply-adds) follows ``torch.optim.Muon``, so the
result matches it bit for bit in the default bfloat16.
"""

from __future__ import annotations

import torch
from torch import Tensor

from autowarm.schedules import _validate as v

# Keller Jordan's quintic coefficients (also torch.optim.Muon's defaults).
NS_COEFFICIENTS = (3.4445, -4.7750, 2.0315)
NS_STEPS = 5
NS_EPS = 1e-7
NS_DTYPES = {"bfloat16": torch.bfloat16, "float32": torch.float32, "float64": torch.float64}


def check_ns(ns_coefficients: object, ns_steps: object, ns_eps: object, ns_dtype: object) -> None:
    """Raise naming the first invalid Newton-Schulz setting (``TypeError`` for a wrong type)."""
    if (
        not isinstance(ns_coefficients, tuple | list)
        or len(ns_coefficients) != 3
        or not all(isinstance(c, int | float) and not isinstance(c, bool) for c in ns_coefficients)
    ):
        raise ValueError(
            f"ns_coefficients must be three numbers (a, b, c); got {ns_coefficients!r}"
        )
    if v.integer("ns_steps", ns_steps, minimum=0) >= 100:
        raise ValueError(f"ns_steps must be an integer in [0, 100); got {ns_steps!r}")
    v.positive("ns_eps", ns_eps)
    v.choice("ns_dtype", ns_dtype, tuple(NS_DTYPES))


def orthogonalize(
    g: Tensor,
    *,
    coefficients: tuple[float, float, float] = NS_COEFFICIENTS,
    steps: int = NS_STEPS,
    eps: float = NS_EPS,
    dtype: torch.dtype = torch.bfloat16,
) -> Tensor:
    """Approximately orthogonalise a 2-D tensor by ``steps`` quintic Newton-Schulz iterations.

    Args:
        g: an ``m x n`` matrix (2-D; flatten higher-order tensors first).
        coefficients: ``(a, b, c)`` of ``s -> a s + b s^3 + c s^5``.
        steps: number of iterations (0 returns the Frobenius-normalised input).
        eps: floor of the Frobenius norm (a zero matrix stays zero).
        dtype: the compute dtype; the result has this dtype.

    Returns:
        An ``m x n`` tensor with singular values near 1 and the singular vectors of ``g``.

    >>> g = torch.randn(64, 32, generator=torch.Generator().manual_seed(0))
    >>> s = torch.linalg.svdvals(orthogonalize(g).float())
    >>> bool(s.min() > 0.6 and s.max() < 1.25)
    True
    """
    if g.ndim != 2:
        raise ValueError(f"orthogonalize needs a 2-D tensor; got shape {tuple(g.shape)}")
    a, b, c = coefficients
    tall = g.size(0) > g.size(1)
    x = g.to(dtype, copy=True)
    if tall:
        x = x.T
    x.div_(x.norm().clamp(min=eps))
    for _ in range(steps):
        gram = x @ x.T
        poly = torch.addmm(gram, gram, gram, beta=b, alpha=c)  # b A + c A^2
        x = torch.addmm(x, poly, x, beta=a)  # a X + (b A + c A^2) X
    return x.T if tall else x
