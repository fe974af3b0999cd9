"""``FixedSchedule``: any ``step -> multiplier`` schedule as a torch ``LRScheduler``."""

from __future__ import annotations

from collections.abc import Callable, Iterable

import torch
from torch.optim import Optimizer
from torch.optim.lr_scheduler import LRScheduler

from autowarm.lr._groups import all_groups, as_optimizers, base_lrs, set_group_lr


class FixedSchedule(LRScheduler):
    """Drive one or several optimizers with a pure schedule from :mod:`autowarm.schedules`.

    Like ``LambdaLR`` with one lambda for every group: group ``i`` runs update ``k`` at
    ``base_lr_i * schedule(k)``. It differs in three ways: ``step(loss=None)`` accepts (and
    ignores) a loss, so a training loop can drive it and :class:`AdaptiveWarmup` the same way;
    several optimizers can share it; tensor LRs are written in place. Its state is
    ``last_epoch`` and ``base_lrs`` (the schedule itself is rebuilt from its spec on resume).

    >>> import torch
    >>> from autowarm.schedules import linear
    >>> opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=1.0)
    >>> sched = FixedSchedule(opt, linear(4))
    >>> lrs = []
    >>> for _ in range(4):
    ...     lrs.append(opt.param_groups[0]["lr"])
    ...     opt.step()
    ...     sched.step()
    >>> lrs
    [0.75, 0.5, 0.25, 0.0]
    """

    def __init__(
        self,
        optimizer: Optimizer | Iterable[Optimizer],
        schedule: Callable[[int], float],
        last_epoch: int = -1,
    ) -> None:
        if not callable(schedule):
            raise TypeError(f"schedule must be a callable step -> multiplier; got {schedule!r}")
        self._optimizers = as_optimizers(optimizer)
        self.schedule = schedule
        if last_epoch != -1:
            raise ValueError(
                f"FixedSchedule starts fresh (last_epoch=-1); resume with load_state_dict(). "
                f"got last_epoch={last_epoch!r}"
            )
        base_lrs(self._optimizers)
        super().__init__(self._optimizers[0], last_epoch)

    def step(self, loss=None) -> None:  # type: ignore[override]
        """Advance one optimizer update (the loss, if given, is ignored)."""
        if self.last_epoch < 0:
            self.base_lrs = base_lrs(self._optimizers)
        self.last_epoch += 1
        self._apply()

    def get_lr(self) -> list[float]:
        """The LRs of the next update."""
        m = float(self.schedule(self.last_epoch))
        return [b * m for b in self.base_lrs]

    @property
    def last_multiplier(self) -> float:
        """The multiplier of the next update."""
        return float(self.schedule(self.last_epoch))

    @property
    def phase(self) -> str:
        """Always ``"fixed"`` (for loggers that also handle :class:`AdaptiveWarmup`)."""
        return "fixed"

    def state_dict(self) -> dict:
        """``last_epoch`` and ``base_lrs`` as plain numbers."""
        return {"last_epoch": int(self.last_epoch), "base_lrs": [float(b) for b in self.base_lrs]}

    def load_state_dict(self, state_dict: dict) -> None:
        """Restore a :meth:`state_dict` and set the optimizers' LRs from it."""
        self.last_epoch = int(state_dict["last_epoch"])
        self.base_lrs = [float(b) for b in state_dict["base_lrs"]]
        self._apply()

    def _apply(self) -> None:
        for group, lr in zip(all_groups(self._optimizers), self.get_lr(), strict=True):
            set_group_lr(group, lr)
        self._last_lr = [
            float(g["lr"]) if isinstance(g["lr"], torch.Tensor) else g["lr"]
            for g in all_groups(self._optimizers)
        ]
