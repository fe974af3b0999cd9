"""Benchmark presets: the workload (model, data, budget) and each optimizer's hyperparameters.

A preset is data (AlgoPerf style): the harness trains the same model on the same data for each
arm; only the LR schedule differs between arms of one optimizer. Arms:

- ``grid``: a fixed warm-up of ``W`` steps then cosine decay, the seed paper's baseline
  (torch ``OneCycleLR`` with ``pct_start = W / T``, half-cosine ramp from ``lr/div`` to ``lr``,
  cosine to ``lr / (div * final_div_factor)``), for each ``W`` of the grid;
- ``adaptive-faithful``: the loss-adaptive warm-up with the paper's rules (raw mini-batch loss,
  the paper's D* rule, switch on the first loss below ``f* + D*``);
- ``adaptive-auto``: autowarm's default mode of the same scheduler (bias-corrected EMA of the
  loss, ``target_loss="auto"``, the latest switch and the rate limit).

Both adaptive arms use the same peak LR, ``div_factor`` and cosine decay as the grid. Further
arms (:mod:`autowarm.bench.sweep`): ``adaptive-calibrated``, an f* sweep, and the warm-up-free /
LR-free baselines run beside AdamW (``BASELINES``); every arm can run at several peak LRs
(``lr_factors``, multiples of :attr:`OptimizerSetup.lr`).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field


@dataclass(frozen=True)
class OptimizerSetup:
    """One optimizer's hyperparameters in a preset (shared by all of its arms)."""

    lr: float  # peak LR of every param group
    div_factor: float  # warm-up starts at lr / div_factor (grid and adaptive alike)
    target_loss: float  # f* of the adaptive arms (about the loss the run can reach)
    hparams: dict = field(default_factory=dict)  # further autowarm.optim.build arguments


@dataclass(frozen=True)
class BenchPreset:
    """A benchmark workload: model, data, budget, the warm-up grid and the optimizers."""

    name: str  # preset name
    model: str  # model preset of autowarm.train.model
    steps: int  # optimizer updates per run
    batch_size: int  # sequences per update
    optimizers: dict[str, OptimizerSetup]  # name -> setup of every optimizer the preset knows
    warmup_fracs: tuple[float, ...]  # the grid: warm-up lengths as fractions of `steps`
    seeds: int = 3  # seeds per arm (seed s fixes init and data order, paired across arms)
    final_div_factor: float = 1e4  # the cosine ends at lr / (div_factor * final_div_factor)
    grad_clip: float | None = 1.0  # global gradient-norm clip
    weight_decay: float = 0.1  # decoupled weight decay of the matrix groups
    eval_every: int = 100  # evaluation on fixed validation batches every N updates
    eval_batches: int = 8  # fixed validation batches per evaluation
    checkpoint_every: int = 100  # checkpoint period (resume of partial runs)
    data: dict = field(default_factory=dict)  # DataConfig overrides (empty = embedded default)
    # --fstar-sweep: f* = target_loss + offset; the paper's study also puts f* above the final loss
    fstar_offsets: tuple[float, ...] = (-1.0, -0.5, -0.25, 0.0, 0.25, 0.5, 1.0)
    default_optimizers: tuple[str, ...] = ()  # run when none are named (empty = all)
    quick_optimizers: tuple[str, ...] = ()  # --quick: optimizers of the subset
    quick_fracs: tuple[float, ...] = ()  # --quick: grid of the subset
    quick_seeds: int = 1  # --quick: seeds of the subset
    quick_steps: int | None = None  # --quick: updates per run (None = `steps`)
    quick_modes: tuple[str, ...] = ()  # --quick: adaptive arms of the subset (empty = the default)

    def grid_steps(self, steps: int | None = None, fracs: tuple[float, ...] | None = None):
        """The grid's warm-up lengths in updates (distinct, sorted, < steps)."""
        total = steps or self.steps
        out = sorted({min(round(f * total), total - 1) for f in (fracs or self.warmup_fracs)})
        return tuple(out)

    def replace(self, **changes) -> BenchPreset:
        """A copy with some fields changed."""
        return dataclasses.replace(self, **changes)


# CPU scale: the `cpu` model (d 128, 4 layers, byte vocabulary, ~0.84M parameters) on the embedded
# corpus. Peak LRs from the single-seed scan in BENCHMARKS.md (benchmarks/cpu_lr_scan.py): the
# best of the scanned values without warm-up; AdamW's 3e-3 is where warm-up matters most.
# f* sits about 0.2 nats below the loss the best fixed warm-up reached in those runs (the seed
# paper sets f* near the achievable loss and finds results robust for f* a little below it).
_CPU_OPTIMIZERS = {
    # Newton-Schulz in float32: bf16 matmuls are 2x slower than fp32 on CPU (BENCHMARKS.md).
    "muon": OptimizerSetup(
        lr=1e-2, div_factor=100.0, target_loss=1.25, hparams={"ns_dtype": "float32"}
    ),
    # Lion's warm-up starts at lr/3: from lr/100 (or lr/10) its slow momentum (beta2 0.99, ~100
    # updates) fills with the initial gradient while the weights barely move, and at the peak
    # drives them the same way for tens of updates; every warm-up then cost 0.38-0.47 nats on
    # this model, whatever its length (docs/optimizers.md, benchmarks/lion_momentum.py). Results
    # before 2026-11-30 used div 100: reproduce them with `autowarm bench --div-factor lion=100`.
    "lion": OptimizerSetup(lr=1e-3, div_factor=3.0, target_loss=1.45),
    # normalized SGD moves every tensor by lr in Frobenius norm: 0.1 on 128-wide matrices is
    # about AdamW's 3e-3 per entry. div 5 as in the paper's normSGD scripts. f* 2.0 is an
    # estimate: its 300-update runs reached 2.5 (no 600-update run yet).
    "normsgd": OptimizerSetup(lr=1e-1, div_factor=5.0, target_loss=2.0),
    "adamw": OptimizerSetup(lr=3e-3, div_factor=100.0, target_loss=1.35),
    # LionAR (Kosson et al. 2024), the warm-up-free comparison: its lr sets the equilibrium
    # rotation angle through sqrt(2 lr wd), so it is not on Lion's scale (0.1-1 on this model).
    "lionar": OptimizerSetup(lr=0.3, div_factor=100.0, target_loss=1.45),
}

PRESETS: dict[str, BenchPreset] = {
    "tiny": BenchPreset(
        name="tiny",
        model="tiny",
        steps=12,
        batch_size=4,
        optimizers=_CPU_OPTIMIZERS,
        default_optimizers=("muon", "lion", "normsgd", "adamw"),
        warmup_fracs=(0.0, 0.25),
        seeds=1,
        eval_every=6,
        eval_batches=2,
        checkpoint_every=6,
        fstar_offsets=(-0.5, 0.0),
        quick_optimizers=("adamw",),
        quick_fracs=(0.0, 0.25),
    ),
    "cpu": BenchPreset(
        name="cpu",
        model="cpu",
        steps=600,
        batch_size=16,
        optimizers=_CPU_OPTIMIZERS,
        default_optimizers=("muon", "lion", "normsgd", "adamw"),
        warmup_fracs=(0.0, 0.05, 0.1, 0.2, 0.4),
        seeds=3,
        # --quick is the README's main job: the default adaptive arm against three warm-ups for
        # two optimizers, short enough to finish in minutes on 2 cores (8 runs of 200 updates)
        quick_optimizers=("adamw", "lion"),
        quick_fracs=(0.0, 0.1, 0.4),
        quick_seeds=1,
        quick_steps=200,
        quick_modes=("adaptive-auto",),
    ),
}

# Paper scale (GPUs, FineWeb, GPT-2 tokens): 124M/210M LLaMA, batch 256 x 512 tokens, 8K updates,
# and the LRs, div factors and f* of the training scripts published with Riabinin et al. 2026
# (arXiv 2602.05813) for each optimizer and model size.
PRESETS["paper-124m"] = BenchPreset(
    name="paper-124m",
    model="llama-124m",
    steps=8000,
    batch_size=256,
    optimizers={
        "muon": OptimizerSetup(3e-3, 100.0, 3.2, {"momentum": 0.9}),
        "lion": OptimizerSetup(1e-3, 100.0, 3.5, {"betas": (0.9, 0.99)}),
        "normsgd": OptimizerSetup(1e-2, 5.0, 4.3, {"momentum": 0.95}),
    },
    warmup_fracs=(0.0125, 0.025, 0.05, 0.125, 0.25, 0.5),
    seeds=1,
    grad_clip=0.5,
    eval_every=115,
    eval_batches=32,
    checkpoint_every=500,
    data={"source": "fineweb", "tokenizer": "gpt2"},
    fstar_offsets=(-3.2, -2.2, -1.2, -0.2, 0.0, 0.2, 0.4, 0.8, 1.8),
)
PRESETS["paper-210m"] = PRESETS["paper-124m"].replace(
    name="paper-210m",
    model="llama-210m",
    optimizers={
        "muon": OptimizerSetup(3e-3, 100.0, 3.2, {"momentum": 0.9}),
        "lion": OptimizerSetup(1e-3, 100.0, 3.2, {"betas": (0.9, 0.99)}),
        "normsgd": OptimizerSetup(1e-2, 5.0, 4.2, {"momentum": 0.95}),
    },
    warmup_fracs=(0.00625, 0.0125, 0.025, 0.05, 0.125, 0.25, 0.5),
)

# One-GPU mid-size check (benchmarks/gpu_check.sh): the 30.6M-parameter `llama-30m` on the
# embedded corpus in 4096-token BPE (2.63 M training tokens), batch 16 x 512 tokens, 1200 updates
# (9.8 M tokens, about 3.7 passes over the training split). LRs, div factors, hyperparameters,
# clip and f* are the paper-124m ones above: no run of this workload existed to tune them on, and
# the rule the paper states for f* (about the loss the run can reach) gives a similar value here:
# at 3.35 bytes per BPE token, the 0.9-1.1 nats/byte a model 36x the `cpu` one should reach is
# 3.0-3.7 nats/token, which brackets f* = 3.2 (Muon), 3.5 (Lion) from below and above; normSGD's
# 4.3 is the paper's too. (target_loss is a number here; the `adaptive-auto` arm, where the
# installed autowarm has it, estimates f* from the run instead.) Grid: 0, 2.5, 10, 25% of the run.
PRESETS["gpu-mid"] = PRESETS["paper-124m"].replace(
    name="gpu-mid",
    model="llama-30m",
    steps=1200,
    batch_size=16,
    default_optimizers=("muon", "lion"),
    warmup_fracs=(0.0, 0.025, 0.1, 0.25),
    eval_every=200,
    eval_batches=8,
    checkpoint_every=1200,  # only at the end: the check runs in one go on a fresh machine
    data={"tokenizer": "bpe", "vocab_size": 4096},
    fstar_offsets=(-0.5, 0.0, 0.5, 1.0),
    quick_optimizers=("muon",),
    quick_fracs=(0.0, 0.1),
    quick_steps=600,
)


def preset(name: str) -> BenchPreset:
    """The benchmark preset called ``name``.

    >>> preset("cpu").grid_steps()
    (0, 30, 60, 120, 240)
    """
    if name not in PRESETS:
        raise ValueError(f"unknown benchmark preset {name!r}; valid presets: {', '.join(PRESETS)}")
    return PRESETS[name]
