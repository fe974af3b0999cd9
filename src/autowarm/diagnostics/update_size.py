"""Update-size metrics per layer (Kosson et al. 2024, arXiv 2410.23922), logged every k updates.

For a weight ``W -> W' = W + dW`` (one optimizer update) and the layer's inputs ``X`` on the
update's batch (rows are samples, the layer computes ``Y = X W^T``):

- ``update_norm``: ``||dW||_F``;
- ``relative_update``: ``||dW||_F / ||W||_F``;
- ``angular_update``: the angle between ``W`` and ``W'`` as vectors, in radians,
  ``angle = 2 atan2(||a - b||, ||a + b||)`` with ``a = W/||W||``, ``b = W'/||W'||`` (the same as
  ``arccos(<W, W'> / (||W|| ||W'||))``, without its loss of precision at small angles);
- ``rrc`` (relative representation change): ``||X dW^T||_F / ||X W^T||_F``, the change of the
  layer's output caused by the update relative to the output, on the current batch. For an
  embedding the "output" is the rows looked up by the batch's token ids.

The paper's diagnosis: early in training, updates are large relative to the weights (in angle)
and, because early gradients are highly correlated across samples, change the representations
much more than later updates of the same size; warm-up is what keeps both small.

:class:`UpdateSizeLogger` records them every ``every`` updates at low cost: one copy of the
weights and the inputs of every ``nn.Linear`` / ``nn.Embedding`` captured during the training
forward pass itself (forward hooks armed only for the probed update), so no extra forward pass.
As a callback of :func:`autowarm.train.train` it writes one JSON line per probed update to
``<run dir>/update_size.jsonl`` and adds the layer means to ``metrics.jsonl``. In your own loop::

    log = UpdateSizeLogger(every=10, path="update_size.jsonl")
    for step in range(steps):
        log.prepare(step, model)          # before the forward pass
        loss = model(x, y); loss.backward(); optimizer.step(); optimizer.zero_grad()
        log.measure(step, model)          # after the optimizer step
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import torch
from torch import Tensor, nn


def update_norm(before: Tensor, after: Tensor) -> float:
    """``||after - before||_F``.

    >>> update_norm(torch.tensor([3.0, 0.0]), torch.tensor([3.0, 4.0]))
    4.0
    """
    return float(torch.linalg.vector_norm((after - before).double()))


def relative_update(before: Tensor, after: Tensor) -> float:
    """``||after - before||_F / ||before||_F`` (``inf`` for a zero ``before`` that moved).

    >>> relative_update(torch.tensor([3.0, 0.0]), torch.tensor([3.0, 4.0]))
    1.3333333333333333
    """
    num = update_norm(before, after)
    den = float(torch.linalg.vector_norm(before.double()))
    return num / den if den > 0 else (0.0 if num == 0 else math.inf)


def angular_update(before: Tensor, after: Tensor) -> float:
    """The angle (radians) between ``before`` and ``after`` as flat vectors (``nan`` if either is 0).

    >>> round(angular_update(torch.tensor([1.0, 0.0]), torch.tensor([1.0, 1.0])), 12)
    0.785398163397
    """
    a, b = before.double().flatten(), after.double().flatten()
    na, nb = torch.linalg.vector_norm(a), torch.linalg.vector_norm(b)
    if na == 0 or nb == 0:
        return math.nan
    a, b = a / na, b / nb
    return float(2 * torch.atan2(torch.linalg.vector_norm(a - b), torch.linalg.vector_norm(a + b)))


def representation_change(before: Tensor, after: Tensor, inputs: Tensor) -> float:
    """``||X dW^T||_F / ||X W^T||_F`` for a linear layer ``Y = X W^T`` (``X``: ``(..., in)``).

    >>> w = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    >>> x = torch.tensor([[1.0, 0.0], [1.0, 0.0]])  # only the first input is ever active
    >>> representation_change(w, w + torch.tensor([[0.0, 5.0], [0.5, 0.0]]), x)
    0.5
    """
    num, den = _rrc_sums(before, after, inputs)
    return math.sqrt(num / den) if den > 0 else math.nan


def _rrc_sums(before: Tensor, after: Tensor, inputs: Tensor) -> tuple[float, float]:
    x = inputs.reshape(-1, inputs.shape[-1]).to(before.dtype)
    d_w = after - before
    return float((x @ d_w.T).double().square().sum()), float((x @ before.T).double().square().sum())


def _embedding_sums(before: Tensor, after: Tensor, ids: Tensor) -> tuple[float, float]:
    rows = ids.reshape(-1)
    d = (after - before)[rows]
    return float(d.double().square().sum()), float(before[rows].double().square().sum())


class UpdateSizeLogger:
    """Per-layer ``update_norm``, ``relative_update``, ``angular_update`` and ``rrc`` every k updates.

    Args:
        every: log updates ``t`` with ``t % every == 0`` (>= 1).
        path: JSON-lines file to append to; ``None`` in the training loop means
            ``<cfg.out>/update_size.jsonl``, in your own loop no file (see :attr:`records`).
        min_ndim: only tensors with at least this many dimensions (default 2: matrices).

    Each record: ``{"step": t, "lr": [...], "layers": {name: {metric: value}}, "mean": {...}}``
    with ``mean`` the average of each metric over the layers (``rrc`` over the layers with
    captured inputs).

    >>> lin = nn.Linear(2, 2, bias=False)
    >>> _ = nn.init.eye_(lin.weight)
    >>> log = UpdateSizeLogger(every=1)
    >>> log.prepare(0, lin)
    >>> _ = lin(torch.tensor([[1.0, 0.0]]))  # the training forward pass (inputs captured)
    >>> with torch.no_grad():
    ...     _ = lin.weight.add_(torch.tensor([[0.0, 0.0], [0.1, 0.0]]))
    >>> rec = log.measure(0, lin)
    >>> [round(rec["layers"]["weight"][k], 6) for k in ("relative_update", "rrc")]
    [0.070711, 0.1]
    """

    def __init__(self, every: int = 10, *, path: str | Path | None = None, min_ndim: int = 2):
        if isinstance(every, bool) or not isinstance(every, int) or every < 1:
            raise ValueError(f"every must be an integer >= 1; got {every!r}")
        if isinstance(min_ndim, bool) or not isinstance(min_ndim, int) or min_ndim < 0:
            raise ValueError(f"min_ndim must be an integer >= 0; got {min_ndim!r}")
        self.every = every
        self.path = Path(path) if path is not None else None
        self.min_ndim = min_ndim
        self.records: list[dict] = []
        self._step: int | None = None
        self._before: dict[str, Tensor] = {}
        self._sums: dict[str, list[Tensor]] = {}  # captured inputs per weight
        self._handles: list = []

    def probes(self, step: int) -> bool:
        """Whether update ``step`` is logged."""
        return step % self.every == 0

    # -- user-loop API ------------------------------------------------------------------------
    def prepare(self, step: int, model: nn.Module) -> None:
        """Before the forward pass of update ``step``: snapshot and arm input capture if logged."""
        self._disarm()
        if not self.probes(step):
            return
        self._step = step
        self._before = {
            n: p.detach().clone()
            for n, p in model.named_parameters()
            if p.requires_grad and p.ndim >= self.min_ndim
        }
        self._sums = {}
        for mname, module in model.named_modules():
            pname = f"{mname}.weight" if mname else "weight"
            if pname not in self._before:
                continue
            if isinstance(module, nn.Linear | nn.Embedding):
                self._handles.append(module.register_forward_hook(self._capture(pname)))

    def _capture(self, pname: str):
        def hook(module, args, output):
            if not (module.training and torch.is_grad_enabled()):
                return  # evaluation passes are not the update's batch
            self._sums.setdefault(pname, []).append(args[0].detach())

        return hook

    def measure(self, step: int, model: nn.Module, optimizer=None) -> dict | None:
        """After ``optimizer.step()`` of update ``step``: the record (or None if not logged)."""
        if self._step != step:
            return None
        self._disarm()
        self._step = None
        modules = {f"{n}.weight" if n else "weight": m for n, m in model.named_modules()}
        layers = {}
        with torch.no_grad():
            for name, p in model.named_parameters():
                before = self._before.get(name)
                if before is None:
                    continue
                after = p.detach()
                row = {
                    "update_norm": update_norm(before, after),
                    "relative_update": relative_update(before, after),
                    "angular_update": angular_update(before, after),
                }
                chunks = self._sums.get(name)
                if chunks:
                    emb = isinstance(modules.get(name), nn.Embedding)
                    num = den = 0.0
                    for x in chunks:
                        a, b = (_embedding_sums if emb else _rrc_sums)(before, after, x)
                        num, den = num + a, den + b
                    row["rrc"] = math.sqrt(num / den) if den > 0 else math.nan
                layers[name] = row
        self._before, self._sums = {}, {}
        record = {
            "step": int(step),
            "lr": _lrs(optimizer),
            "layers": layers,
            "mean": _means(layers),
        }
        self.records.append(record)
        if self.path is not None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with open(self.path, "a") as f:
                f.write(json.dumps(record) + "\n")
        return record

    def _disarm(self) -> None:
        for h in self._handles:
            h.remove()
        self._handles = []

    # -- training-loop callback API (duck-typed StepContext) ----------------------------------
    def on_train_start(self, ctx) -> None:
        """Loop hook: resolve the default path and arm the first logged update."""
        if self.path is None and getattr(ctx.cfg, "out", None) and ctx.dist.is_main:
            self.path = Path(ctx.cfg.out) / "update_size.jsonl"
            if ctx.step == 0:
                self.path.unlink(missing_ok=True)
        self.prepare(ctx.step, ctx.model)

    def on_step(self, ctx) -> dict | None:
        """Loop hook after update ``ctx.step - 1``: log it, arm the next one; metrics means."""
        record = self.measure(ctx.step - 1, ctx.model, ctx.optimizer)
        self.prepare(ctx.step, ctx.model)
        if record is None:
            return None
        return {f"upd_{k}": v for k, v in record["mean"].items()}


def _means(layers: dict[str, dict[str, float]]) -> dict[str, float]:
    out = {}
    for key in ("update_norm", "relative_update", "angular_update", "rrc"):
        vals = [r[key] for r in layers.values() if key in r and math.isfinite(r[key])]
        if vals:
            out[key] = sum(vals) / len(vals)
    return out


def _lrs(optimizer) -> list[float] | None:
    if optimizer is None:
        return None
    return [float(g["lr"]) for g in optimizer.param_groups]


__all__ = [
    "UpdateSizeLogger",
    "angular_update",
    "relative_update",
    "representation_change",
    "update_norm",
]
