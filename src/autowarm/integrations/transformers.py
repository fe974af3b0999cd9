"""The adaptive warm-up in the Hugging Face ``Trainer``, with no subclassing.

Needs ``pip install 'autowarm[hf]'`` (transformers and accelerate). A user writes::

    from autowarm.integrations.transformers import AdaptiveWarmupCallback, adaptive_optimizers

    opt, sched = adaptive_optimizers(model, args, target_loss=3.0)   # or build them yourself
    trainer = Trainer(model=model, args=args, train_dataset=ds,
                      optimizers=(opt, sched), callbacks=[AdaptiveWarmupCallback()])

The ``Trainer`` calls ``lr_scheduler.step()`` without a loss after every optimizer update.
:class:`AdaptiveWarmupCallback` feeds the loss: a forward hook on the model takes each training
micro-batch's ``outputs.loss`` (on its device, no host sync) and, when the optimizer update
happens, hands the step's loss to ``AdaptiveWarmup.observe``. The step's loss is the Trainer's own
definition of it, the value it logs as ``loss`` with ``logging_steps=1``: with gradient accumulation
the micro-batch losses are averaged (the mean of the micro-batch means, or, when the model
normalises by ``num_items_in_batch`` as Hugging Face models do, their sum, which is the mean over
all tokens of the step), and under data parallelism ``AdaptiveWarmup`` averages it across ranks
(with ``average_tokens_across_devices`` each rank's share is scaled by the world size, as the
Trainer does, so the average is the global token mean). Each optimizer update is one scheduler step
(gradient accumulation counts updates, not micro-batches); an update skipped by a gradient scaler
drops its losses.

Checkpoints need nothing more: the ``Trainer`` saves ``scheduler.pt`` from
``AdaptiveWarmup.state_dict()`` (plain values) and ``resume_from_checkpoint`` reloads it with
``torch.load(weights_only=True)``; the schedule continues exactly. ``autowarm.FixedSchedule``
works in the ``Trainer`` without a callback.
"""

from __future__ import annotations

import math
import numbers
import warnings

import torch

from autowarm._extras import require
from autowarm.lr import AdaptiveWarmup

transformers = require("transformers", "hf", "the Hugging Face Trainer integration")


def _inner_scheduler(sched):
    """The scheduler behind accelerate's ``AcceleratedScheduler`` wrapper, if any."""
    return getattr(sched, "scheduler", sched) if not hasattr(sched, "observe") else sched


def _inner_optimizer(opt):
    """The optimizer behind accelerate's ``AcceleratedOptimizer`` wrapper, if any."""
    inner = getattr(opt, "optimizer", None)
    return inner if isinstance(inner, torch.optim.Optimizer) else opt


class AdaptiveWarmupCallback(transformers.TrainerCallback):
    """Feed each optimizer step's training loss to the ``Trainer``'s :class:`~autowarm.AdaptiveWarmup`.

    Add it to ``Trainer(..., optimizers=(opt, sched), callbacks=[AdaptiveWarmupCallback()])``
    where ``sched`` is an ``AdaptiveWarmup`` over ``opt``. On ``on_train_begin`` it registers a
    forward hook on the model (removed on ``on_train_end``) that sums, per optimizer update, the
    ``outputs.loss`` of every training forward pass, and an optimizer step hook that observes the
    step's loss ``L``:

        L = sum_i loss_i                 (the model normalised by num_items_in_batch)
        L = (1/n) sum_i loss_i           (n micro-batches of mean losses)

    times the world size when ``average_tokens_across_devices`` gathered the token count across
    ranks. This is the loss the ``Trainer`` logs for the step.

    Args:
        check_total_steps: warn when the scheduler's ``total_steps`` differs from the Trainer's
            ``max_steps`` (the decay would then end early or late).

    Raises (at ``on_train_begin``):
        TypeError: the Trainer's scheduler is not an ``AdaptiveWarmup`` (``FixedSchedule`` and
            other step-driven schedulers need no callback).
        ValueError: the Trainer computes the loss outside the model
            (``label_smoothing_factor`` > 0), so the hook cannot see it.

    A training step whose forward returned no ``loss`` during the warm-up raises ``ValueError``
    (the model must compute the loss from ``labels``).

    >>> import torch
    >>> from autowarm import AdaptiveWarmup
    >>> cb = AdaptiveWarmupCallback()
    >>> model = torch.nn.Linear(2, 1)
    >>> opt = torch.optim.SGD(model.parameters(), lr=0.1)
    >>> sched = AdaptiveWarmup(opt, total_steps=10, target_loss=0.0, delta_star=0.5,
    ...                        div_factor=10.0, smoothing=0.0)
    >>> args = transformers.TrainingArguments("unused", max_steps=10, report_to=[])
    >>> state = transformers.TrainerState(max_steps=10)
    >>> _ = cb.on_train_begin(args, state, None, model=model, lr_scheduler=sched, optimizer=opt)
    >>> _ = cb.on_step_begin(args, state, None)
    >>> for x in (2.0, 4.0):  # two micro-batches of mean losses 2 and 4
    ...     cb._hook(model, (), {}, {"loss": torch.tensor(x)})
    >>> opt.step(); sched.step()  # as the Trainer does
    >>> sched.gap  # the step's loss: the mean, 3
    3.0
    >>> _ = cb.on_train_end(args, state, None)
    """

    def __init__(self, *, check_total_steps: bool = True) -> None:
        if not isinstance(check_total_steps, bool):
            raise TypeError(f"check_total_steps must be True or False; got {check_total_steps!r}")
        self.check_total_steps = check_total_steps
        self._sched: AdaptiveWarmup | None = None
        self._handles: list = []
        self._sum = None
        self._count = 0
        self._normalized = False
        self._scale = 1.0

    # --- TrainerCallback events ----------------------------------------------------------------

    def on_train_begin(self, args, state, control, **kwargs):
        sched = _inner_scheduler(kwargs.get("lr_scheduler"))
        if not isinstance(sched, AdaptiveWarmup):
            raise TypeError(
                "AdaptiveWarmupCallback feeds the loss to an autowarm AdaptiveWarmup passed as "
                "Trainer(optimizers=(opt, AdaptiveWarmup(opt, ...))); this Trainer's scheduler is "
                f"{type(sched).__name__} (FixedSchedule and other schedulers need no callback)"
            )
        if getattr(args, "label_smoothing_factor", 0.0):
            raise ValueError(
                f"label_smoothing_factor={args.label_smoothing_factor} makes the Trainer compute "
                "the loss outside the model, where AdaptiveWarmupCallback cannot see it; use "
                "label_smoothing_factor=0 (or feed sched.observe(loss) from your own loss code)"
            )
        model = kwargs.get("model")
        if not isinstance(model, torch.nn.Module):
            raise TypeError(f"on_train_begin needs the model (a torch.nn.Module); got {model!r}")
        total = sched.schedule.total_steps
        if self.check_total_steps and state.max_steps and state.max_steps != total:
            warnings.warn(
                f"AdaptiveWarmup(total_steps={total}) but the Trainer runs max_steps="
                f"{state.max_steps} optimizer updates: the decay ends "
                f"{'early' if total < state.max_steps else 'late'}; build the scheduler with "
                f"total_steps={state.max_steps}",
                UserWarning,
                stacklevel=2,
            )
        self._remove()
        self._sched = sched
        world = int(getattr(args, "world_size", 1) or 1)
        self._scale = float(world) if getattr(args, "average_tokens_across_devices", False) else 1.0
        self._reset()
        self._handles = [
            model.register_forward_hook(self._hook, with_kwargs=True),
            _inner_optimizer(sched.optimizer).register_step_post_hook(self._on_update),
        ]
        return control

    def on_step_begin(self, args, state, control, **kwargs):
        self._reset()  # losses of an update that did not happen (skipped step) are dropped
        return control

    def on_train_end(self, args, state, control, **kwargs):
        self._remove()
        return control

    # --- hooks ---------------------------------------------------------------------------------

    def _hook(self, module, args, kwargs, output):
        if not module.training:
            return
        loss = output.get("loss") if isinstance(output, dict) else getattr(output, "loss", None)
        if loss is None or not isinstance(loss, torch.Tensor):
            return
        loss = loss.detach()
        if loss.ndim:  # DataParallel returns one loss per device
            loss = loss.mean()
        self._sum = loss if self._sum is None else self._sum + loss
        self._count += 1
        self._normalized = kwargs.get("num_items_in_batch") is not None

    def _on_update(self, optimizer, args, kwargs) -> None:
        sched = self._sched
        if sched is None:
            return
        if self._count == 0:
            if sched.phase == "warmup":
                raise ValueError(
                    "AdaptiveWarmupCallback saw no loss in this training step: the model's "
                    "forward returned no `loss` (pass `labels` so the model computes it), or the "
                    "Trainer computes it outside the model (compute_loss_func); the adaptive "
                    "warm-up needs the training loss"
                )
            return
        if self._normalized:
            step_loss = self._sum * self._scale if self._scale != 1.0 else self._sum
        else:
            step_loss = self._sum / self._count if self._count > 1 else self._sum
        self._reset()
        sched.observe(step_loss)

    def _reset(self) -> None:
        self._sum, self._count, self._normalized = None, 0, False

    def _remove(self) -> None:
        for h in self._handles:
            h.remove()
        self._handles = []


def adaptive_optimizers(
    model: torch.nn.Module,
    args,
    *,
    target_loss: float,
    optimizer: str | torch.optim.Optimizer = "adamw",
    total_steps: int | None = None,
    optimizer_kwargs: dict | None = None,
    **warmup_kwargs,
) -> tuple[torch.optim.Optimizer, AdaptiveWarmup]:
    """The ``(optimizer, scheduler)`` pair for ``Trainer(optimizers=...)``.

    Args:
        model: the model the Trainer trains.
        args: its ``TrainingArguments``; ``args.learning_rate`` is the peak LR and
            ``args.max_steps`` the number of updates (unless ``total_steps`` is given).
        target_loss: ``f*`` of :class:`~autowarm.AdaptiveWarmup`.
        optimizer: a name for :func:`autowarm.optim.build` (``"adamw"``, ``"muon"``, ``"lion"``,
            ...; its groups name their norm, so ``D*`` is fitted without more arguments) at
            ``lr=args.learning_rate``, or a ``torch.optim.Optimizer`` you built.
        total_steps: optimizer updates in the run; default ``args.max_steps`` (which must then be
            > 0: with ``num_train_epochs`` pass it, ``ceil(len(dataloader) / accumulation) *
            epochs``).
        optimizer_kwargs: hyperparameters for :func:`autowarm.optim.build` (with a name only).
        **warmup_kwargs: the other arguments of :class:`~autowarm.AdaptiveWarmup`
            (``div_factor``, ``delta_star``, ``smoothing``, ...).

    >>> import torch, transformers
    >>> model = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.Linear(8, 1))
    >>> args = transformers.TrainingArguments("unused", max_steps=100, learning_rate=1e-3,
    ...                                       report_to=[])
    >>> opt, sched = adaptive_optimizers(model, args, target_loss=0.5)
    >>> type(sched).__name__, sched.schedule.total_steps, opt.param_groups[0]["lr"]
    ('AdaptiveWarmup', 100, 1e-05)
    """
    if total_steps is None:
        total_steps = int(getattr(args, "max_steps", -1))
        if total_steps <= 0:
            raise ValueError(
                f"args.max_steps={total_steps} does not give the number of updates; set "
                "TrainingArguments(max_steps=N) or pass total_steps=N"
            )
    if isinstance(optimizer, torch.optim.Optimizer):
        if optimizer_kwargs:
            raise ValueError("optimizer_kwargs only applies when optimizer is a name")
        opt = optimizer
    elif isinstance(optimizer, str):
        from autowarm.optim import build

        lr = args.learning_rate
        if isinstance(lr, bool) or not isinstance(lr, numbers.Real) or not math.isfinite(lr):
            raise ValueError(f"args.learning_rate must be a finite number; got {lr!r}")
        opt = build(optimizer, model, lr=float(lr), **(optimizer_kwargs or {}))
    else:
        raise TypeError(
            f"optimizer must be a name for autowarm.optim.build or a torch.optim.Optimizer; "
            f"got {optimizer!r}"
        )
    sched = AdaptiveWarmup(opt, total_steps=total_steps, target_loss=target_loss, **warmup_kwargs)
    return opt, sched


__all__ = ["AdaptiveWarmupCallback", "adaptive_optimizers"]
