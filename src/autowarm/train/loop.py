"""The training loop: it wires model, data, optimizer and scheduler from a :class:`RunConfig`.

It names no optimizer and no schedule: ``cfg.optimizer`` goes to :func:`autowarm.optim.build` (or
to the ``optimizer_factory`` given to :func:`train`), ``cfg.schedule`` to :func:`build_scheduler`,
and the scheduler is always stepped with the mean loss of the optimizer step (``FixedSchedule``
ignores it; ``AdaptiveWarmup`` averages it across ranks). Losses stay on the device until every
``log_every``-th update, where they are read in one transfer (the loop's only regular host sync).

The run is made of five parts, each a small class below: :class:`_Parts` (set-up: data, model,
optimizer, scheduler, batches), :class:`_Stepper` (one optimizer update and the reading of its
losses), :class:`_Evaluator` (validation loss), :class:`_Checkpointer` (save, validate, restore)
and :class:`_RunDir` (``config.json``, ``metrics.jsonl`` rows through :mod:`autowarm.runlog`,
``final.json``); :class:`_Run` only sequences them.

Optimizers with an evaluation mode (callable ``train()`` and ``eval()`` methods, e.g.
Schedule-Free's ``AdamWScheduleFree``, whose evaluation weights are an average of its iterates)
are switched to ``eval()`` before every evaluation and every checkpoint, and back to ``train()``
before the next update, so evaluations see the averaged weights; a checkpoint therefore always
holds the evaluation-mode weights, and a resumed run switches back exactly where the uninterrupted
run did.

Diagnostics attach through callbacks: objects with any of the methods

- ``on_train_start(ctx)``
- ``before_update(ctx)``: gradients are final (accumulated, reduced, clipped), weights not updated
- ``on_step(ctx)``: after ``optimizer.step()`` and ``scheduler.step(loss)``; a returned dict is
  added to that step's row of ``metrics.jsonl`` (values may be tensors: they are read at log time)
- ``on_eval(ctx, val_loss)`` and ``on_train_end(ctx, results)``

where ``ctx`` is a :class:`StepContext`.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import math
import subprocess
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from autowarm import runlog
from autowarm.optim import build as build_optimizer
from autowarm.train import dist as tdist
from autowarm.train.checkpoint import (
    CHECKPOINT,
    load_checkpoint,
    remove_stale_checkpoint_temporaries,
    rng_state,
    save_checkpoint,
    set_rng_state,
)
from autowarm.train.data import Batches, TokenData, eval_starts, load_data, windows
from autowarm.train.model import LLaMA, ModelConfig, model_config
from autowarm.train.progress import Progress
from autowarm.train.run_config import RunConfig, build_scheduler

# Fields that define a run: a resume with any of them changed is refused.
_IDENTITY = (
    "model",
    "optimizer",
    "lr",
    "optimizer_args",
    "schedule",
    "target_loss",
    "steps",
    "batch_size",
    "seq_len",
    "grad_accum",
    "grad_clip",
    "seed",
    "data",
    "dtype",
)
FINAL = "final.json"
CONFIG = "config.json"
# Files of a run directory (a fresh start deletes the first three).
_RUN_FILES = (runlog.METRICS_FILE, FINAL, CHECKPOINT, CONFIG)

OptimizerFactory = Callable[..., torch.optim.Optimizer]


@dataclass
class StepContext:
    """What callbacks see; the loop updates it in place every optimizer step."""

    cfg: RunConfig  # the run's configuration
    model: nn.Module  # the model (not the DDP wrapper)
    optimizer: torch.optim.Optimizer  # built by autowarm.optim.build (or the optimizer_factory)
    scheduler: object  # FixedSchedule or AdaptiveWarmup
    dist: tdist.DistInfo  # rank, world size, device
    step: int = 0  # optimizer updates done (after on_step: including this one)
    batch: tuple[torch.Tensor, torch.Tensor] | None = None  # this rank's (inputs, targets)
    loss: torch.Tensor | None = None  # mean loss of this update on this rank (device scalar)
    grad_norm: torch.Tensor | None = None  # global gradient norm before clipping
    extra: dict = field(default_factory=dict)  # scratch space shared by callbacks


def train(
    cfg: RunConfig,
    *,
    callbacks: Sequence[object] = (),
    progress: bool = True,
    optimizer_factory: OptimizerFactory | None = None,
) -> dict:
    """Run ``cfg`` and return its final results (the content of ``final.json``).

    Writes the run directory ``cfg.out`` (rank 0 only): ``config.json`` (resolved config and git
    revision), ``metrics.jsonl`` (a row per update: ``step`` = updates done, ``train_loss``,
    ``lr_mult``, ``lr`` per group, ``grad_norm``, ``tok_per_s``, ``phase``; and a row per
    evaluation with ``val_loss``; format and readers in :mod:`autowarm.runlog`), ``checkpoint.pt``
    and ``final.json``. With ``cfg.resume`` it continues from the checkpoint; on CPU the losses
    then equal those of an uninterrupted run. Temporaries a killed session left are removed, and
    a torn last line of ``metrics.jsonl`` is dropped with the rows past the checkpoint.

    Args:
        cfg: the run.
        callbacks: diagnostics hooks (see the module docstring).
        progress: show a progress bar (rich on a TTY) or log lines on rank 0.
        optimizer_factory: ``factory(model, lr=cfg.lr, **cfg.optimizer_args)`` returning the
            optimizer, instead of ``autowarm.optim.build(cfg.optimizer, ...)`` (for an optimizer
            that is not in the registry; ``cfg.optimizer`` then only names it in ``config.json``
            and in the resume check, so give it a name that says what the factory builds).

    Returns:
        ``final_val_loss`` (whole validation split, nats/token), ``evals`` (``[step, val_loss]``
        pairs), ``last_train_loss``, ``steps``, ``steps_this_session``, ``tokens``,
        ``wall_time_s`` and ``train_time_s`` (all sessions of a resumed run), ``tokens_per_s``
        (training steps only, all sessions), ``warmup_end_step`` (adaptive schedule, else None),
        ``target_loss`` (adaptive schedule: the f* in force at the switch, an estimate with
        ``target_loss="auto"``; else None), ``params``.

    Example (a few updates of the tiny model on a generated text file):

    >>> import tempfile, pathlib
    >>> from autowarm.train import DataConfig, RunConfig, train
    >>> tmp = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (tmp / "a.txt").write_text("\\n\\n".join(f"verse {i} " * 40 for i in range(50)))
    >>> cfg = RunConfig(model="tiny", steps=4, batch_size=4, seq_len=32, threads=1,
    ...                 schedule="warmup_cosine:warmup_steps=1", eval_every=0,
    ...                 data=DataConfig(source=str(tmp / "a.txt"), cache_dir=str(tmp / "cache")),
    ...                 out=str(tmp / "run"))
    >>> results = train(cfg, progress=False)
    >>> results["steps"], results["final_val_loss"] < 5.6, sorted(p.name for p in (tmp / "run").iterdir())
    (4, True, ['checkpoint.pt', 'config.json', 'final.json', 'metrics.jsonl'])

    References: the paper's setup (LLaMA on FineWeb, final loss on the whole validation split):
    Riabinin et al. 2026, arXiv 2602.05813.
    """
    if optimizer_factory is not None and not callable(optimizer_factory):
        raise TypeError(f"optimizer_factory must be callable or None; got {optimizer_factory!r}")
    _check_run_dir(cfg)
    info = tdist.setup(cfg.device)
    try:
        run = _Run(cfg, info, list(callbacks), progress, optimizer_factory)
        results = run.run()
    except BaseException:
        tdist.teardown(info, clean=False)
        raise
    del run  # the DDP wrapper holds the process group: release it before the group goes
    tdist.teardown(info)
    return results


# --- set-up --------------------------------------------------------------------------------------


@dataclass
class _Parts:
    """What a run is built from: data, model (and its DDP wrapper), optimizer, scheduler, batches."""

    data: TokenData
    mcfg: ModelConfig
    seq_len: int
    model: LLaMA
    net: nn.Module  # the model, or its DistributedDataParallel wrapper
    optimizer: torch.optim.Optimizer
    scheduler: object
    batches: Batches
    autocast: contextlib.AbstractContextManager

    @classmethod
    def build(
        cls, cfg: RunConfig, info: tdist.DistInfo, factory: OptimizerFactory | None
    ) -> _Parts:
        """Threads, data (rank 0 builds the caches first), model, optimizer, scheduler, batches."""
        torch.set_num_threads(cfg.threads or tdist.default_threads(info))
        if info.device.type == "cuda":
            torch.backends.cuda.matmul.allow_tf32 = True
            torch.backends.cudnn.allow_tf32 = True
        if info.is_main:
            data = load_data(cfg.data)
        tdist.barrier(info)
        if not info.is_main:
            data = load_data(cfg.data)
        mcfg = resolve_model_config(cfg, data.vocab_size)
        seq_len = mcfg.context if cfg.seq_len is None else cfg.seq_len
        data.check(seq_len)
        if cfg.batch_size % (info.world_size * cfg.grad_accum):
            raise ValueError(
                f"batch_size ({cfg.batch_size}) must be divisible by world size x grad_accum "
                f"({info.world_size} x {cfg.grad_accum})"
            )
        torch.manual_seed(cfg.seed)
        model = LLaMA(mcfg).to(info.device)
        if factory is None:
            optimizer = build_optimizer(cfg.optimizer, model, lr=cfg.lr, **cfg.optimizer_args)
        else:
            optimizer = factory(model, lr=cfg.lr, **cfg.optimizer_args)
            if not isinstance(optimizer, torch.optim.Optimizer):
                raise TypeError(
                    f"optimizer_factory must return a torch.optim.Optimizer; got {optimizer!r}"
                )
        scheduler = build_scheduler(cfg, optimizer)
        net: nn.Module = model
        if info.world_size > 1:
            ids = [info.device.index] if info.device.type == "cuda" else None
            net = nn.parallel.DistributedDataParallel(model, device_ids=ids)
        batches = Batches(
            data.train,
            batch_size=cfg.batch_size,
            seq_len=seq_len,
            seed=cfg.seed,
            rank=info.rank,
            world_size=info.world_size,
        )
        autocast = _autocast(cfg.dtype, info.device)
        return cls(data, mcfg, seq_len, model, net, optimizer, scheduler, batches, autocast)


class _OptimizerMode:
    """Switches an optimizer with ``train()``/``eval()`` methods lazily; others are left alone.

    Checkpoints are saved in evaluation mode, so after a restore the mode is known to be ``eval``.
    """

    def __init__(self, optimizer: torch.optim.Optimizer) -> None:
        train_fn, eval_fn = getattr(optimizer, "train", None), getattr(optimizer, "eval", None)
        self.enabled = callable(train_fn) and callable(eval_fn)
        self.optimizer = optimizer
        self.mode: str | None = None  # unknown until the first switch

    def train(self) -> None:
        if self.enabled and self.mode != "train":
            self.optimizer.train()
            self.mode = "train"

    def eval(self) -> None:
        if self.enabled and self.mode != "eval":
            self.optimizer.eval()
            self.mode = "eval"


# --- one training step ---------------------------------------------------------------------------


class _Stepper:
    """One optimizer update (micro-batches, clipping, step, ``scheduler.step(mean loss)``), and the
    reading of the pending losses in one transfer and one all-reduce; it also keeps the time spent
    in training steps (evaluations and checkpoints excluded)."""

    def __init__(
        self, cfg: RunConfig, info: tdist.DistInfo, parts: _Parts, ctx: StepContext, callbacks: list
    ) -> None:
        self.cfg, self.info, self.parts, self.ctx, self.callbacks = cfg, info, parts, ctx, callbacks
        self.rows_per_rank = cfg.batch_size // info.world_size
        self.micro = self.rows_per_rank // cfg.grad_accum
        self.tokens_per_step = cfg.batch_size * parts.seq_len
        self.pending: list[tuple] = []
        self.train_time = 0.0  # seconds in training steps, this session
        self.last_train_loss: float | None = None
        self.window_t0 = time.perf_counter()

    def restart_clock(self) -> None:
        """Start a new timing window (after an evaluation or a checkpoint)."""
        self.window_t0 = time.perf_counter()

    def update(self, step: int) -> None:
        """Optimizer update ``step + 1``; its row waits in :attr:`pending` until :meth:`read`."""
        cfg, ctx, p = self.cfg, self.ctx, self.parts
        x_all, y_all = p.batches(step)
        x_all, y_all = x_all.to(self.info.device), y_all.to(self.info.device)
        micro = self.micro
        loss_sum = torch.zeros((), device=self.info.device)
        ddp = isinstance(p.net, nn.parallel.DistributedDataParallel)
        for m in range(cfg.grad_accum):
            x, y = x_all[m * micro : (m + 1) * micro], y_all[m * micro : (m + 1) * micro]
            sync = m == cfg.grad_accum - 1 or not ddp
            with contextlib.nullcontext() if sync else p.net.no_sync(), p.autocast:
                loss = p.net(x, y) / cfg.grad_accum
            loss.backward()
            loss_sum += loss.detach()
        params = [q for q in p.model.parameters() if q.grad is not None]
        max_norm = cfg.grad_clip if cfg.grad_clip is not None else math.inf
        grad_norm = torch.nn.utils.clip_grad_norm_(params, max_norm)
        ctx.step, ctx.batch, ctx.loss, ctx.grad_norm = step, (x_all, y_all), loss_sum, grad_norm
        _call(self.callbacks, "before_update", ctx)
        row = {
            "step": step + 1,
            "lr_mult": float(p.scheduler.last_multiplier),
            "lr": [_lr(g) for g in p.optimizer.param_groups],
            "phase": p.scheduler.phase,
        }
        p.optimizer.step()
        p.optimizer.zero_grad(set_to_none=True)
        p.scheduler.step(loss_sum)
        ctx.step = step + 1
        extra = {}
        for cb in self.callbacks:
            fn = getattr(cb, "on_step", None)
            if fn is not None:
                extra.update(fn(ctx) or {})
        self.pending.append((row, loss_sum, grad_norm, extra))

    def read(self) -> list[dict]:
        """The pending rows with their rank-mean loss, grad norm and throughput (clears them)."""
        if not self.pending:
            return []
        stats = torch.stack(
            [torch.stack((lo.float(), gn.float())) for _, lo, gn, _ in self.pending]
        )
        stats[:, 0] = (
            tdist.all_reduce_sum(stats[:, 0].contiguous(), self.info) / self.info.world_size
        )
        values = stats.tolist()
        elapsed = time.perf_counter() - self.window_t0
        self.train_time += elapsed
        tok_s = len(self.pending) * self.tokens_per_step / max(elapsed, 1e-9)
        rows = []
        for (row, _, _, extra), (loss, gnorm) in zip(self.pending, values):
            row.update(train_loss=loss, grad_norm=gnorm, tok_per_s=tok_s)
            row.update({k: _plain(v) for k, v in extra.items()})
            rows.append(row)
        self.pending = []
        self.last_train_loss = rows[-1]["train_loss"]
        self.restart_clock()
        return rows


# --- evaluation ----------------------------------------------------------------------------------


class _Evaluator:
    """Mean validation loss over fixed windows, split over ranks, in micro-batches that fit."""

    def __init__(self, cfg: RunConfig, info: tdist.DistInfo, parts: _Parts) -> None:
        self.info, self.parts = info, parts
        self.batch = cfg.batch_size // info.world_size // cfg.grad_accum  # a micro-batch
        n_val = len(parts.data.val)
        self.periodic = eval_starts(n_val, parts.seq_len, cfg.eval_batches * cfg.batch_size)
        self.whole = eval_starts(n_val, parts.seq_len)  # the whole validation split

    @torch.no_grad()
    def evaluate(self, starts: np.ndarray) -> float:
        """Mean loss (nats/token) over the validation windows at ``starts``, across all ranks."""
        p, info = self.parts, self.info
        p.model.eval()
        mine = starts[info.rank :: info.world_size]
        total = torch.zeros(2, dtype=torch.float64, device=info.device)
        for i in range(0, len(mine), self.batch):
            x, y = windows(p.data.val, mine[i : i + self.batch], p.seq_len)
            x, y = x.to(info.device), y.to(info.device)
            with p.autocast:
                logits = p.model(x)
            nll = F.cross_entropy(logits.float().flatten(0, 1), y.flatten(), reduction="sum")
            total[0] += nll.double()
            total[1] += y.numel()
        p.model.train()
        total = tdist.all_reduce_sum(total, info)
        return float(total[0] / total[1])


# --- checkpointing -------------------------------------------------------------------------------


@dataclass
class _Resumed:
    """What a checkpoint carries besides model, optimizer and scheduler state."""

    step: int = 0
    evals: list = field(default_factory=list)
    wall_time_s: float = 0.0  # all earlier sessions
    # Training-step seconds of all earlier sessions (None: a checkpoint of an older version,
    # which did not keep it; throughput then counts this session only).
    train_time_s: float | None = 0.0
    last_train_loss: float | None = None


class _Checkpointer:
    """Saves the run's state atomically; reads, validates and restores it on resume."""

    def __init__(self, cfg: RunConfig, info: tdist.DistInfo) -> None:
        self.cfg, self.info = cfg, info
        self.path = Path(cfg.out) / CHECKPOINT

    def read(self) -> dict | None:
        """The checkpoint to resume from (None without ``resume`` or without a file).

        Checked before any work: the file is a checkpoint and the run's identity is unchanged.
        """
        if not self.cfg.resume or not self.path.exists():
            return None
        state = load_checkpoint(self.path, map_location=self.info.device)
        try:
            saved = RunConfig.from_dict(dict(state["config"]))
        except (TypeError, ValueError) as err:
            raise ValueError(f"{self.path} holds no valid run configuration: {err}") from None
        changed = [k for k in _IDENTITY if _identity(saved, k) != _identity(self.cfg, k)]
        if changed:
            raise ValueError(
                f"cannot resume {self.path}: the run's {', '.join(changed)} changed; use another "
                f"--out or run without --resume to start over"
            )
        step, evals = state["step"], state["evals"]
        if isinstance(step, bool) or not isinstance(step, int) or not 0 <= step <= self.cfg.steps:
            raise ValueError(
                f"{self.path}: 'step' must be an integer in [0, {self.cfg.steps}]; got {step!r}"
            )
        if not isinstance(evals, list) or not all(
            isinstance(e, (list, tuple)) and len(e) == 2 for e in evals
        ):
            raise ValueError(f"{self.path}: 'evals' must be a list of [step, val_loss] pairs")
        if not isinstance(state["wall_time_s"], (int, float)):
            raise ValueError(f"{self.path}: 'wall_time_s' must be a number")
        return state

    def restore(self, state: dict, parts: _Parts) -> _Resumed:
        """Load ``state`` into the parts (after checking that the model's tensors fit)."""
        own = parts.model.state_dict()
        saved = state["model"]
        if not isinstance(saved, dict):
            raise ValueError(f"{self.path}: 'model' is not a state dict")
        missing = sorted(set(own) - set(saved))
        unexpected = sorted(set(saved) - set(own))
        if missing or unexpected:
            raise ValueError(
                f"{self.path} does not fit the {self.cfg.model!r} model: missing "
                f"{missing[:3] or 'none'}, unexpected {unexpected[:3] or 'none'}"
            )
        for k, t in own.items():
            v = saved[k]
            if not isinstance(v, torch.Tensor) or v.shape != t.shape:
                got = tuple(v.shape) if isinstance(v, torch.Tensor) else type(v).__name__
                raise ValueError(
                    f"{self.path} does not fit the {self.cfg.model!r} model: {k} has shape "
                    f"{got}, expected {tuple(t.shape)}"
                )
        loaders = (
            ("model", parts.model.load_state_dict),
            ("optimizer", parts.optimizer.load_state_dict),
            ("scheduler", parts.scheduler.load_state_dict),
            ("rng", set_rng_state),
        )
        for what, load in loaders:
            try:
                load(state[what])
            except (KeyError, TypeError, ValueError, RuntimeError, AttributeError) as err:
                first = str(err).strip().splitlines()[0] if str(err).strip() else repr(err)
                raise ValueError(
                    f"{self.path}: the saved {what} state does not fit this run: {first}"
                ) from None
        ll, tt = state.get("last_train_loss"), state.get("train_time_s")
        return _Resumed(
            step=state["step"],
            evals=[list(e) for e in state["evals"]],
            wall_time_s=float(state["wall_time_s"]),
            train_time_s=None if tt is None else float(tt),  # None: an older checkpoint
            last_train_loss=None if ll is None else float(ll),
        )

    def save(self, step: int, parts: _Parts, progress: _Resumed) -> None:
        """Write the checkpoint of update ``step`` (rank 0)."""
        if not self.info.is_main:
            return
        state = {
            "step": step,
            "config": self.cfg.to_dict(),
            "model": parts.model.state_dict(),
            "optimizer": parts.optimizer.state_dict(),
            "scheduler": parts.scheduler.state_dict(),
            "data": {"seed": self.cfg.seed, "next_step": step},
            "rng": rng_state(),
            "evals": progress.evals,
            "wall_time_s": progress.wall_time_s,
            "train_time_s": progress.train_time_s,
            "last_train_loss": progress.last_train_loss,
        }
        save_checkpoint(self.path, state)


# --- results -------------------------------------------------------------------------------------


class _RunDir:
    """The run directory (rank 0 writes): config.json, metrics.jsonl rows and final.json."""

    def __init__(self, cfg: RunConfig, info: tdist.DistInfo) -> None:
        self.cfg, self.info = cfg, info
        self.out = Path(cfg.out)
        self.metrics = self.out / runlog.METRICS_FILE

    def open(self, start_step: int, resolved: dict) -> None:
        """Clean up what a killed session left, then write ``config.json``.

        A fresh run deletes earlier results; a resumed one drops the rows logged after its
        checkpoint (and a torn last line). Stale temporaries go in both cases.
        """
        if not self.info.is_main:
            return
        self.out.mkdir(parents=True, exist_ok=True)
        runlog.remove_stale_temporaries(self.out, _RUN_FILES)
        remove_stale_checkpoint_temporaries(self.out)
        if start_step == 0:
            for name in (runlog.METRICS_FILE, FINAL, CHECKPOINT):
                (self.out / name).unlink(missing_ok=True)
        else:
            runlog.truncate_to_step(self.metrics, start_step, drop_keys=("final_val_loss",))
        runlog.write_json(self.out / CONFIG, resolved)

    def log(self, rows: list[dict]) -> None:
        if self.info.is_main and rows:
            runlog.append_records(self.metrics, rows)

    def write_final(self, results: dict) -> None:
        if not self.info.is_main:
            return
        if results["final_val_loss"] is not None:
            self.log([{"step": results["steps"], "final_val_loss": results["final_val_loss"]}])
        runlog.write_json(self.out / FINAL, results)


# --- the run -------------------------------------------------------------------------------------


class _Run:
    """One training run: builds the parts, restores a checkpoint, and sequences the loop."""

    def __init__(
        self,
        cfg: RunConfig,
        info: tdist.DistInfo,
        callbacks: list,
        progress: bool,
        factory: OptimizerFactory | None,
    ) -> None:
        self.cfg, self.info, self.callbacks, self.show = cfg, info, callbacks, progress
        self.t_start = time.perf_counter()
        self.ckpt = _Checkpointer(cfg, info)
        saved = self.ckpt.read()  # a bad checkpoint fails here, before the data loads
        self.parts = p = _Parts.build(cfg, info, factory)
        self.mode = _OptimizerMode(p.optimizer)
        self.ctx = StepContext(cfg, p.model, p.optimizer, p.scheduler, info)
        self.stepper = _Stepper(cfg, info, p, self.ctx, callbacks)
        self.evaluator = _Evaluator(cfg, info, p)
        self.dir = _RunDir(cfg, info)
        self.prior = self.ckpt.restore(saved, p) if saved is not None else _Resumed()
        if saved is not None:
            self.mode.mode = "eval"  # checkpoints are saved in evaluation mode
        self.evals = self.prior.evals
        self.start_step = self.prior.step

    def run(self) -> dict:
        cfg, info = self.cfg, self.info
        final_file = Path(cfg.out) / FINAL
        if self.start_step >= cfg.steps and final_file.is_file():
            return json.loads(final_file.read_text())
        self.dir.open(self.start_step, self._resolved())
        self.bar = Progress(cfg.steps, start=self.start_step, enabled=self.show and info.is_main)
        _call(self.callbacks, "on_train_start", self.ctx)
        self.stepper.restart_clock()
        for step in range(self.start_step, cfg.steps):
            self.mode.train()
            self.stepper.update(step)
            done = step + 1
            last = done == cfg.steps
            if done % cfg.log_every == 0 or last:
                self._log_steps()
            if cfg.eval_every and done % cfg.eval_every == 0 and not last:
                self._eval(done)
            if (cfg.checkpoint_every and done % cfg.checkpoint_every == 0) or last:
                self._log_steps()
                self._checkpoint(done)
        self.bar.close()
        return self._finish()

    def _log_steps(self) -> None:
        rows = self.stepper.read()
        if not rows:
            return
        self.dir.log(rows)
        last = rows[-1]
        self.bar.update(
            last["step"],
            loss=last["train_loss"],
            lr=last["lr_mult"] * self.cfg.lr,
            tok_s=f"{last['tok_per_s']:,.0f}",
            phase=last["phase"],
        )

    def _eval(self, step: int) -> None:
        self.mode.eval()
        loss = self.evaluator.evaluate(self.evaluator.periodic)
        self.evals.append([step, loss])
        self.dir.log([{"step": step, "val_loss": loss}])
        self.bar.update(step, val_loss=loss)
        _call(self.callbacks, "on_eval", self.ctx, loss)
        self.stepper.restart_clock()

    def _checkpoint(self, step: int) -> None:
        self.mode.eval()
        self.ckpt.save(step, self.parts, self._progress())
        self.stepper.restart_clock()

    def _progress(self) -> _Resumed:
        """What a resumed session needs to report like an uninterrupted one."""
        last = self.stepper.last_train_loss
        return _Resumed(
            step=self.start_step,
            evals=self.evals,
            wall_time_s=self.prior.wall_time_s + time.perf_counter() - self.t_start,
            train_time_s=(self.prior.train_time_s or 0.0) + self.stepper.train_time,
            last_train_loss=self.prior.last_train_loss if last is None else last,
        )

    def _finish(self) -> dict:
        cfg, p = self.cfg, self.parts
        self.mode.eval()
        whole = self.evaluator.whole
        final = self.evaluator.evaluate(whole) if cfg.final_eval else None
        if final is not None:
            self.evals.append([cfg.steps, final])
        progress = self._progress()
        tokens_per_step = self.stepper.tokens_per_step
        timed_steps = (
            cfg.steps if self.prior.train_time_s is not None else cfg.steps - self.start_step
        )
        results = {
            "final_val_loss": final,
            "final_val_tokens": len(whole) * p.seq_len if final is not None else 0,
            "evals": self.evals,
            "last_train_loss": progress.last_train_loss,
            "steps": cfg.steps,
            "steps_this_session": cfg.steps - self.start_step,
            "tokens": cfg.steps * tokens_per_step,
            "wall_time_s": progress.wall_time_s,
            "train_time_s": progress.train_time_s,
            "tokens_per_s": timed_steps * tokens_per_step / max(progress.train_time_s, 1e-9),
            "warmup_end_step": getattr(p.scheduler, "warmup_end_step", None),
            "target_loss": getattr(p.scheduler, "target_loss", None),  # f* in force at the switch
            "params": p.model.num_params(),
        }
        self.dir.write_final(results)
        _call(self.callbacks, "on_train_end", self.ctx, results)
        return results

    def _resolved(self) -> dict:
        p = self.parts
        return {
            "config": self.cfg.to_dict(),
            "model": dataclasses.asdict(p.mcfg),
            "seq_len": p.seq_len,
            "params": p.model.num_params(),
            "world_size": self.info.world_size,
            "device": str(self.info.device),
            "threads": torch.get_num_threads(),
            "data": p.data.info,
            "git": git_revision(),
            "torch": torch.__version__,
            "resumed_from_step": self.start_step,
        }


def _call(callbacks: list, name: str, ctx: StepContext, *args) -> None:
    for cb in callbacks:
        fn = getattr(cb, name, None)
        if fn is not None:
            fn(ctx, *args)


def _check_run_dir(cfg: RunConfig) -> None:
    """Refuse a run directory the loop could not write, before any work starts."""
    out = Path(cfg.out)
    if out.exists() and not out.is_dir():
        raise ValueError(f"out {str(out)!r} exists and is not a directory; choose another --out")
    for name in _RUN_FILES:
        f = out / name
        if f.is_dir():
            raise ValueError(
                f"{f} is a directory, where the run keeps its {name} file; move it away or choose "
                f"another --out"
            )


# --- helpers -------------------------------------------------------------------------------------


def resolve_model_config(cfg: RunConfig, vocab_size: int) -> ModelConfig:
    """The preset of ``cfg.model`` with the data's vocabulary and, if longer, ``cfg.seq_len``.

    The vocabulary is the tokenizer's, padded to a multiple of 64 (GPT-2's 50257 -> 50304).

    >>> resolve_model_config(RunConfig(model="llama-124m", seq_len=1024), 256).vocab_size
    256
    """
    mcfg = model_config(cfg.model)
    vocab = vocab_size if vocab_size % 64 == 0 else vocab_size + 64 - vocab_size % 64
    changes: dict = {"vocab_size": vocab}
    if cfg.seq_len is not None and cfg.seq_len > mcfg.context:
        changes["context"] = cfg.seq_len
    return mcfg.replace(**changes)


def git_revision() -> dict:
    """The commit and dirtiness of the checkout this package runs from (None outside git)."""
    here = Path(__file__).resolve().parent

    def git(*args: str) -> str | None:
        try:
            proc = subprocess.run(
                ["git", *args], cwd=here, capture_output=True, text=True, timeout=10, check=False
            )
        except (OSError, subprocess.SubprocessError):
            return None
        return proc.stdout.strip() if proc.returncode == 0 else None

    rev = git("rev-parse", "HEAD")
    status = git("status", "--porcelain", "--untracked-files=no") if rev else None
    return {"revision": rev, "dirty": bool(status) if status is not None else None}


def _identity(cfg: RunConfig, key: str):
    value = getattr(cfg, key)
    return dataclasses.replace(value, cache_dir=None) if key == "data" else value  # caches move


def _autocast(dtype: str, device: torch.device):
    if dtype == "bf16" or (dtype == "auto" and device.type == "cuda"):
        return torch.autocast(device.type, dtype=torch.bfloat16)
    return contextlib.nullcontext()


def _lr(group: dict) -> float:
    lr = group["lr"]
    return float(lr.item()) if isinstance(lr, torch.Tensor) else float(lr)


def _plain(value):
    if isinstance(value, torch.Tensor):
        return value.item() if value.numel() == 1 else value.tolist()
    return value
