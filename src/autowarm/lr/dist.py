"""Cross-rank reduction of observed losses, so every rank computes the same LR."""

from __future__ import annotations

import numbers
from collections.abc import Sequence

import torch
import torch.distributed as dist


def is_distributed(group=None) -> bool:
    """True when ``torch.distributed`` is initialised with more than one rank in ``group``."""
    return dist.is_available() and dist.is_initialized() and dist.get_world_size(group) > 1


def _scalar(x) -> float:
    if isinstance(x, torch.Tensor):
        if x.numel() != 1:
            raise ValueError(f"a loss must be a scalar; got a tensor of shape {tuple(x.shape)}")
        return float(x.detach().reshape(()).item())
    if isinstance(x, numbers.Real) and not isinstance(x, bool):
        return float(x)
    raise TypeError(f"a loss must be a real number or a scalar tensor; got {x!r}")


def _as_tensor(values: Sequence, group) -> torch.Tensor:
    """Stack floats and scalar tensors into one float64 vector on the device the backend needs."""
    if is_distributed(group) and dist.get_backend(group) == "nccl":
        device = torch.device("cuda", torch.cuda.current_device())
    else:
        device = torch.device("cpu")
    parts = []
    for x in values:
        if isinstance(x, torch.Tensor):
            if x.numel() != 1:
                raise ValueError(f"a loss must be a scalar; got a tensor of shape {tuple(x.shape)}")
            parts.append(x.detach().reshape(()).to(device=device, dtype=torch.float64))
        elif isinstance(x, numbers.Real) and not isinstance(x, bool):
            parts.append(torch.tensor(float(x), dtype=torch.float64, device=device))
        else:
            raise TypeError(f"a loss must be a real number or a scalar tensor; got {x!r}")
    return torch.stack(parts)


def mean_across_ranks(values: Sequence, group=None) -> list[float]:
    """Average each value over the ranks of ``group`` (one collective) and read them (one sync).

    Non-finite values stay non-finite on every rank (a NaN on any rank makes the mean NaN), so all
    ranks take the same decision. Without an initialised process group this only converts to floats.

    >>> mean_across_ranks([1.0, torch.tensor(2.5)])
    [1.0, 2.5]
    """
    if not values:
        return []
    if not is_distributed(group) and len(values) == 1:
        return [_scalar(values[0])]  # the common case: one read, no stacking
    if not is_distributed(group) and all(not isinstance(x, torch.Tensor) for x in values):
        return [_scalar(x) for x in values]
    stacked = _as_tensor(values, group)
    if is_distributed(group):
        dist.all_reduce(stacked, op=dist.ReduceOp.SUM, group=group)
        stacked /= dist.get_world_size(group)
    return [float(x) for x in stacked.tolist()]
