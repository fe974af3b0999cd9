"""``AdaptiveWarmup``: the loss-adaptive warm-up as a torch ``LRScheduler``.

Usage: build it after the optimizer; feed it each loss with ``scheduler.observe(loss)`` (once per
micro-batch or once per step) and call ``scheduler.step()`` after every ``optimizer.step()``, as
with any torch scheduler. ``scheduler.step(loss)`` is ``observe(loss)`` followed by ``step()``::

    sched = AdaptiveWarmup(opt, total_steps=10_000, target_loss=3.3)
    for x, y in batches:
        loss = model(x, y)
        loss.backward()
        sched.observe(loss)  # no host sync here
        opt.step()
        opt.zero_grad()
        sched.step()

The maths and the state machine live in :mod:`autowarm.adaptive`; this adapter
applies the multiplier to every param group's own base LR (Muon and AdamW groups keep their ratio),
averages the loss across ranks when ``torch.distributed`` is initialised, counts each optimizer step
once, and serialises plain named fields.
"""

from __future__ import annotations

import functools
import numbers
import sys
import warnings
import weakref
from collections.abc import Iterable
from typing import Any

import torch
from torch.optim import Optimizer
from torch.optim.lr_scheduler import ChainedScheduler, LRScheduler, SequentialLR

from autowarm.adaptive import AdaptiveConfig, AdaptiveState, AdaptiveWarmupSchedule
from autowarm.adaptive.config import field_names
from autowarm.adaptive.kappa import kappa as norm_kappa
from autowarm.lr._groups import all_groups, as_optimizers, base_lrs, infer_norm, set_group_lr
from autowarm.lr.dist import mean_across_ranks


def _resolve_config(config: AdaptiveConfig | None, options: dict) -> AdaptiveConfig:
    """The configuration from ``config=`` and/or keyword options (options win)."""
    valid = field_names()
    unknown = sorted(set(options) - set(valid))
    if unknown:
        raise TypeError(
            f"AdaptiveWarmup got unknown option(s) {', '.join(unknown)}; valid: "
            f"{', '.join(valid)} (and config=, process_group=, last_epoch=)"
        )
    if config is None:
        missing = [k for k in ("total_steps", "target_loss") if k not in options]
        if missing:
            raise TypeError(
                f"AdaptiveWarmup needs {' and '.join(missing)} (or config=AdaptiveConfig(...))"
            )
        return AdaptiveConfig(**options)
    if not isinstance(config, AdaptiveConfig):
        raise TypeError(f"config must be an autowarm.adaptive.AdaptiveConfig; got {config!r}")
    return config.replace(**options) if options else config


def _check_loss(loss):
    """A loss as a detached scalar tensor (float32 or wider) or a float; bad types raise."""
    if isinstance(loss, torch.Tensor):
        if loss.numel() != 1:
            raise ValueError(
                f"loss must be a scalar (one element); got a tensor of shape {tuple(loss.shape)}"
            )
        x = loss.detach().reshape(())
        if not x.is_floating_point() or x.dtype in (torch.float16, torch.bfloat16):
            x = x.float()
        return x
    if isinstance(loss, numbers.Real) and not isinstance(loss, bool):
        return float(loss)
    raise TypeError(f"loss must be a real number or a scalar tensor; got {loss!r}")


def _count_step(ref: weakref.ref, *_args, **_kwargs) -> None:
    sched = ref()
    if sched is not None:
        sched._optimizer_steps += 1


class AdaptiveWarmup(LRScheduler):
    """Loss-adaptive warm-up (Riabinin et al. 2026, arXiv 2602.05813), then a decay.

    The LR of every param group is ``base_lr * m`` where the multiplier ``m`` follows the
    smoothed gap ``D = loss - target_loss`` during the warm-up, rising from ``1/div`` at the first
    gap ``D0`` to 1 at ``D*`` (linearly in ``D`` by default; ``ramp="paper"`` uses the paper's
    ``m(D) = 1 / (1 + (div - 1) (D0 / D) ((D - D*) / (D0 - D*))^2)``, i.e. ``eta(D) = D / (K0 + K1 D
    + K2 D^2)``), and after the gap first reaches ``D*`` follows a decay (default cosine to
    ``final_lr_factor``) over the remaining updates. The first update runs at
    ``base_lr / div_factor``.

    Args:
        optimizer: a ``torch.optim.Optimizer``, or a sequence of them driven by one loss.
        config: an :class:`autowarm.adaptive.AdaptiveConfig` with every option; or pass its
            fields as keyword arguments (they override the config's when both are given). The
            main ones:
        total_steps: optimizer updates in the run.
        target_loss: ``f*``, below the initial loss; about the loss the run can reach (the seed
            paper's results are robust for f* from ~0.5 nats under to ~1.5 over the final loss,
            and degrade when the peak loss ``f* + D*`` is reached late or never; with a small
            ``D*``, as on small models, keep f* at or above the expected final loss). ``"auto"``
            needs none: by default the loss's floor (0 for a non-negative loss), the warm-up
            then ending at the latest switch (``warmup_max_frac``); ``fstar_rule="estimate"``
            estimates it online instead (see :mod:`autowarm.adaptive.machine`);
            :attr:`target_loss` is the f* in force.
        div_factor: the warm-up starts at ``1/div_factor`` of the base LR (default 100).
        delta_star: ``D*`` directly; ``None`` fits it by the paper's rule from ``kappa``.
        norm: ``"spectral"``, ``"sign"`` or ``"frobenius"``: the norm of the optimizer's update,
            which with the matrix shapes gives ``kappa``. ``None`` infers it from the param groups'
            ``"norm"`` keys (autowarm's optimizers set them) or the optimizer types: with a torch
            ``Muon`` it is spectral and kappa counts the Muon optimizers' matrices only (an AdamW
            beside it updates parameters outside the norm-constrained set); Adam-family
            optimizers alone are treated as sign descent (Adam's update is sign-like). Other
            optimizers need ``norm``, ``kappa`` or ``delta_star``.
        kappa: the norm constant directly (overrides ``norm``).
        smoothing: EMA factor of the bias-corrected loss average (0 = raw loss, paper-faithful).
        sync_every: read (and all-reduce) losses every ``k`` steps in one batch: with tensor
            losses on a GPU this avoids a host sync per step; the warm-up then reacts ``k`` steps
            late. 1 reads every step.
        options: the fields above and the other fields of
            :class:`autowarm.adaptive.AdaptiveConfig`, by keyword (``decay``,
            ``final_lr_factor``, ``initial_gap``, ``patience``, ``monotone``, ``sigma_f``,
            ``cooldown_steps``, ``k_constants``, ``ramp``, the outlier filter's ``outlier_*`` and
            ``fstar_rule`` and the f* estimator's ``fstar_margin`` and
            ``fstar_provisional_frac``, the limits ``warmup_max_frac`` and ``max_growth``, the
            guard's ``guard*`` and ``spike_rule``).
        process_group: the data-parallel group whose ranks' losses are averaged (default: world).

    The loss of an update is the mean of the losses :meth:`observe` received since the previous
    update. Each optimizer step is counted once: ``step()`` calls without an ``optimizer.step()``
    since the previous one (accelerate's repeated stepping, a GradScaler-skipped step) are ignored
    and the observed losses wait for the next update. A ``step()`` during the warm-up with nothing
    observed holds the LR (the update still counts) and warns once.

    Composition: as a stage of torch's ``SequentialLR`` it works like any scheduler (call
    ``observe`` on this scheduler, ``step()`` on the ``SequentialLR``). ``ChainedScheduler``
    multiplies the LR changes of its schedulers, which a scheduler that sets absolute LRs cannot
    honour, so stepping it inside a ``ChainedScheduler`` raises ``TypeError``.

    >>> import torch
    >>> p = torch.nn.Parameter(torch.zeros(2, 2))
    >>> opt = torch.optim.SGD([p], lr=0.1)
    >>> sched = AdaptiveWarmup(opt, total_steps=100, target_loss=0.0, delta_star=1.0,
    ...                        div_factor=10.0, smoothing=0.0)
    >>> round(opt.param_groups[0]["lr"], 6)  # the first update runs at lr / div
    0.01
    >>> for loss in [4.0, 3.0, 2.0, 0.9]:
    ...     sched.observe(loss)
    ...     opt.step()
    ...     sched.step()
    >>> sched.phase, sched.warmup_end_step
    ('decay', 4)
    """

    def __init__(
        self,
        optimizer: Optimizer | Iterable[Optimizer],
        config: AdaptiveConfig | None = None,
        *,
        process_group=None,
        last_epoch: int = -1,
        **options: Any,
    ) -> None:
        self._optimizers = as_optimizers(optimizer)
        if last_epoch != -1:
            raise ValueError(
                f"AdaptiveWarmup starts fresh (last_epoch=-1); resume with load_state_dict(). "
                f"got last_epoch={last_epoch!r}"
            )
        self.config = _resolve_config(config, options)
        self.norm: str | None = self.config.norm
        changes = {}
        cfg = self.config
        if not cfg.has_delta_star_source:
            self.norm, shapes = infer_norm(self._optimizers, cfg.norm)
            changes = {"kappa": norm_kappa(self.norm, shapes), "norm": self.norm}
        self.schedule = AdaptiveWarmupSchedule.from_config(self.config, **changes)
        self.sync_every = self.schedule.sync_every
        self.process_group = process_group
        self._state = self.schedule.initial_state()
        self._pending: list = []  # step losses not yet read (sync_every > 1)
        self._obs_sum = None  # sum of the losses observed since the last update
        self._obs_count = 0  # how many
        self._no_loss_warned = False
        self._optimizer_steps = 0
        self._consumed = 0
        self._warned = False
        self._long_warned = False
        self._caught: list = []  # warnings of the machine, re-issued at the end of step()
        self._hook = self._optimizers[0].register_step_post_hook(
            functools.partial(_count_step, weakref.ref(self))
        )
        base_lrs(self._optimizers)  # sets initial_lr on every group of every optimizer
        super().__init__(self._optimizers[0], last_epoch)

    # --- the LRScheduler protocol --------------------------------------------------------------

    def observe(self, loss) -> None:
        """Record a loss of the current optimizer step (a micro-batch's or the whole step's).

        The next :meth:`step` uses the mean of everything observed since the previous update.
        Tensors are detached and summed on their device: nothing is read to the host here.
        After the switch to the decay, losses feed only the loss-rise guard (on by default), which
        can still lower the rest of the decay; with the guard off they are accepted and ignored.

        Args:
            loss: a real number or a scalar tensor (at the pre-update weights). NaN/inf are
                accepted: a step whose mean is not finite holds the LR and is counted.
        """
        x = _check_loss(loss)
        if not self._reads_losses():
            return  # the warm-up is over and no guard watches the decay: losses no longer matter
        self._obs_sum = x if self._obs_sum is None else self._obs_sum + x
        self._obs_count += 1

    def step(self, loss=None) -> None:  # type: ignore[override]
        """Take one optimizer update into account and set the LRs of the next update.

        Args:
            loss: optional; ``step(loss)`` is ``observe(loss)`` then ``step()`` (the mean loss of
                that optimizer step, a float or a scalar tensor, at the pre-update weights).
                Without it the step uses what :meth:`observe` received since the last update.
                Needed during the warm-up (a step with no loss holds the LR and warns once);
                after the switch optional, read by the loss-rise guard only (ignored when the
                guard is off). NaN/inf: the LR is held and the event counted.
        """
        if self.last_epoch < 0:  # the constructor's (or SequentialLR's) initial call
            self.last_epoch = 0
            self.base_lrs = base_lrs(self._optimizers)
            self._apply()
            return
        caller = sys._getframe(1).f_locals.get("self")
        if isinstance(caller, ChainedScheduler):
            raise TypeError(
                "AdaptiveWarmup cannot run inside torch's ChainedScheduler: it sets absolute LRs "
                "(base LR x its multiplier), so the other schedulers' factors would be dropped; "
                "use it alone or as a stage of SequentialLR"
            )
        if isinstance(caller, SequentialLR) and type(loss) is int and loss == 0:
            self._stage_start()  # torch < 2.6 starts a SequentialLR stage with step(0)
            return
        x = None if loss is None else _check_loss(loss)  # validate before any change
        if self._optimizer_steps == self._consumed:
            # accelerate repeats step(loss) once per process: this update's loss was already
            # taken, so a repeat (and its loss) is ignored; what observe() got waits for the next.
            if not self._warned:
                warnings.warn(
                    "AdaptiveWarmup.step() was called without an optimizer.step() since the last "
                    "call (or the step was skipped, e.g. by GradScaler); the call is ignored so "
                    "that each optimizer update counts once.",
                    UserWarning,
                    stacklevel=2,
                )
                self._warned = True
            return
        if x is not None:
            self.observe(x)
        step_loss = None
        if self._obs_count:
            step_loss = self._obs_sum / self._obs_count if self._obs_count > 1 else self._obs_sum
        self._obs_sum, self._obs_count = None, 0
        self._consumed = self._optimizer_steps
        self.last_epoch += 1
        self._state = self.schedule.advance(self._state)
        if self._reads_losses():
            if step_loss is not None:
                self._pending.append(step_loss)
            elif self._state.phase == "warmup":
                self._warn_no_loss()
            if len(self._pending) >= self.sync_every:
                self._flush()
        self._apply()
        self._surface_warnings()
        if (
            not self._long_warned
            and self.phase == "warmup"
            and not self._pending  # with sync_every > 1 the phase is only known after a flush
            and self.schedule.total_steps >= 4
            and not self.schedule.closed_loop  # it ends its warm-up by itself
            and self.schedule.warmup_max_frac is None  # so does a latest switch
            and self.last_epoch >= self.schedule.total_steps // 2
        ):
            self._long_warned = True
            self._warn_long_warmup()

    def _update_lr(self, epoch=None) -> None:
        """``SequentialLR`` starts this stage with ``_update_lr(0)``: begin at ``1/div``."""
        if epoch != 0:
            raise TypeError(f"AdaptiveWarmup cannot jump to epoch {epoch!r}; use load_state_dict")
        self._stage_start()

    def _stage_start(self) -> None:
        """This scheduler takes over (a later ``SequentialLR`` stage): earlier losses and
        optimizer steps belong to the previous stage."""
        self._obs_sum, self._obs_count = None, 0
        self._consumed = self._optimizer_steps
        self.last_epoch = 0
        self._apply()

    def get_lr(self) -> list[float]:
        """The LRs of the next update: each group's base LR times the current multiplier."""
        m = self.last_multiplier
        return [b * m for b in self.base_lrs]

    def state_dict(self) -> dict:
        """Plain named fields (loads with ``torch.load(weights_only=True)``).

        Losses read late (``sync_every > 1``) are stored as this rank's local values.
        """
        return {
            "last_epoch": int(self.last_epoch),
            "base_lrs": [float(b) for b in self.base_lrs],
            "machine": self._state.to_dict(),
            "pending": [float(x) for x in self._pending],
            "observed": [0.0 if self._obs_sum is None else float(self._obs_sum), self._obs_count],
            "ramp": self.schedule.ramp,
            "config": self.schedule.to_dict(),
        }

    def load_state_dict(self, state_dict: dict) -> None:
        """Restore a :meth:`state_dict`; the optimizers' LRs are set from it."""
        if not isinstance(state_dict, dict) or "last_epoch" not in state_dict:
            raise ValueError("not an AdaptiveWarmup state_dict (missing ['last_epoch'])")
        machine = AdaptiveState.from_dict(state_dict.get("machine", {}))
        saved_lrs = state_dict.get("base_lrs", [])
        groups = len(all_groups(self._optimizers))
        if len(saved_lrs) != groups:
            raise ValueError(
                f"this state was saved with {len(saved_lrs)} param group(s) and this scheduler's "
                f"optimizers have {groups}; resume with the same optimizers and param groups"
            )
        if "config" in state_dict:
            self._check_same_schedule(AdaptiveConfig.from_dict(state_dict["config"]))
        else:  # saved before the config was stored: only the ramp was recorded
            saved = state_dict.get("ramp", "paper")  # states saved before the option: the paper's
            if saved != self.schedule.ramp and self.schedule.k_constants is None:
                raise ValueError(
                    f"this state was saved with ramp={saved!r} and this scheduler has "
                    f"ramp={self.schedule.ramp!r}; construct AdaptiveWarmup(..., ramp={saved!r}) "
                    "to resume it (the default ramp changed from 'paper' to 'linear')"
                )
        self.last_epoch = int(state_dict["last_epoch"])
        self.base_lrs = [float(b) for b in state_dict["base_lrs"]]
        self._state = machine
        self._pending = [float(x) for x in state_dict.get("pending", [])]
        total, count = state_dict.get("observed", (0.0, 0))
        self._obs_sum, self._obs_count = (float(total) if count else None), int(count)
        self._consumed = self._optimizer_steps
        self._long_warned = self.last_epoch >= self.schedule.total_steps // 2
        self._apply()

    def _check_same_schedule(self, saved: AdaptiveConfig) -> None:
        """Refuse a state whose configuration gives another schedule, naming the first field."""
        mine, theirs = self.schedule.schedule_fields(), saved.schedule_fields()
        for name in dict.fromkeys([*theirs, *mine]):
            if theirs.get(name, "<unused>") != mine.get(name, "<unused>"):
                was, now = theirs.get(name, "<unused>"), mine.get(name, "<unused>")
                raise ValueError(
                    f"this state was saved with {name}={was!r} and this scheduler has "
                    f"{name}={now!r}; construct AdaptiveWarmup(..., {name}={was!r}) to resume it"
                )

    # --- inspection ----------------------------------------------------------------------------

    @property
    def phase(self) -> str:
        """``"warmup"`` until the gap reaches ``D*``, then ``"decay"``."""
        return self._state.phase

    @property
    def gap(self) -> float | None:
        """The last smoothed sub-optimality gap ``loss - target_loss`` (None before a loss)."""
        return self._state.gap

    @property
    def smoothed_loss(self) -> float | None:
        """The last smoothed loss."""
        return self._state.loss

    @property
    def target_loss(self) -> float | None:
        """The f* in force: ``target_loss``, or with ``"auto"`` the current estimate (frozen at
        the switch; None before the first finite loss)."""
        return self.schedule.target(self._state)

    @property
    def delta_star(self) -> float | None:
        """``D*``, fixed at the first observed loss (re-derived when an auto f* is revised)."""
        return self._state.delta_star

    @property
    def initial_gap(self) -> float | None:
        """``D0``, the gap of the first observed loss (or the one given) from the f* in force."""
        return self._state.d0

    @property
    def warmup_end_step(self) -> int | None:
        """The first update run by the decay (the warm-up length in updates), or None."""
        return self._state.warmup_end_step

    @property
    def last_multiplier(self) -> float:
        """The multiplier of the next update."""
        return self.schedule.value(self._state)

    @property
    def backoff_steps(self) -> tuple[int, ...]:
        """The updates at which the loss-rise guard lowered the peak (empty when it never did)."""
        return tuple(self._state.backoff_steps)

    @property
    def peak_cap(self) -> float:
        """The loss-rise guard's cap on the multiplier (1 until it backs off)."""
        return self._state.cap

    @property
    def nonfinite_count(self) -> int:
        """Non-finite losses seen (each held the LR)."""
        return self._state.nonfinite

    def constants(self) -> tuple[float, float, float] | None:
        """``(K0, K1, K2)`` of ``eta(D) = D / (K0 + K1 D + K2 D^2)`` for the first group's base LR.

        These are the paper's constants for this run's D0, D* and div (or the measured ones); they
        describe the applied warm-up LR with ``ramp="paper"`` or ``k_constants``, while the default
        linear ramp only shares their end points (``lr/div`` at D0, ``lr`` at D*).
        """
        return self.schedule.constants(self._state, lr=self.base_lrs[0])

    # --- internals -----------------------------------------------------------------------------

    def _reads_losses(self) -> bool:
        """Whether a loss observed now can change the schedule: during the warm-up, and after
        the switch while the loss-rise guard is on. (The switch happens inside a flush, which
        empties ``_pending``, so no warm-up loss is left waiting once the phase is the decay.)"""
        return self.phase == "warmup" or self.schedule.guards

    def _warn_no_loss(self) -> None:
        if self._no_loss_warned:
            return
        self._no_loss_warned = True
        warnings.warn(
            f"AdaptiveWarmup.step() at update {self.last_epoch} had no loss during the warm-up, "
            "so the LR is held; call scheduler.observe(loss) for each (micro-)batch before "
            "scheduler.step(), or scheduler.step(loss) after optimizer.step()",
            UserWarning,
            stacklevel=3,
        )

    def _warn_long_warmup(self) -> None:
        st = self._state
        if st.delta_star is None:  # no finite loss yet
            loss = peak = "none (no finite loss observed)"
        else:
            loss, peak = f"{st.loss:.4g}", f"{self.target_loss + st.delta_star:.4g}"
        if not self.schedule.is_auto:
            raise_f = "raise target_loss"
        elif self.schedule.fstar_rule == "floor":
            raise_f = "pass warmup_max_frac (a latest switch) or a number for target_loss"
        else:
            raise_f = (
                "pass a number for target_loss (the estimate assumes the run ends below "
                f"{self.schedule.fstar_provisional_frac:g} x its first loss)"
            )
        measured = self.schedule.k_constants is not None
        paper = self.schedule.ramp == "paper" and not measured
        start = "k_constants re-measured with the probe" if measured else "a smaller div_factor"
        warnings.warn(
            f"AdaptiveWarmup is still in its warm-up after {self.last_epoch} of "
            f"{self.schedule.total_steps} updates: the smoothed loss {loss} has not "
            f"reached the peak loss f* + D* = {peak}, and the LR is at "
            f"{self.last_multiplier:.3g} of its peak. If the loss falls too slowly at "
            f"its start, use {'ramp=linear or ' if paper else ''}{start}; if it "
            f"has levelled off above the peak loss, {raise_f}.",
            UserWarning,
            stacklevel=3,
        )

    def _flush(self) -> None:
        values = mean_across_ranks(self._pending, self.process_group)
        self._pending = []
        if not self.schedule.is_auto:
            for x in values:
                self._state = self.schedule.observe(self._state, x)
            return
        # The f* estimator's one warning (a failure and its fallback) is re-issued from step().
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            for x in values:
                self._state = self.schedule.observe(self._state, x)
        self._caught.extend(caught)

    def _surface_warnings(self) -> None:
        caught, self._caught = self._caught, []
        for w in caught:
            warnings.warn(f"AdaptiveWarmup: {w.message}", w.category, stacklevel=3)

    def _apply(self) -> None:
        m = self.schedule.value(self._state)
        for group, base in zip(all_groups(self._optimizers), self.base_lrs, strict=True):
            set_group_lr(group, base * m)
        self._last_lr = [
            float(g["lr"]) if isinstance(g["lr"], torch.Tensor) else g["lr"]
            for g in all_groups(self._optimizers)
        ]
