"""Typed configuration of one training run (``autowarm train``), and how a schedule spec is built.

A run is data: a frozen :class:`RunConfig` whose every field is commented. Presets and the CLI
only produce or override such configs; the training loop reads them and names no optimizer or
schedule itself.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Any

from autowarm.schedules import _validate as _v
from autowarm.train.data import DataConfig
from autowarm.train.model import model_config

DTYPES = ("auto", "fp32", "bf16")
DEVICES = ("auto", "cpu", "cuda")


@dataclass(frozen=True)
class RunConfig:
    """Everything one training run needs; ``to_dict``/``from_dict`` round-trip it as JSON."""

    model: str = "cpu"  # model preset name (autowarm.train.model.MODEL_PRESETS)
    optimizer: str = "adamw"  # optimizer registry name (autowarm.optim.build)
    lr: float = 3e-3  # peak LR of the optimizer's groups (the schedule multiplies it)
    optimizer_args: dict = field(default_factory=dict)  # further optimizer hyperparameters
    # A schedule spec from autowarm.schedules ("wsd:warmup_steps=100,cooldown_frac=0.2"), or
    # "adaptive[:key=value,...]" for the loss-adaptive warm-up (fields of AdaptiveConfig).
    schedule: str = "warmup_cosine:warmup_steps=30"
    # f* of the adaptive warm-up (required for "adaptive"): a number, or "auto" to estimate it
    # online from the run's losses; a target_loss key of an adaptive spec overrides it.
    target_loss: float | str | None = None
    steps: int = 600  # optimizer updates
    batch_size: int = 16  # sequences per optimizer update, over all ranks and micro-batches
    seq_len: int | None = None  # tokens per sequence; None = the model's context length
    grad_accum: int = 1  # micro-batches per optimizer update on each rank
    grad_clip: float | None = 1.0  # global gradient-norm clip; None disables clipping
    seed: int = 0  # model init and data order (the data order is a function of (seed, step))
    data: DataConfig = field(default_factory=DataConfig)  # corpus, tokenizer, split
    eval_every: int = 100  # evaluate on fixed validation batches every N updates (0 = never)
    eval_batches: int = 16  # number of fixed validation batches
    final_eval: bool = True  # evaluate on the whole validation split at the end
    checkpoint_every: int = 0  # checkpoint every N updates (0 = only at the end)
    log_every: int = 10  # read losses to the host (and write metrics rows) every N updates
    device: str = "auto"  # "cpu", "cuda" or "auto" (cuda when available)
    dtype: str = "auto"  # "fp32", "bf16" autocast, or "auto" (bf16 on CUDA, fp32 on CPU)
    threads: int | None = None  # torch.set_num_threads; None = cores / local ranks
    out: str = "runs/train"  # run directory (config.json, metrics.jsonl, final.json, checkpoint)
    resume: bool = False  # continue from out/checkpoint.pt if present (else start fresh)

    def __post_init__(self) -> None:
        model_config(self.model)  # raises ValueError naming the valid presets
        _positive_int("steps", self.steps)
        _positive_int("batch_size", self.batch_size)
        _positive_int("grad_accum", self.grad_accum)
        _positive_int("eval_batches", self.eval_batches)
        _positive_int("log_every", self.log_every)
        for name in ("eval_every", "checkpoint_every", "seed"):
            _nonneg_int(name, getattr(self, name))
        if self.seq_len is not None:
            _positive_int("seq_len", self.seq_len)
        if self.threads is not None:
            _positive_int("threads", self.threads)
        if not (isinstance(self.lr, (int, float)) and math.isfinite(self.lr) and self.lr > 0):
            raise ValueError(f"lr must be a finite number > 0; got {self.lr!r}")
        if self.grad_clip is not None and not self.grad_clip > 0:
            raise ValueError(f"grad_clip must be > 0 or None; got {self.grad_clip!r}")
        if self.batch_size % self.grad_accum:
            raise ValueError(
                f"batch_size ({self.batch_size}) must be divisible by grad_accum "
                f"({self.grad_accum})"
            )
        if self.dtype not in DTYPES:
            raise ValueError(f"dtype must be one of {', '.join(DTYPES)}; got {self.dtype!r}")
        if self.device not in DEVICES:
            raise ValueError(f"device must be one of {', '.join(DEVICES)}; got {self.device!r}")
        _check_target_loss(self.target_loss)
        if self.is_adaptive:
            self.adaptive_config()  # a bad adaptive:key=value fails here, not after data loading
        else:
            from autowarm.schedules import from_spec

            from_spec(self.schedule, self.steps)  # a bad spec fails here, not after data loading

    @property
    def is_adaptive(self) -> bool:
        """True for the loss-adaptive warm-up."""
        from autowarm.adaptive import is_adaptive_spec

        return is_adaptive_spec(self.schedule)

    def adaptive_config(self):
        """The :class:`autowarm.adaptive.AdaptiveConfig` of an ``adaptive[:...]`` schedule."""
        from autowarm.adaptive import AdaptiveConfig

        return AdaptiveConfig.from_spec(
            self.schedule, total_steps=self.steps, target_loss=self.target_loss
        )

    def replace(self, **changes: Any) -> RunConfig:
        """A copy with some fields changed (``dataclasses.replace``)."""
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict:
        """Plain JSON-able data."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> RunConfig:
        """Inverse of :meth:`to_dict` (unknown keys raise ``ValueError``)."""
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(d) - names)
        if unknown:
            raise ValueError(f"unknown RunConfig field(s): {', '.join(unknown)}")
        d = dict(d)
        if isinstance(d.get("data"), dict):
            d["data"] = DataConfig(**d["data"])
        return cls(**d)


def _check_target_loss(value: object) -> None:
    from autowarm.adaptive.config import TARGET_LOSS_WORDS

    if value is None or (isinstance(value, str) and value in TARGET_LOSS_WORDS):
        return
    number = isinstance(value, (int, float)) and not isinstance(value, bool)
    if not (number and math.isfinite(value)):
        words = ", ".join(repr(w) for w in TARGET_LOSS_WORDS)
        raise ValueError(f"target_loss must be a finite number, {words} or None; got {value!r}")


def _positive_int(name: str, value: object) -> None:
    _v.integer(name, value, minimum=1)  # TypeError for a non-integer, ValueError below 1


def _nonneg_int(name: str, value: object) -> None:
    _v.integer(name, value, minimum=0)


def build_scheduler(cfg: RunConfig, optimizer):
    """The LR scheduler of a run: ``FixedSchedule`` for a schedule spec, else ``AdaptiveWarmup``."""
    from autowarm.lr import AdaptiveWarmup, FixedSchedule
    from autowarm.schedules import from_spec

    if not cfg.is_adaptive:
        return FixedSchedule(optimizer, from_spec(cfg.schedule, cfg.steps))
    return AdaptiveWarmup(optimizer, cfg.adaptive_config())
