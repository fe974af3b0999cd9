"""The training loop: it wires model, data, optimizer and scheduler from a :class:`RunConfig`.

It names no optimizer and no schedule: ``cfg.optimizer`` goes to :func:`autowarm.optim.build`,
``cfg.schedule`` to :func:`build_scheduler`, and the scheduler is always stepped with the mean loss
of the optimizer step (``FixedSchedule`` ignores it; ``AdaptiveWarmup`` averages it across ranks).
Losses stay on the device until every ``log_every``-th update, where they are read in one
transfer (the loop's only regular host sync).

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
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from autowarm.optim import build as build_optimizer
from autowarm.train import dist as tdist
from autowarm.train.checkpoint import (
    CHECKPOINT,
    load_checkpoint,
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


@dataclass
class StepContext:
    """What callbacks see; the loop updates it in place every optimizer step."""

    cfg: RunConfig  # the run's configuration
    model: nn.Module  # the model (not the DDP wrapper)
    optimizer: torch.optim.Optimizer  # built by autowarm.optim.build
    scheduler: object  # FixedSchedule or AdaptiveWarmup
    dist: tdist.DistInfo  # rank, world size, device
    step: int = 0  # optimizer updates done (after on_step: including this one)
    batch: tuple[torch.Tensor, torch.Tensor] | None = None  # this rank's (inputs, targets)
    loss: torch.Tensor | None = None  # mean loss of this update on this rank (device scalar)
    grad_norm: torch.Tensor | None = None  # global gradient norm before clipping
    extra: dict = field(default_factory=dict)  # scratch space shared by callbacks


def train(cfg: RunConfig, *, callbacks: Sequence[object] = (), progress: bool = True) -> dict:
    """Run ``cfg`` and return its final results (the content of ``final.json``).

    Writes the run directory ``cfg.out`` (rank 0 only): ``config.json`` (resolved config and git
    revision), ``metrics.jsonl`` (a row per update: ``step`` = updates done, ``train_loss``,
    ``lr_mult``, ``lr`` per group, ``grad_norm``, ``tok_per_s``, ``phase``; and a row per
    evaluation with ``val_loss``), ``checkpoint.pt`` and ``final.json``. With ``cfg.resume`` it
    continues from the checkpoint; on CPU the losses then equal those of an uninterrupted run.

    Args:
        cfg: the run.
        callbacks: diagnostics hooks (see the module docstring).
        progress: show a progress bar (rich on a TTY) or log lines on rank 0.

    Returns:
        ``final_val_loss`` (whole validation split, nats/token), ``evals`` (``[step, val_loss]``
        pairs), ``steps``, ``tokens``, ``wall_time_s``, ``train_time_s``, ``tokens_per_s``
        (training steps only), ``warmup_end_step`` (adaptive schedule, else None), ``params``.

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
    info = tdist.setup(cfg.device)
    try:
        results = _Run(cfg, info, list(callbacks), progress).run()
    except BaseException:
        tdist.teardown(info, clean=False)
        raise
    tdist.teardown(info)
    return results


class _Run:
    """One training run; :meth:`run` is the loop, the other methods are its pieces."""

    def __init__(self, cfg: RunConfig, info: tdist.DistInfo, callbacks: list, progress: bool):
        self.cfg, self.info, self.callbacks, self.show = cfg, info, callbacks, progress
        self.t_start = time.perf_counter()
        self.out = Path(cfg.out)
        torch.set_num_threads(cfg.threads or tdist.default_threads(info))
        if info.device.type == "cuda":
            torch.backends.cuda.matmul.allow_tf32 = True
            torch.backends.cudnn.allow_tf32 = True
        self.data = self._load_data()
        self.mcfg = resolve_model_config(cfg, self.data.vocab_size)
        self.seq_len = self.mcfg.context if cfg.seq_len is None else cfg.seq_len
        self.data.check(self.seq_len)
        if cfg.batch_size % (info.world_size * cfg.grad_accum):
            raise ValueError(
                f"batch_size ({cfg.batch_size}) must be divisible by world size x grad_accum "
                f"({info.world_size} x {cfg.grad_accum})"
            )
        torch.manual_seed(cfg.seed)
        self.model = LLaMA(self.mcfg).to(info.device)
        self.optimizer = build_optimizer(cfg.optimizer, self.model, lr=cfg.lr, **cfg.optimizer_args)
        self.scheduler = build_scheduler(cfg, self.optimizer)
        self.net: nn.Module = self.model
        if info.world_size > 1:
            ids = [info.device.index] if info.device.type == "cuda" else None
            self.net = nn.parallel.DistributedDataParallel(self.model, device_ids=ids)
        self.batches = Batches(
            self.data.train,
            batch_size=cfg.batch_size,
            seq_len=self.seq_len,
            seed=cfg.seed,
            rank=info.rank,
            world_size=info.world_size,
        )
        self.rows_per_rank = cfg.batch_size // info.world_size
        self.eval_bs = self.rows_per_rank // cfg.grad_accum  # a micro-batch: known to fit
        self.val_starts = eval_starts(
            len(self.data.val), self.seq_len, cfg.eval_batches * cfg.batch_size
        )
        self.autocast = _autocast(cfg.dtype, info.device)
        self.ctx = StepContext(cfg, self.model, self.optimizer, self.scheduler, info)
        self.evals: list[list[float]] = []
        self.prior_time = 0.0  # wall time of earlier sessions of a resumed run
        self.start_step = self._restore() if cfg.resume else 0

    # --- setup -------------------------------------------------------------------------------

    def _load_data(self) -> TokenData:
        # Rank 0 builds the caches first; the others then read them.
        if self.info.is_main:
            data = load_data(self.cfg.data)
        tdist.barrier(self.info)
        if not self.info.is_main:
            data = load_data(self.cfg.data)
        return data

    def _restore(self) -> int:
        path = self.out / CHECKPOINT
        if not path.is_file():
            return 0
        state = load_checkpoint(path, map_location=self.info.device)
        saved = RunConfig.from_dict(state["config"])
        changed = [k for k in _IDENTITY if _identity(saved, k) != _identity(self.cfg, k)]
        if changed:
            raise ValueError(
                f"cannot resume {path}: the run's {', '.join(changed)} changed; use another --out "
                f"or run without --resume to start over"
            )
        self.model.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.scheduler.load_state_dict(state["scheduler"])
        self.evals = [list(e) for e in state["evals"]]
        self.prior_time = float(state["wall_time_s"])
        set_rng_state(state["rng"])
        return int(state["step"])

    # --- the loop ----------------------------------------------------------------------------

    def run(self) -> dict:
        cfg, info = self.cfg, self.info
        final_file = self.out / "final.json"
        if self.start_step >= cfg.steps and final_file.is_file():
            return json.loads(final_file.read_text())
        if info.is_main:
            self._open_run_dir()
        self.bar = Progress(cfg.steps, start=self.start_step, enabled=self.show and info.is_main)
        self._call("on_train_start")
        self.pending: list[tuple] = []
        self.last_train_loss: float | None = None
        self.train_time = 0.0
        self.tokens_per_step = cfg.batch_size * self.seq_len
        self.window_t0 = time.perf_counter()
        for step in range(self.start_step, cfg.steps):
            self._update(step)
            done = step + 1
            last = done == cfg.steps
            if done % cfg.log_every == 0 or last:
                self._flush()
            if cfg.eval_every and done % cfg.eval_every == 0 and not last:
                self._eval(done)
            if (cfg.checkpoint_every and done % cfg.checkpoint_every == 0) or last:
                self._flush()
                self._checkpoint(done)
        self.bar.close()
        return self._finish()

    def _update(self, step: int) -> None:
        """One optimizer update: micro-batches, clipping, step, scheduler.step(mean loss)."""
        cfg, ctx = self.cfg, self.ctx
        x_all, y_all = self.batches(step)
        x_all, y_all = x_all.to(self.info.device), y_all.to(self.info.device)
        micro = self.rows_per_rank // cfg.grad_accum
        loss_sum = torch.zeros((), device=self.info.device)
        for m in range(cfg.grad_accum):
            x, y = x_all[m * micro : (m + 1) * micro], y_all[m * micro : (m + 1) * micro]
            sync = m == cfg.grad_accum - 1 or not isinstance(
                self.net, nn.parallel.DistributedDataParallel
            )
            with contextlib.nullcontext() if sync else self.net.no_sync(), self.autocast:
                loss = self.net(x, y) / cfg.grad_accum
            loss.backward()
            loss_sum += loss.detach()
        params = [p for p in self.model.parameters() if p.grad is not None]
        max_norm = cfg.grad_clip if cfg.grad_clip is not None else math.inf
        grad_norm = torch.nn.utils.clip_grad_norm_(params, max_norm)
        ctx.step, ctx.batch, ctx.loss, ctx.grad_norm = step, (x_all, y_all), loss_sum, grad_norm
        self._call("before_update")
        row = {
            "step": step + 1,
            "lr_mult": float(self.scheduler.last_multiplier),
            "lr": [_lr(g) for g in self.optimizer.param_groups],
            "phase": self.scheduler.phase,
        }
        self.optimizer.step()
        self.optimizer.zero_grad(set_to_none=True)
        self.scheduler.step(loss_sum)
        ctx.step = step + 1
        extra = {}
        for cb in self.callbacks:
            fn = getattr(cb, "on_step", None)
            if fn is not None:
                extra.update(fn(ctx) or {})
        self.pending.append((row, loss_sum, grad_norm, extra))

    def _flush(self) -> None:
        """Read the pending losses (one transfer, one all-reduce) and write their rows."""
        if not self.pending:
            return
        stats = torch.stack(
            [torch.stack((lo.float(), gn.float())) for _, lo, gn, _ in self.pending]
        )
        stats[:, 0] = (
            tdist.all_reduce_sum(stats[:, 0].contiguous(), self.info) / self.info.world_size
        )
        values = stats.tolist()
        now = time.perf_counter()
        elapsed = now - self.window_t0
        self.train_time += elapsed
        tok_s = len(self.pending) * self.tokens_per_step / max(elapsed, 1e-9)
        rows = []
        for (row, _, _, extra), (loss, gnorm) in zip(self.pending, values):
            row.update(train_loss=loss, grad_norm=gnorm, tok_per_s=tok_s)
            row.update({k: _plain(v) for k, v in extra.items()})
            rows.append(row)
        self.pending = []
        last = rows[-1]
        self.last_train_loss = last["train_loss"]
        if self.info.is_main:
            _append_jsonl(self.out / "metrics.jsonl", rows)
            self.bar.update(
                last["step"],
                loss=last["train_loss"],
                lr=last["lr_mult"] * self.cfg.lr,
                tok_s=f"{tok_s:,.0f}",
                phase=last["phase"],
            )
        self.window_t0 = time.perf_counter()

    def _eval(self, step: int) -> None:
        loss = self.evaluate(self.val_starts)
        self.evals.append([step, loss])
        if self.info.is_main:
            _append_jsonl(self.out / "metrics.jsonl", [{"step": step, "val_loss": loss}])
            self.bar.update(step, val_loss=loss)
        self._call("on_eval", loss)
        self.window_t0 = time.perf_counter()

    @torch.no_grad()
    def evaluate(self, starts: np.ndarray) -> float:
        """Mean loss (nats/token) over the validation windows at ``starts``, across all ranks."""
        self.model.eval()
        mine = starts[self.info.rank :: self.info.world_size]
        total = torch.zeros(2, dtype=torch.float64, device=self.info.device)
        for i in range(0, len(mine), self.eval_bs):
            x, y = windows(self.data.val, mine[i : i + self.eval_bs], self.seq_len)
            x, y = x.to(self.info.device), y.to(self.info.device)
            with self.autocast:
                logits = self.model(x)
            nll = F.cross_entropy(logits.float().flatten(0, 1), y.flatten(), reduction="sum")
            total[0] += nll.double()
            total[1] += y.numel()
        self.model.train()
        total = tdist.all_reduce_sum(total, self.info)
        return float(total[0] / total[1])

    def _checkpoint(self, step: int) -> None:
        if self.info.is_main:
            state = {
                "step": step,
                "config": self.cfg.to_dict(),
                "model": self.model.state_dict(),
                "optimizer": self.optimizer.state_dict(),
                "scheduler": self.scheduler.state_dict(),
                "data": {"seed": self.cfg.seed, "next_step": step},
                "rng": rng_state(),
                "evals": self.evals,
                "wall_time_s": self.prior_time + time.perf_counter() - self.t_start,
            }
            save_checkpoint(self.out / CHECKPOINT, state)
        self.window_t0 = time.perf_counter()

    def _finish(self) -> dict:
        cfg = self.cfg
        val_tokens = len(eval_starts(len(self.data.val), self.seq_len)) * self.seq_len
        final = (
            self.evaluate(eval_starts(len(self.data.val), self.seq_len)) if cfg.final_eval else None
        )
        if final is not None:
            self.evals.append([cfg.steps, final])
        done = cfg.steps - self.start_step
        results = {
            "final_val_loss": final,
            "final_val_tokens": val_tokens if final is not None else 0,
            "evals": self.evals,
            "last_train_loss": self.last_train_loss,
            "steps": cfg.steps,
            "steps_this_session": done,
            "tokens": cfg.steps * self.tokens_per_step,
            "wall_time_s": self.prior_time + time.perf_counter() - self.t_start,
            "train_time_s": self.train_time,
            "tokens_per_s": done * self.tokens_per_step / max(self.train_time, 1e-9),
            "warmup_end_step": getattr(self.scheduler, "warmup_end_step", None),
            "params": self.model.num_params(),
        }
        if self.info.is_main:
            if final is not None:
                _append_jsonl(
                    self.out / "metrics.jsonl", [{"step": cfg.steps, "final_val_loss": final}]
                )
            _write_json(self.out / "final.json", results)
        self._call("on_train_end", results)
        return results

    def _open_run_dir(self) -> None:
        self.out.mkdir(parents=True, exist_ok=True)
        metrics = self.out / "metrics.jsonl"
        if self.start_step == 0:
            for name in ("metrics.jsonl", "final.json", CHECKPOINT):
                (self.out / name).unlink(missing_ok=True)
        elif metrics.is_file():  # drop rows written after the checkpoint by the killed session
            rows = [json.loads(ln) for ln in metrics.read_text().splitlines() if ln.strip()]
            keep = [
                json.dumps(r)
                for r in rows
                if r["step"] <= self.start_step and "final_val_loss" not in r
            ]
            metrics.write_text("".join(ln + "\n" for ln in keep))
        resolved = {
            "config": self.cfg.to_dict(),
            "model": dataclasses.asdict(self.mcfg),
            "seq_len": self.seq_len,
            "params": self.model.num_params(),
            "world_size": self.info.world_size,
            "device": str(self.info.device),
            "threads": torch.get_num_threads(),
            "data": self.data.info,
            "git": git_revision(),
            "torch": torch.__version__,
            "resumed_from_step": self.start_step,
        }
        _write_json(self.out / "config.json", resolved)

    def _call(self, name: str, *args) -> None:
        for cb in self.callbacks:
            fn = getattr(cb, name, None)
            if fn is not None:
                fn(self.ctx, *args)


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


def _append_jsonl(path: Path, rows: list[dict]) -> None:
    with open(path, "a") as f:
        f.write("".join(json.dumps(r) + "\n" for r in rows))


def _write_json(path: Path, obj: dict) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(obj, indent=1, default=str) + "\n")
    tmp.replace(path)
