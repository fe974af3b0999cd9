"""Expand a benchmark preset into the list of runs: optimizers x arms x seeds.

Each run is a :class:`RunSpec` with a stable ``run_id`` (the key of the result store) and the
:class:`autowarm.train.RunConfig` the harness trains. Runs of one optimizer share everything but
the schedule; seed ``s`` fixes the initialisation and the data order in every arm, so arms are
paired by seed.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass
from pathlib import Path

from autowarm.adaptive import MODES
from autowarm.bench.presets import BenchPreset, OptimizerSetup

# The adaptive modes (name -> the AdaptiveConfig fields each sets, spelled out in full so a stored
# result names its exact schedule) are defined with the configuration: autowarm.adaptive.MODES.
ADAPTIVE_MODES: dict[str, dict[str, object]] = MODES
DEFAULT_MODES = ("adaptive-faithful", "adaptive")  # the adaptive arms run unless told otherwise


@dataclass(frozen=True)
class RunSpec:
    """One benchmark run: which optimizer, which arm, which seed, and its training config."""

    optimizer: str  # optimizer registry name
    arm: str  # "grid", "adaptive-faithful", "adaptive" or "fstar"
    seed: int  # fixes init and data order
    warmup_steps: int | None  # the grid arm's fixed warm-up length; None for adaptive arms
    target_loss: float | None  # f* of adaptive arms; None for grid arms
    config: object  # autowarm.train.RunConfig

    @property
    def run_id(self) -> str:
        """A stable, file-system-safe name: ``<optimizer>__<arm>[-<param>]__s<seed>``."""
        if self.arm == "grid":
            arm = f"grid-w{self.warmup_steps}"
        elif self.arm == "fstar":
            arm = f"fstar-{self.target_loss:g}"
        else:
            arm = self.arm
        return f"{self.optimizer}__{arm}__s{self.seed}"


def grid_schedule(warmup_steps: int, setup: OptimizerSetup, final_div_factor: float) -> str:
    """The grid arm's schedule spec: OneCycle-style half-cosine warm-up, then cosine decay.

    >>> grid_schedule(30, OptimizerSetup(1e-3, 100.0, 1.5), 1e4)
    'warmup_cosine:warmup_steps=30,div_factor=100.0,final_div_factor=10000.0,warmup=cosine'
    """
    return (
        f"warmup_cosine:warmup_steps={warmup_steps},div_factor={float(setup.div_factor)},"
        f"final_div_factor={float(final_div_factor)},warmup=cosine"
    )


def adaptive_schedule(mode: str, setup: OptimizerSetup) -> str:
    """The adaptive arm's schedule spec for ``mode`` (a key of :data:`ADAPTIVE_MODES`).

    >>> adaptive_schedule("adaptive-faithful", OptimizerSetup(1e-3, 100.0, 1.5))
    'adaptive:div_factor=100.0,smoothing=0.0,patience=1,monotone=False,ramp=paper'
    """
    if mode not in ADAPTIVE_MODES:
        raise ValueError(f"unknown adaptive mode {mode!r}; valid: {', '.join(ADAPTIVE_MODES)}")
    kv = {"div_factor": float(setup.div_factor), **ADAPTIVE_MODES[mode]}
    return "adaptive:" + ",".join(f"{k}={v}" for k, v in kv.items())


def calibrated_schedule(probe: str | Path, setup: OptimizerSetup) -> str:
    """The ``adaptive-calibrated`` arm's spec: measured constants from a probe at the arm's f*."""
    from autowarm.diagnostics.calibrate import calibration, schedule_spec

    kwargs = calibration(probe, window="descent", target_loss=setup.target_loss)
    return schedule_spec(kwargs) + f",div_factor={float(setup.div_factor)}"


def plan(
    bench: BenchPreset,
    out: str | Path,
    *,
    optimizers: list[str] | None = None,
    seeds: int | None = None,
    steps: int | None = None,
    quick: bool = False,
    fstar_sweep: bool = False,
    fstar_offsets: list[float] | tuple[float, ...] | None = None,
    warmup_steps: list[int] | None = None,
    adaptive: bool = True,
    adaptive_modes: list[str] | tuple[str, ...] | None = None,
    calibrations: dict[str, str] | None = None,
    threads: int = 1,
) -> list[RunSpec]:
    """All runs of a benchmark, in a deterministic order (seed-major, so early results pair up).

    Args:
        bench: the preset.
        out: the results directory; each run trains in ``out/runs/<run_id>``.
        optimizers: which of the preset's optimizers (default: its default set, or the quick
            subset).
        seeds: seeds per arm (default: the preset's, or its quick count).
        steps: override the run length (the grid's fractions scale with it).
        quick: the preset's small subset (its quick optimizers, grid, seeds and steps).
        fstar_sweep: instead of grid + adaptive, the adaptive default mode over
            ``f* = target_loss + offset`` for each of the preset's ``fstar_offsets`` (one optimizer).
        fstar_offsets: the sweep's offsets instead of the preset's (finite numbers).
        warmup_steps: the grid's warm-up lengths in updates, replacing the preset's fractions
            (an empty list runs no grid arm).
        adaptive: include the adaptive arms (False: the grid only, e.g. a warm-up-free
            optimizer at ``warmup_steps=[0]``).
        adaptive_modes: which keys of :data:`ADAPTIVE_MODES` to run (default
            :data:`DEFAULT_MODES`).
        calibrations: optimizer -> ``probe.json`` path: adds the arm ``adaptive-calibrated``,
            the default adaptive mode with the probe's measured ``(K0, K1, K2)`` (descent
            window, refitted at the preset's f*) instead of the paper's fit.
        threads: torch threads per run.
    """
    from autowarm.train import RunConfig

    names = list(
        optimizers
        or (bench.quick_optimizers if quick else bench.default_optimizers or bench.optimizers)
    )
    unknown = [n for n in names if n not in bench.optimizers]
    if unknown:
        raise ValueError(
            f"optimizer(s) {', '.join(unknown)} have no settings in preset {bench.name!r}; "
            f"valid: {', '.join(bench.optimizers)}"
        )
    if fstar_sweep and len(names) != 1:
        raise ValueError(f"--fstar-sweep studies one optimizer; got {', '.join(names)}")
    offsets = tuple(bench.fstar_offsets if fstar_offsets is None else fstar_offsets)
    if fstar_offsets is not None and not fstar_sweep:
        raise ValueError(
            "fstar_offsets needs fstar_sweep (--fstar-offsets goes with --fstar-sweep)"
        )
    bad_off = [
        o
        for o in offsets
        if isinstance(o, bool) or not isinstance(o, numbers.Real) or not math.isfinite(o)
    ]
    if bad_off or not offsets:
        raise ValueError(f"fstar_offsets must be finite numbers, at least one; got {list(offsets)}")
    offsets = tuple(dict.fromkeys(round(float(o), 6) for o in offsets))  # distinct, in order
    if adaptive_modes is not None and (fstar_sweep or not adaptive):
        raise ValueError(
            "adaptive_modes (--adaptive-modes) does not go with fstar_sweep (which runs the "
            "default mode) or adaptive=False (--no-adaptive)"
        )
    if adaptive_modes is not None and not list(adaptive_modes):
        raise ValueError("adaptive_modes is empty; to run no adaptive arm use adaptive=False")
    total = steps or (bench.quick_steps if quick else None) or bench.steps
    n_seeds = seeds or (bench.quick_seeds if quick else bench.seeds)
    if n_seeds < 1:
        raise ValueError(f"seeds must be >= 1; got {n_seeds!r}")
    if warmup_steps is None:
        grid = bench.grid_steps(total, bench.quick_fracs if quick else None)
    else:
        bad = [w for w in warmup_steps if not isinstance(w, int) or not 0 <= w < total]
        if bad:
            raise ValueError(
                f"warmup_steps must be integers in [0, {total}) (the run length); got {bad}"
            )
        grid = tuple(sorted(set(warmup_steps)))
    modes = tuple(dict.fromkeys(DEFAULT_MODES if adaptive_modes is None else adaptive_modes))
    bad_modes = [m for m in modes if m not in ADAPTIVE_MODES]
    if bad_modes:
        raise ValueError(
            f"unknown adaptive mode(s) {', '.join(map(repr, bad_modes))}; "
            f"valid: {', '.join(ADAPTIVE_MODES)}"
        )
    if not adaptive:
        modes = ()
    if not fstar_sweep and not grid and not modes:
        raise ValueError("nothing to run: an empty grid and no adaptive arms")
    root = Path(out) / "runs"
    specs: list[RunSpec] = []
    for seed in range(n_seeds):
        for name in names:
            setup = bench.optimizers[name]
            arms: list[tuple[str, int | None, float | None, str]] = []
            if fstar_sweep:
                for off in offsets:
                    f = round(setup.target_loss + off, 6)
                    arms.append(("fstar", None, f, adaptive_schedule("adaptive", setup)))
            else:
                for w in grid:
                    arms.append(("grid", w, None, grid_schedule(w, setup, bench.final_div_factor)))
                for mode in modes:
                    arms.append((mode, None, setup.target_loss, adaptive_schedule(mode, setup)))
                if name in (calibrations or {}):
                    spec = calibrated_schedule(calibrations[name], setup)
                    arms.append(("adaptive-calibrated", None, setup.target_loss, spec))
            for arm, w, f, schedule in arms:
                spec = RunSpec(name, arm, seed, w, f, None)
                cfg = RunConfig(
                    model=bench.model,
                    optimizer=name,
                    lr=setup.lr,
                    optimizer_args={"weight_decay": bench.weight_decay, **setup.hparams},
                    schedule=schedule,
                    target_loss=f,
                    steps=total,
                    batch_size=bench.batch_size,
                    grad_clip=bench.grad_clip,
                    seed=seed,
                    eval_every=min(bench.eval_every, total),
                    eval_batches=bench.eval_batches,
                    checkpoint_every=min(bench.checkpoint_every, total),
                    threads=threads,
                    out=str(root / spec.run_id),
                    **_data_kwargs(bench),
                )
                specs.append(RunSpec(name, arm, seed, w, f, cfg))
    return specs


def _data_kwargs(bench: BenchPreset) -> dict:
    if not bench.data:
        return {}
    from autowarm.train import DataConfig

    return {"data": DataConfig(**bench.data)}
