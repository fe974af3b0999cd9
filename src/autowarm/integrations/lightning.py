"""The adaptive warm-up in PyTorch Lightning: a ``Callback`` and a ``configure_optimizers`` pattern.

Needs ``pip install 'autowarm[lightning]'``. A user writes::

    from autowarm.integrations.lightning import AdaptiveWarmupCallback, configure

    class Model(L.LightningModule):
        def configure_optimizers(self):
            opt = torch.optim.AdamW(self.parameters(), lr=1e-3)
            return configure(opt, total_steps=self.trainer.estimated_stepping_batches,
                             target_loss=3.0)

    trainer = L.Trainer(..., callbacks=[AdaptiveWarmupCallback()])

:func:`configure` returns Lightning's optimizer dict with the scheduler stepped every optimizer
update (``interval="step"``, ``frequency=1``). Lightning steps such a scheduler right after the
optimizer update, without a loss; :class:`AdaptiveWarmupCallback` feeds it the update's loss: the
mean of the losses of its ``accumulate_grad_batches`` micro-batches (read in ``on_before_backward``,
where Lightning has divided each by ``accumulate_grad_batches``; the callback undoes that), observed
when the optimizer update happens.

**Checkpoints.** Lightning saves the scheduler's ``state_dict`` in its checkpoints. A scheduler
stepped with ``interval="step"`` is stepped before ``on_train_batch_end``, where a step-based
``ModelCheckpoint`` saves, so the checkpoint holds the scheduler of the same update as the model and
optimizer, and resuming continues exactly (epoch-based checkpoints too). The route a user might try
first, ``"reduce_on_plateau": True, "monitor": "train_loss"``, is refused: Lightning steps
plateau schedulers after ``on_train_batch_end``, so a step-based checkpoint stores the scheduler one
update behind (the run resumes off by one for good), and the monitored value is the last
micro-batch's loss rather than the update's mean.
"""

from __future__ import annotations

import warnings

import torch

from autowarm._extras import require
from autowarm.lr import AdaptiveWarmup

L = require("lightning.pytorch", "lightning", "the Lightning integration")


def configure(
    optimizer: torch.optim.Optimizer, *, total_steps: int, target_loss: float, **warmup_kwargs
) -> dict:
    """Lightning's ``configure_optimizers`` return value with an :class:`~autowarm.AdaptiveWarmup`.

    Args:
        optimizer: the optimizer (its groups' LRs are the peak LRs).
        total_steps: optimizer updates in the run: ``self.trainer.estimated_stepping_batches``
            (it accounts for epochs, ``max_steps`` and ``accumulate_grad_batches``).
        target_loss: ``f*`` of :class:`~autowarm.AdaptiveWarmup`.
        **warmup_kwargs: its other arguments (``div_factor``, ``delta_star``, ``smoothing``, ...).

    Returns:
        ``{"optimizer": optimizer, "lr_scheduler": {"scheduler": AdaptiveWarmup(...),
        "interval": "step", "frequency": 1}}``.

    >>> import torch
    >>> opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(2, 2))], lr=0.1)
    >>> cfg = configure(opt, total_steps=100, target_loss=1.0, delta_star=0.5)
    >>> cfg["lr_scheduler"]["interval"], type(cfg["lr_scheduler"]["scheduler"]).__name__
    ('step', 'AdaptiveWarmup')
    """
    sched = AdaptiveWarmup(
        optimizer, total_steps=total_steps, target_loss=target_loss, **warmup_kwargs
    )
    return {
        "optimizer": optimizer,
        "lr_scheduler": {"scheduler": sched, "interval": "step", "frequency": 1},
    }


class AdaptiveWarmupCallback(L.Callback):
    """Feed each optimizer update's mean training loss to the module's :class:`~autowarm.AdaptiveWarmup`.

    With ``accumulate_grad_batches = a`` the update's loss is ``L = (1/n) sum_i loss_i`` over the
    ``n <= a`` micro-batches it accumulated (``loss_i`` as ``training_step`` returned it; the last
    update of an epoch may have fewer). With manual optimization, the mean of the losses passed to
    ``manual_backward`` since the last update. Under DDP ``AdaptiveWarmup`` averages ``L`` across
    ranks.

    Args:
        check_total_steps: warn when the scheduler's ``total_steps`` differs from
            ``trainer.estimated_stepping_batches``.

    Raises (at ``on_fit_start``):
        TypeError: no scheduler of the module is an ``AdaptiveWarmup``.
        ValueError: the ``AdaptiveWarmup`` is configured with ``interval="epoch"``, a
            ``frequency`` other than 1, or ``reduce_on_plateau`` (see the module docs: a
            step-based checkpoint would then hold the scheduler one update behind).
    """

    def __init__(self, *, check_total_steps: bool = True) -> None:
        if not isinstance(check_total_steps, bool):
            raise TypeError(f"check_total_steps must be True or False; got {check_total_steps!r}")
        self.check_total_steps = check_total_steps
        self._sched: AdaptiveWarmup | None = None
        self._handle = None
        self._sum = None
        self._count = 0

    def on_fit_start(self, trainer, pl_module) -> None:
        found = [c for c in trainer.lr_scheduler_configs if isinstance(c.scheduler, AdaptiveWarmup)]
        if not found:
            names = [type(c.scheduler).__name__ for c in trainer.lr_scheduler_configs] or ["none"]
            raise TypeError(
                "AdaptiveWarmupCallback feeds the loss to an autowarm AdaptiveWarmup returned by "
                "configure_optimizers (use autowarm.integrations.lightning.configure); this "
                f"module's schedulers: {', '.join(names)}"
            )
        if len(found) > 1:
            raise ValueError(
                f"AdaptiveWarmupCallback drives one AdaptiveWarmup; configure_optimizers returned "
                f"{len(found)} (pass several optimizers to one AdaptiveWarmup instead)"
            )
        cfg = found[0]
        if cfg.reduce_on_plateau:
            raise ValueError(
                "AdaptiveWarmup is configured with reduce_on_plateau=True: Lightning then steps it "
                "after on_train_batch_end, so step-based checkpoints save it one update behind "
                "and it sees the last micro-batch's loss; return it with interval='step' and no "
                "monitor (autowarm.integrations.lightning.configure) and add this callback"
            )
        if cfg.interval != "step" or cfg.frequency != 1:
            raise ValueError(
                "AdaptiveWarmup must be stepped once per optimizer update: configure it with "
                f"interval='step' and frequency=1; got interval={cfg.interval!r}, "
                f"frequency={cfg.frequency!r}"
            )
        sched = cfg.scheduler
        total = sched.schedule.total_steps
        expected = trainer.estimated_stepping_batches
        if self.check_total_steps and expected != float("inf") and int(expected) != total:
            warnings.warn(
                f"AdaptiveWarmup(total_steps={total}) but this fit runs {int(expected)} optimizer "
                "updates (trainer.estimated_stepping_batches): the decay ends "
                f"{'early' if total < expected else 'late'}",
                UserWarning,
                stacklevel=2,
            )
        self._remove()
        self._sched = sched
        self._reset()
        self._handle = sched.optimizer.register_step_post_hook(self._on_update)

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx) -> None:
        if pl_module.automatic_optimization and batch_idx % trainer.accumulate_grad_batches == 0:
            self._reset()  # a new accumulation window: drop losses of an update that was skipped

    def on_before_backward(self, trainer, pl_module, loss) -> None:
        if self._sched is None or not pl_module.training:
            return
        loss = loss.detach()
        if pl_module.automatic_optimization and trainer.accumulate_grad_batches > 1:
            loss = loss * trainer.accumulate_grad_batches  # Lightning divided it
        self._sum = loss if self._sum is None else self._sum + loss
        self._count += 1

    def on_fit_end(self, trainer, pl_module) -> None:
        self._remove()

    def on_exception(self, trainer, pl_module, exception) -> None:
        self._remove()

    def _on_update(self, optimizer, args, kwargs) -> None:
        if self._sched is None or self._count == 0:
            return  # with no loss AdaptiveWarmup holds the LR during the warm-up and warns
        step_loss = self._sum / self._count if self._count > 1 else self._sum
        self._reset()
        self._sched.observe(step_loss)

    def _reset(self) -> None:
        self._sum, self._count = None, 0

    def _remove(self) -> None:
        if self._handle is not None:
            self._handle.remove()
            self._handle = None


__all__ = ["AdaptiveWarmupCallback", "configure"]
