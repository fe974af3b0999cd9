"""The smoothness probe: local smoothness along a training run, in the optimizer's own norm pair.

For the update ``t`` (weights ``x_t -> x_{t+1}``, mini-batch ``B_t``) the probe measures

    K_t = ||g(x_{t+1}) - g(x_t)||_* / ||x_{t+1} - x_t||,

with both gradients of the loss on the SAME batch ``B_t`` (so the batch noise cancels), computed
by the probe itself after the optimizer step: ``g(x_{t+1})`` at the current weights, ``g(x_t)``
with a snapshot of the pre-step weights swapped in (and the RNG replayed, so dropout masks
agree). Gradient clipping, accumulation scaling and AMP loss scaling of the training step
therefore do not enter ``K_t``. The recorded gap is ``D_t = f_{B_t}(x_t) - f*``, the batch loss at
the pre-step weights (the ``D(x)`` of the assumption at ``x = x_t``); the loss at ``x_{t+1}``, which
the published analyzer used, is recorded too.

The norms are product norms over the measured tensors ``W_1..W_n`` (Riabinin et al. 2026,
arXiv 2602.05813, and its ``lipschitz_analyzer.py``): the primal is the maximum over tensors, the
dual the sum, of the per-tensor pair of :mod:`autowarm.optim.norms`:

==================  ===========================  =======================
norm                ``||dx||`` (primal)           ``||dg||_*`` (dual)
==================  ===========================  =======================
``"spectral"``      ``max_i ||dW_i||_2``          ``sum_i ||dG_i||_nuc``
``"sign"``          ``max_i max|dW_i|``           ``sum_i ||dG_i||_1``
``"frobenius"``     ``max_i ||dW_i||_F``          ``sum_i ||dG_i||_F``
==================  ===========================  =======================

By default only tensors with ``ndim >= 2`` in optimizer groups whose ``"norm"`` is not ``None``
are measured (the paper's analyzer measures 2-D tensors only; Muon's AdamW-updated embedding
is left out because its update is not in the spectral norm), and the norm is the groups' tag.
The cost of a probed step is two forward-backward passes and, for the spectral norm, SVDs of
every measured matrix; ``every=k`` probes one update in ``k``. The probe holds one copy of the
weights between the two hooks.

Use it as a callback of :func:`autowarm.train.train` (it has ``before_update`` and ``on_step``), or
in your own loop::

    probe = SmoothnessProbe(norm="spectral", every=10, target_loss=3.0)
    for step in range(steps):
        loss = model(x, y)
        loss.backward()
        probe.snapshot(step, model, optimizer)   # before optimizer.step()
        optimizer.step()
        probe.measure(step, model, (x, y))       # after it; returns the point or None
        optimizer.zero_grad()
    fit = probe.fit()
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence

import torch
from torch import Tensor, nn

from autowarm.diagnostics.fit import SmoothnessFit, fit_smoothness
from autowarm.optim import norms as _norms

LossFn = Callable[[nn.Module, object], Tensor]


def default_loss(model: nn.Module, batch: object) -> Tensor:
    """``model(*batch)`` for a tuple/list batch (autowarm's LLaMA returns the mean loss), else
    ``model(batch)``."""
    return model(*batch) if isinstance(batch, tuple | list) else model(batch)


def _wide(t: Tensor) -> Tensor:
    """float32 for half-precision tensors (SVDs need it), other dtypes as they are."""
    return t.float() if t.dtype in (torch.float16, torch.bfloat16) else t


def primal_norm(tensors: Iterable[Tensor], norm: str) -> float:
    """The product norm ``max_i ||t_i||`` of a list of tensors.

    >>> primal_norm([torch.eye(2), 3 * torch.ones(1, 2)], "sign")
    3.0
    """
    n = _norms.get(norm)
    return max((float(n.norm(_wide(t))) for t in tensors), default=0.0)


def dual_norm(tensors: Iterable[Tensor], norm: str) -> float:
    """The dual product norm ``sum_i ||t_i||_*`` of a list of tensors.

    >>> dual_norm([torch.eye(2), 3 * torch.ones(1, 2)], "spectral")  # nuclear: 2 + 3 sqrt(2)
    6.242640495300293
    """
    n = _norms.get(norm)
    return sum(float(n.dual_norm(_wide(t))) for t in tensors)


def smoothness_ratio(dx: Sequence[Tensor], dg: Sequence[Tensor], norm: str) -> dict:
    """``K = ||dg||_* / ||dx||`` for matching lists of weight and gradient changes.

    Returns ``{"K", "dx", "dg"}`` (``K`` is ``nan`` when ``dx`` is zero).

    >>> r = smoothness_ratio([torch.tensor([[0.1, 0.0]])], [torch.tensor([[0.2, 0.0]])], "sign")
    >>> round(r["K"], 6)
    2.0
    """
    if len(dx) != len(dg):
        raise ValueError(f"dx and dg must have the same length; got {len(dx)} and {len(dg)}")
    px, dd = primal_norm(dx, norm), dual_norm(dg, norm)
    return {"K": dd / px if px > 0 else math.nan, "dx": px, "dg": dd}


def measured_params(
    model: nn.Module,
    optimizer: torch.optim.Optimizer | None = None,
    norm: str | None = None,
    *,
    matrices_only: bool = True,
) -> tuple[list[tuple[str, nn.Parameter]], str]:
    """The ``(name, parameter)`` pairs the probe measures, and the norm it measures them in.

    With an optimizer, parameters of groups whose ``"norm"`` is not ``None``; the norm is the
    groups' tag unless ``norm`` is given (groups without a ``"norm"`` key need ``norm``). Without
    one, every trainable parameter, and ``norm`` is required. ``matrices_only`` keeps tensors with
    ``ndim >= 2``.
    """
    if optimizer is None:
        if norm is None:
            raise ValueError("norm is required without an optimizer (spectral, sign, frobenius)")
        chosen = [p for _, p in model.named_parameters() if p.requires_grad]
    else:
        tags = {g.get("norm", "missing") for g in optimizer.param_groups} - {None}
        if norm is None:
            if "missing" in tags or len(tags) != 1:
                raise ValueError(
                    "cannot infer the norm from the optimizer's param groups (tags "
                    f"{sorted(map(str, tags))}); pass norm='spectral', 'sign' or 'frobenius'"
                )
            norm = tags.pop()
        chosen = [
            p for g in optimizer.param_groups if g.get("norm", "x") is not None for p in g["params"]
        ]
    _norms.get(norm)  # validates the name
    ids = {id(p) for p in chosen}
    out = [
        (name, p)
        for name, p in model.named_parameters()
        if id(p) in ids and (p.ndim >= 2 or not matrices_only)
    ]
    if not out:
        raise ValueError("no parameters to measure (matrices_only=True and no 2-D tensors?)")
    return out, norm


class SmoothnessProbe:
    """Measure ``K_t`` every ``every`` updates; a training-loop callback and a user-loop hook.

    Args:
        norm: ``"spectral"``, ``"sign"`` or ``"frobenius"``; ``None`` reads it from the
            optimizer's param groups' ``"norm"`` tags.
        every: probe the updates ``t`` with ``t % every == offset`` (>= 1).
        offset: see ``every`` (0 <= offset < every).
        dense_steps: also probe every update ``t < dense_steps`` (default 0), so the initial
            descent of ``K`` (the warm-up phase) has enough points.
        target_loss: ``f*`` of the gap ``D = loss - f*`` (loss units; only shifts the gaps).
        loss_fn: ``loss_fn(model, batch) -> scalar tensor``; default ``model(*batch)``.
        matrices_only: measure only tensors with ``ndim >= 2`` (the paper's choice).

    Attributes:
        points: one dict per probed update: ``step`` (update index t, 0-based), ``K``, ``dx``,
            ``dg``, ``loss`` (at ``x_t``), ``loss_after`` (at ``x_{t+1}``), ``gap`` (loss - f*),
            ``lr`` (of the first measured group).

    Example: ``f(W) = 1.5 ||W||_F^2`` has gradient ``3 W``, so ``K = 3`` in the Frobenius pair:

    >>> lin = nn.Linear(3, 2, bias=False)
    >>> opt = torch.optim.SGD([{"params": lin.parameters(), "norm": "frobenius"}], lr=0.1)
    >>> loss_fn = lambda model, batch: 1.5 * (model.weight**2).sum()
    >>> probe = SmoothnessProbe(every=1, loss_fn=loss_fn)
    >>> loss_fn(lin, None).backward()
    >>> probe.snapshot(0, lin, opt)
    >>> opt.step()
    >>> round(probe.measure(0, lin, None)["K"], 4)
    3.0
    """

    def __init__(
        self,
        norm: str | None = None,
        *,
        every: int = 10,
        offset: int = 0,
        dense_steps: int = 0,
        target_loss: float = 0.0,
        loss_fn: LossFn | None = None,
        matrices_only: bool = True,
    ) -> None:
        if norm is not None:
            _norms.get(norm)
        if isinstance(every, bool) or not isinstance(every, int) or every < 1:
            raise ValueError(f"every must be an integer >= 1; got {every!r}")
        if isinstance(offset, bool) or not isinstance(offset, int) or not 0 <= offset < every:
            raise ValueError(f"offset must be an integer in [0, every={every}); got {offset!r}")
        if isinstance(dense_steps, bool) or not isinstance(dense_steps, int) or dense_steps < 0:
            raise ValueError(f"dense_steps must be an integer >= 0; got {dense_steps!r}")
        if isinstance(target_loss, bool) or not isinstance(target_loss, int | float):
            raise ValueError(f"target_loss must be a finite number; got {target_loss!r}")
        if not math.isfinite(target_loss):
            raise ValueError(f"target_loss must be a finite number; got {target_loss!r}")
        self.norm = norm
        self.every = every
        self.offset = offset
        self.dense_steps = dense_steps
        self.target_loss = float(target_loss)
        self.loss_fn = loss_fn or default_loss
        self.matrices_only = matrices_only
        self.points: list[dict] = []
        self._params: list[tuple[str, nn.Parameter]] | None = None
        self._snap: tuple[int, list[Tensor]] | None = None

    # -- the user-loop API --------------------------------------------------------------------
    def probes(self, step: int) -> bool:
        """Whether update ``step`` is probed."""
        return step < self.dense_steps or step % self.every == self.offset

    def snapshot(self, step: int, model: nn.Module, optimizer=None) -> None:
        """Before ``optimizer.step()`` of update ``step``: copy the weights if it is probed."""
        if not self.probes(step):
            return
        if self._params is None:
            self._params, self.norm = measured_params(
                model, optimizer, self.norm, matrices_only=self.matrices_only
            )
        self._lr = _first_lr(optimizer, {id(p) for _, p in self._params})
        self._snap = (step, [p.detach().clone() for p in model.parameters()])

    def measure(self, step: int, model: nn.Module, batch: object) -> dict | None:
        """After ``optimizer.step()`` of update ``step``: record and return its point (or None).

        ``batch`` must be the batch of the update. Gradients are computed with
        ``torch.autograd.grad``: the parameters' ``.grad`` are left untouched.
        """
        if self._snap is None or self._snap[0] != step:
            return None
        _, before = self._snap
        self._snap = None
        params = list(model.parameters())
        if len(params) != len(before):
            raise RuntimeError("the model's parameters changed between snapshot and measure")
        measured = [p for _, p in self._params]
        seed = int(torch.randint(0, 2**62, ()).item())
        after = [p.detach().clone() for p in params]
        loss1, g1 = self._grads(model, batch, measured, seed)
        with torch.no_grad():
            for p, b in zip(params, before):
                p.copy_(b)
        try:
            loss0, g0 = self._grads(model, batch, measured, seed)
        finally:
            with torch.no_grad():
                for p, a in zip(params, after):
                    p.copy_(a)
        index = {id(p): i for i, p in enumerate(params)}
        dx = [after[index[id(p)]] - before[index[id(p)]] for p in measured]
        dg = [a - b for a, b in zip(g1, g0)]
        r = smoothness_ratio(dx, dg, self.norm)
        point = {
            "step": int(step),
            "K": r["K"],
            "dx": r["dx"],
            "dg": r["dg"],
            "loss": loss0,
            "loss_after": loss1,
            "gap": loss0 - self.target_loss,
            "lr": self._lr,
        }
        self.points.append(point)
        return point

    def _grads(self, model, batch, params, seed) -> tuple[float, list[Tensor]]:
        devices = sorted({p.device.index for p in params if p.device.type == "cuda"})
        with torch.random.fork_rng(devices=devices):
            torch.manual_seed(seed)
            with torch.enable_grad():
                loss = self.loss_fn(model, batch)
                grads = torch.autograd.grad(loss, params, allow_unused=True)
        out = [torch.zeros_like(p) if g is None else g.detach() for p, g in zip(params, grads)]
        return float(loss.detach()), out

    # -- the training-loop callback API (duck-typed StepContext) -------------------------------
    def before_update(self, ctx) -> None:
        """Loop hook: gradients final, weights not yet updated (``ctx.step`` = update index)."""
        self.snapshot(ctx.step, ctx.model, ctx.optimizer)

    def on_step(self, ctx) -> dict | None:
        """Loop hook after the step (``ctx.step`` = updates done); adds ``smooth_K`` to metrics."""
        point = self.measure(ctx.step - 1, ctx.model, ctx.batch)
        if point is None:
            return None
        return {"smooth_K": point["K"], "smooth_gap": point["gap"]}

    # -- results ------------------------------------------------------------------------------
    def fit(self, *, gap_key: str = "gap", **kwargs) -> SmoothnessFit:
        """:func:`autowarm.diagnostics.fit.fit_smoothness` over the points (kwargs passed on)."""
        return fit_smoothness(
            [p[gap_key] for p in self.points], [p["K"] for p in self.points], **kwargs
        )

    def measured_names(self) -> list[str]:
        """Names of the measured parameters (after the first snapshot)."""
        return [n for n, _ in self._params or []]


def _first_lr(optimizer, ids: set[int]) -> float | None:
    if optimizer is None:
        return None
    for g in optimizer.param_groups:
        if any(id(p) in ids for p in g["params"]):
            lr = g["lr"]
            return float(lr.item()) if isinstance(lr, Tensor) else float(lr)
    return None


__all__ = [
    "SmoothnessProbe",
    "default_loss",
    "dual_norm",
    "measured_params",
    "primal_norm",
    "smoothness_ratio",
]
