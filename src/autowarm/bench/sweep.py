"""Expand a benchmark preset into the list of runs: optimizers x LRs x arms x seeds.

Two steps: :meth:`SweepOptions.resolve` checks the options once against the preset and resolves
their defaults; :func:`expand` turns them into runs, one function per kind of arm (grid,
adaptive, calibrated, f* sweep). :func:`plan` does both.

Each run is a :class:`RunSpec` with a stable ``run_id`` (the key of the result store) and the
:class:`autowarm.train.RunConfig` the harness trains. Runs of one optimizer at one peak LR share
everything but the schedule; seed ``s`` fixes the initialisation and the data order in every
arm, so arms are paired by seed.
"""

from __future__ import annotations

import dataclasses
import math
import numbers
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from autowarm.adaptive import MODES
from autowarm.bench.presets import BenchPreset, OptimizerSetup

# The adaptive modes (name -> the AdaptiveConfig fields each sets, spelled out in full so a stored
# result names its exact schedule) are defined with the configuration: autowarm.adaptive.MODES.
ADAPTIVE_MODES: dict[str, dict[str, object]] = MODES
# The adaptive arms run unless told otherwise: the paper's rules, and autowarm's defaults with
# target_loss="auto" (no input but the peak LR, div_factor and the run's length).
DEFAULT_MODES = ("adaptive-faithful", "adaptive-auto")
# The mode an f* sweep runs unless told otherwise (--fstar-sweep --adaptive-modes M).
FSTAR_MODE = "adaptive"


# Warm-up-free and learning-rate-free baselines (``--baselines``), compared with the AdamW arms:
# same model, data, batch, budget, clip and seeds; their own optimizer's hyperparameters (the
# registry's, i.e. their authors' recommendations). name -> (schedule kind, has an LR axis):
# "cosine" is the grid's decay without warm-up, "constant" is Schedule-Free's (it replaces the
# decay by averaging; its own warm-up is its ``warmup_steps`` argument, set from the run length).
BASELINES: dict[str, tuple[str, bool]] = {
    "schedulefree-adamw": ("constant", True),  # over the LR axis, from AdamW's LR
    "prodigy": ("cosine", False),  # LR-free: lr 1.0, once per seed
    "dadapt-adam": ("cosine", False),  # LR-free: lr 1.0, once per seed
    "radam": ("cosine", True),  # AdamW's LR (and the LR axis), no warm-up
}
BASELINE_REFERENCE = "adamw"  # the preset optimizer whose LR, table and seeds the baselines share


@dataclass(frozen=True)
class RunSpec:
    """One benchmark run: which optimizer, which arm, which seed, and its training config."""

    optimizer: str  # the preset optimizer whose table the run is in (a baseline: "adamw")
    arm: str  # "grid", an adaptive mode, "adaptive-calibrated", "fstar" or a baseline name
    seed: int  # fixes init and data order
    warmup_steps: int | None  # the grid arm's fixed warm-up length; None for adaptive arms
    target_loss: float | None  # f* of adaptive arms; None for grid arms
    config: object  # autowarm.train.RunConfig
    lr_factor: float = 1.0  # peak LR as a multiple of the preset's LR for the optimizer
    fstar_mode: str = FSTAR_MODE  # the adaptive mode an "fstar" arm runs with f* set

    @property
    def run_id(self) -> str:
        """A stable, file-system-safe name: ``<optimizer>__<arm>[-<param>][-lrx<f>]__s<seed>``.

        The LR factor appears only when it is not 1, so runs at the preset's LR keep the ids
        they had before the LR axis existed; likewise an f* sweep names its mode only when it is
        not the default one.

        >>> RunSpec("adamw", "grid", 0, 30, None, None, lr_factor=2.0).run_id
        'adamw__grid-w30-lrx2__s0'
        >>> RunSpec("adamw", "fstar", 1, None, 0.5, None, fstar_mode="adaptive-zero-spike").run_id
        'adamw__fstar-0.5-adaptive-zero-spike__s1'
        """
        if self.arm == "grid":
            arm = f"grid-w{self.warmup_steps}"
        elif self.arm == "fstar":
            arm = f"fstar-{self.target_loss:g}"
            if self.fstar_mode != FSTAR_MODE:
                arm += f"-{self.fstar_mode}"
        else:
            arm = self.arm
        if self.lr_factor != 1.0:
            arm += f"-lrx{self.lr_factor:g}"
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
    'adaptive:div_factor=100.0,smoothing=0.0,patience=1,monotone=False,ramp=paper,warmup_max_frac=None,max_growth=None,spike_rule=outlier'
    """
    if mode not in ADAPTIVE_MODES:
        raise ValueError(f"unknown adaptive mode {mode!r}; valid: {', '.join(ADAPTIVE_MODES)}")
    return _adaptive_spec(setup, ADAPTIVE_MODES[mode])


def _adaptive_spec(setup: OptimizerSetup, fields: dict[str, object]) -> str:
    kv = {"div_factor": float(setup.div_factor), **fields}
    return "adaptive:" + ",".join(f"{k}={v}" for k, v in kv.items())


def calibrated_schedule(probe: str | Path, setup: OptimizerSetup) -> str:
    """The ``adaptive-calibrated`` arm's spec: measured constants from a probe at the arm's f*."""
    from autowarm.diagnostics.calibrate import calibration, schedule_spec

    kwargs = calibration(probe, window="descent", target_loss=setup.target_loss)
    return schedule_spec(kwargs) + f",div_factor={float(setup.div_factor)}"


@dataclass(frozen=True)
class SweepOptions:
    """What a benchmark runs, checked once against its preset (build it with :meth:`resolve`).

    >>> from autowarm.bench.presets import preset
    >>> opts = SweepOptions.resolve(preset("tiny"), optimizers=["adamw"], lr_factors=[1, 2])
    >>> opts.seeds, opts.steps, opts.grid, opts.modes, opts.lr_factors
    (1, 12, (0, 3), ('adaptive-faithful', 'adaptive-auto'), (1.0, 2.0))
    """

    optimizers: tuple[str, ...]  # the preset's optimizer names to run
    seeds: int  # seeds per arm
    steps: int  # updates per run
    grid: tuple[int, ...]  # the grid's warm-up lengths in updates (distinct, sorted)
    modes: tuple[str, ...]  # adaptive modes (keys of ADAPTIVE_MODES); empty = none
    fstar_offsets: tuple[float, ...] = ()  # an f* sweep's offsets; empty = no sweep
    fstar_mode: str = FSTAR_MODE  # the adaptive mode an f* sweep runs with each f*
    calibrations: tuple[tuple[str, str], ...] = ()  # (optimizer, probe.json) pairs
    lr_factors: tuple[float, ...] = (1.0,)  # peak LRs as multiples of each optimizer's LR
    baselines: tuple[str, ...] = ()  # keys of BASELINES, run beside the AdamW arms
    threads: int = 1  # torch threads per run
    model: str = "cpu"  # model preset of every run
    data: object = None  # autowarm.train.DataConfig of every run; None = the default corpus
    # (optimizer, div_factor) pairs replacing the preset's warm-up start lr / div_factor
    div_factors: tuple[tuple[str, float], ...] = ()

    @property
    def fstar_sweep(self) -> bool:
        """True when the options ask for an f* sweep instead of grid + adaptive arms."""
        return bool(self.fstar_offsets)

    @classmethod
    def resolve(
        cls,
        bench: BenchPreset,
        *,
        optimizers: Sequence[str] | None = None,
        seeds: int | None = None,
        steps: int | None = None,
        quick: bool = False,
        fstar_sweep: bool = False,
        fstar_offsets: Sequence[float] | None = None,
        warmup_steps: Sequence[int] | None = None,
        adaptive: bool = True,
        adaptive_modes: Sequence[str] | None = None,
        calibrations: dict[str, str] | None = None,
        lr_factors: Sequence[float] | None = None,
        baselines: Sequence[str] | None = None,
        threads: int = 1,
        model: str | None = None,
        data: object = None,
        div_factors: float | dict[str, float] | None = None,
    ) -> SweepOptions:
        """Check the options of :func:`plan` against ``bench`` and fill in its defaults.

        Raises ``ValueError`` naming the option, the value and what would be valid.
        """
        for name, value in (("seeds", seeds), ("steps", steps), ("threads", threads)):
            if value is not None and not _is_count(value):
                raise ValueError(f"{name} must be an integer >= 1; got {value!r}")
        names = _optimizers(bench, optimizers, quick)
        if fstar_sweep and len(names) != 1:
            raise ValueError(f"--fstar-sweep studies one optimizer; got {', '.join(names)}")
        offsets = _fstar_offsets(bench, fstar_sweep, fstar_offsets)
        total = steps or (bench.quick_steps if quick else None) or bench.steps
        grid = _grid(bench, warmup_steps, total, quick)
        fstar_mode = _fstar_mode(adaptive_modes, fstar_sweep)
        default = (quick and bench.quick_modes) or DEFAULT_MODES
        modes = _modes(adaptive, None if fstar_sweep else adaptive_modes, fstar_sweep, default)
        extra = _baselines(bench, baselines, fstar_sweep, names)
        if not fstar_sweep and not grid and not modes and not extra:
            raise ValueError("nothing to run: an empty grid and no adaptive arms")
        return cls(
            optimizers=names,
            seeds=seeds or (bench.quick_seeds if quick else bench.seeds),
            steps=total,
            grid=grid,
            modes=modes,
            fstar_offsets=offsets if fstar_sweep else (),
            fstar_mode=fstar_mode,
            calibrations=tuple(sorted((calibrations or {}).items())),
            lr_factors=_lr_factors(lr_factors),
            baselines=extra,
            threads=threads,
            model=_model(bench, model),
            data=_data(bench, data),
            div_factors=_div_factors(names, div_factors),
        )

    def setup(self, bench: BenchPreset, name: str) -> OptimizerSetup:
        """The preset's setup of optimizer ``name``, with its ``div_factor`` replaced if asked."""
        setup = bench.optimizers[name]
        div = dict(self.div_factors).get(name)
        return setup if div is None else dataclasses.replace(setup, div_factor=div)


def _is_count(value: object) -> bool:
    return not isinstance(value, bool) and isinstance(value, int) and value >= 1


def _optimizers(bench: BenchPreset, optimizers, quick: bool) -> tuple[str, ...]:
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
    return tuple(dict.fromkeys(names))


def _finite_numbers(values) -> bool:
    return all(
        not isinstance(v, bool) and isinstance(v, numbers.Real) and math.isfinite(v) for v in values
    )


def _fstar_offsets(bench: BenchPreset, fstar_sweep: bool, fstar_offsets) -> tuple[float, ...]:
    if fstar_offsets is not None and not fstar_sweep:
        raise ValueError(
            "fstar_offsets needs fstar_sweep (--fstar-offsets goes with --fstar-sweep)"
        )
    offsets = tuple(bench.fstar_offsets if fstar_offsets is None else fstar_offsets)
    if not offsets or not _finite_numbers(offsets):
        raise ValueError(f"fstar_offsets must be finite numbers, at least one; got {list(offsets)}")
    return tuple(dict.fromkeys(round(float(o), 6) for o in offsets))  # distinct, in order


def _grid(bench: BenchPreset, warmup_steps, total: int, quick: bool) -> tuple[int, ...]:
    if warmup_steps is None:
        return bench.grid_steps(total, bench.quick_fracs if quick else None)
    bad = [w for w in warmup_steps if isinstance(w, bool) or not isinstance(w, int)]
    bad += [w for w in warmup_steps if w not in bad and not 0 <= w < total]
    if bad:
        raise ValueError(
            f"warmup_steps must be integers in [0, {total}) (the run length); got {bad}"
        )
    return tuple(sorted(set(warmup_steps)))


def _fstar_mode(adaptive_modes, fstar_sweep: bool) -> str:
    """The mode an f* sweep runs: the one adaptive mode named, else :data:`FSTAR_MODE`."""
    if not fstar_sweep or adaptive_modes is None:
        return FSTAR_MODE
    modes = list(dict.fromkeys(adaptive_modes))
    if len(modes) != 1 or modes[0] not in ADAPTIVE_MODES:
        raise ValueError(
            f"an f* sweep runs one adaptive mode (--adaptive-modes M); got {modes}; "
            f"valid: {', '.join(ADAPTIVE_MODES)}"
        )
    if ADAPTIVE_MODES[modes[0]].get("ramp") == "progress":
        raise ValueError(
            f"mode {modes[0]!r} has the closed-loop ramp, which uses no f*: there is nothing "
            "to sweep; pick a mode with a gap ramp"
        )
    return modes[0]


def _modes(adaptive: bool, adaptive_modes, fstar_sweep: bool, default) -> tuple[str, ...]:
    if adaptive_modes is not None and not adaptive:
        raise ValueError(
            "adaptive_modes (--adaptive-modes) does not go with adaptive=False (--no-adaptive)"
        )
    if adaptive_modes is not None and not list(adaptive_modes):
        raise ValueError("adaptive_modes is empty; to run no adaptive arm use adaptive=False")
    modes = tuple(dict.fromkeys(default if adaptive_modes is None else adaptive_modes))
    bad_modes = [m for m in modes if m not in ADAPTIVE_MODES]
    if bad_modes:
        raise ValueError(
            f"unknown adaptive mode(s) {', '.join(map(repr, bad_modes))}; "
            f"valid: {', '.join(ADAPTIVE_MODES)}"
        )
    return modes if adaptive and not fstar_sweep else ()


def _baselines(bench: BenchPreset, baselines, fstar_sweep: bool, optimizers) -> tuple[str, ...]:
    if baselines is None:
        return ()
    names = tuple(dict.fromkeys(baselines))
    bad = [b for b in names if b not in BASELINES]
    if bad:
        raise ValueError(
            f"unknown baseline(s) {', '.join(map(repr, bad))}; valid: {', '.join(BASELINES)}"
        )
    if names and fstar_sweep:
        raise ValueError("baselines (--baselines) do not go with fstar_sweep")
    if names and BASELINE_REFERENCE not in optimizers:
        raise ValueError(
            f"baselines are compared with the {BASELINE_REFERENCE} arms: add "
            f"{BASELINE_REFERENCE} to optimizers (with --warmup-steps '' --no-adaptive to add "
            f"baselines alone to a directory that holds them)"
        )
    if names and BASELINE_REFERENCE not in bench.optimizers:
        raise ValueError(
            f"baselines run at the {BASELINE_REFERENCE} settings of the preset, and preset "
            f"{bench.name!r} has none; use a preset with {BASELINE_REFERENCE}"
        )
    from autowarm._extras import MissingExtraError
    from autowarm.optim import spec

    for name in names:  # a missing package fails here, before any run starts
        try:
            spec(name).optimizer_class()
        except MissingExtraError:
            raise
        except ImportError as err:
            raise MissingExtraError(f"baseline {name!r}: {err}") from None
    return names


def _lr_factors(lr_factors) -> tuple[float, ...]:
    factors = (1.0,) if lr_factors is None else tuple(lr_factors)
    if not factors or not _finite_numbers(factors) or any(f <= 0 for f in factors):
        raise ValueError(
            f"lr_factors must be finite numbers > 0, at least one; got {list(factors)}"
        )
    return tuple(dict.fromkeys(round(float(f), 6) for f in factors))


def _div_factors(names: tuple[str, ...], div_factors) -> tuple[tuple[str, float], ...]:
    if div_factors is None:
        return ()
    if not isinstance(div_factors, dict):  # one number for every optimizer run
        div_factors = dict.fromkeys(names, div_factors)
    for name, div in div_factors.items():
        if name not in names:
            raise ValueError(
                f"div_factor given for {name!r}, which this benchmark does not run; "
                f"its optimizers: {', '.join(names)}"
            )
        if not _finite_numbers([div]) or div < 1:  # bools are not numbers here
            raise ValueError(
                f"div_factor of {name} must be a finite number >= 1 (the warm-up starts at "
                f"lr / div_factor); got {div!r}"
            )
    return tuple(sorted((name, float(div)) for name, div in div_factors.items()))


def _model(bench: BenchPreset, model: str | None) -> str:
    if model is None:
        return bench.model
    from autowarm.train.model import model_config

    model_config(model)  # raises ValueError naming the valid presets
    return model


def _data(bench: BenchPreset, data: object):
    from autowarm.train import DataConfig

    if data is None:
        return DataConfig(**bench.data) if bench.data else None
    if not isinstance(data, DataConfig):
        raise TypeError(f"data must be an autowarm.train.DataConfig; got {type(data).__name__}")
    return data


def plan(bench: BenchPreset, out: str | Path, **options) -> list[RunSpec]:
    """All runs of a benchmark, in a deterministic order (seed-major, so early results pair up).

    Args:
        bench: the preset.
        out: the results directory; each run trains in ``out/runs/<run_id>``.
        options: the keyword arguments of :meth:`SweepOptions.resolve`:

            - ``optimizers``: which of the preset's optimizers (default: its default set, or
              the quick subset);
            - ``seeds``: seeds per arm (default: the preset's, or its quick count);
            - ``steps``: override the run length (the grid's fractions scale with it);
            - ``quick``: the preset's small subset (its quick optimizers, grid, seeds, steps and
              adaptive arms, each replaced by the option given here);
            - ``fstar_sweep``: instead of grid + adaptive, the adaptive default mode over
              ``f* = target_loss + offset`` for each of the preset's ``fstar_offsets`` (one
              optimizer); ``fstar_offsets``: the sweep's offsets instead (finite numbers);
              with ``adaptive_modes`` (one mode) the sweep runs that mode, its own f* replaced
              by each swept value (not a closed-loop mode: it uses no f*);
            - ``warmup_steps``: the grid's warm-up lengths in updates, replacing the preset's
              fractions (an empty list runs no grid arm);
            - ``adaptive``: include the adaptive arms (False: the grid only);
            - ``adaptive_modes``: which keys of :data:`ADAPTIVE_MODES` to run (default
              :data:`DEFAULT_MODES`);
            - ``calibrations``: optimizer -> ``probe.json`` path: adds the arm
              ``adaptive-calibrated``, the default adaptive mode with the probe's measured
              ``(K0, K1, K2)`` (descent window, refitted at the preset's f*);
            - ``lr_factors``: run every arm at each of these multiples of the optimizer's
              preset LR (default ``(1,)``: the preset's LR, run ids without a factor);
            - ``baselines``: keys of :data:`BASELINES`, each run beside the AdamW arms (in
              AdamW's table, run id ``adamw__<baseline>[-lrx<f>]__s<seed>``) with its own
              optimizer at the registry's hyperparameters: an LR-free one at lr 1.0 once per
              seed, the others at AdamW's LR times each factor;
            - ``threads``: torch threads per run;
            - ``model``: a model preset replacing the benchmark preset's;
            - ``data``: an :class:`autowarm.train.DataConfig` replacing the preset's data;
            - ``div_factors``: optimizer -> ``div_factor`` replacing the preset's, or one number
              for every optimizer run (the warm-up of the grid and the adaptive arms starts at
              ``lr / div_factor``; a number >= 1).
    """
    return expand(bench, SweepOptions.resolve(bench, **options), out)


def expand(bench: BenchPreset, opts: SweepOptions, out: str | Path) -> list[RunSpec]:
    """The runs of resolved options: per seed, per optimizer, per LR factor, every arm."""
    root = Path(out) / "runs"
    calibrations = dict(opts.calibrations)
    specs: list[RunSpec] = []
    for seed in range(opts.seeds):
        for name in opts.optimizers:
            setup = opts.setup(bench, name)
            for factor in opts.lr_factors:
                if opts.fstar_sweep:
                    arms = _fstar_arms(setup, opts.fstar_offsets, opts.fstar_mode)
                else:
                    arms = _grid_arms(bench, setup, opts.grid) + _adaptive_arms(setup, opts.modes)
                    if name in calibrations:
                        arms += _calibrated_arms(setup, calibrations[name])
                for arm, w, f, schedule in arms:
                    spec = RunSpec(name, arm, seed, w, f, None, factor, opts.fstar_mode)
                    cfg = _run_config(bench, opts, name, setup, factor, schedule, f, seed)
                    cfg = cfg.replace(out=str(root / spec.run_id))
                    specs.append(dataclasses.replace(spec, config=cfg))
        specs += _baseline_runs(bench, opts, seed, root)
    return specs


def _baseline_runs(bench: BenchPreset, opts: SweepOptions, seed: int, root: Path) -> list[RunSpec]:
    """One seed's baseline runs: an LR-free baseline once (lr 1.0), the others at every factor."""
    if not opts.baselines:
        return []
    from autowarm.optim import run_hyperparameters

    ref = opts.setup(bench, BASELINE_REFERENCE)
    out = []
    for name in opts.baselines:
        kind, has_lr = BASELINES[name]
        schedule = (
            "constant" if kind == "constant" else grid_schedule(0, ref, bench.final_div_factor)
        )
        for factor in opts.lr_factors if has_lr else (1.0,):
            spec = RunSpec(BASELINE_REFERENCE, name, seed, None, None, None, lr_factor=factor)
            cfg = _run_config(bench, opts, name, ref, factor, schedule, None, seed)
            cfg = cfg.replace(
                lr=ref.lr * factor if has_lr else 1.0,
                optimizer_args=run_hyperparameters(name, opts.steps),
                out=str(root / spec.run_id),
            )
            out.append(RunSpec(BASELINE_REFERENCE, name, seed, None, None, cfg, lr_factor=factor))
    return out


# An arm of one optimizer at one LR: (arm name, grid warm-up steps, f*, schedule spec).
_Arm = tuple


def _grid_arms(bench: BenchPreset, setup: OptimizerSetup, grid) -> list[_Arm]:
    return [("grid", w, None, grid_schedule(w, setup, bench.final_div_factor)) for w in grid]


def _adaptive_arms(setup: OptimizerSetup, modes) -> list[_Arm]:
    # A mode that sets its own f* ("adaptive-auto": the floor) does not use the preset's.
    return [
        (m, None, None if "target_loss" in ADAPTIVE_MODES[m] else setup.target_loss,
         adaptive_schedule(m, setup))
        for m in modes
    ]  # fmt: skip


def _calibrated_arms(setup: OptimizerSetup, probe: str) -> list[_Arm]:
    spec = calibrated_schedule(probe, setup)
    return [("adaptive-calibrated", None, setup.target_loss, spec)]


def _fstar_arms(setup: OptimizerSetup, offsets, mode: str = FSTAR_MODE) -> list[_Arm]:
    # The mode's spec without its own f* (a target_loss key of the spec would override the
    # swept one): "adaptive-zero-spike" swept is the same schedule with f* = each value.
    fields = {k: v for k, v in ADAPTIVE_MODES[mode].items() if k != "target_loss"}
    schedule = _adaptive_spec(setup, fields)
    return [("fstar", None, round(setup.target_loss + off, 6), schedule) for off in offsets]


def _run_config(bench, opts: SweepOptions, name: str, setup: OptimizerSetup, factor: float,
                schedule: str, target_loss: float | None, seed: int):  # fmt: skip
    """The training config of one run (``out`` is set by the caller)."""
    from autowarm.train import RunConfig

    return RunConfig(
        model=opts.model,
        optimizer=name,
        lr=setup.lr * factor,
        optimizer_args={"weight_decay": bench.weight_decay, **setup.hparams},
        schedule=schedule,
        target_loss=target_loss,
        steps=opts.steps,
        batch_size=bench.batch_size,
        grad_clip=bench.grad_clip,
        seed=seed,
        eval_every=min(bench.eval_every, opts.steps),
        eval_batches=bench.eval_batches,
        checkpoint_every=min(bench.checkpoint_every, opts.steps),
        threads=opts.threads,
        **({"data": opts.data} if opts.data is not None else {}),
    )
