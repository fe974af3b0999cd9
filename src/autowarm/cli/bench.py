"""``autowarm bench``: adaptive warm-up vs a tuned grid of warm-up lengths."""

from __future__ import annotations

import argparse
import shlex
import sys

from autowarm.adaptive.config import MODES
from autowarm.cli.train import add_data_options, data_config_from_args


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``bench`` verb."""
    p = sub.add_parser(
        "bench",
        help="benchmark the adaptive warm-up against a grid of fixed warm-ups",
        description=(
            "For each optimizer, train the same model on the same data with a grid of fixed "
            "warm-up lengths (then cosine decay) and with the loss-adaptive warm-up (paper-faithful "
            "and default modes), over several seeds; write one result file per run into OUT and "
            "render OUT/report.md. Re-running the same command resumes finished and partial runs. "
            "--model and the data options (those of `autowarm train`) replace the preset's model "
            "and data; a results directory holds one workload, so use a new --out for each."
        ),
    )
    p.add_argument("--preset", default="cpu", help="tiny | cpu | gpu-mid | paper-124m | paper-210m")
    p.add_argument(
        "--model", help="model preset replacing the benchmark preset's (e.g. tiny, cpu-large)"
    )
    p.add_argument("--optimizers", help="comma-separated subset (default: the preset's)")
    p.add_argument("--seeds", type=int, help="seeds per arm (default: the preset's)")
    p.add_argument("--steps", type=int, help="updates per run (default: the preset's)")
    p.add_argument("--out", required=True, help="results directory")
    p.add_argument(
        "--quick",
        action="store_true",
        help="the preset's small subset (cpu: AdamW and Lion, 200 updates, 1 seed, three "
        "warm-up lengths against the default adaptive arm)",
    )
    p.add_argument(
        "--fstar-sweep",
        action="store_true",
        help="f* robustness study for one optimizer: the default adaptive mode, or the one mode "
        "--adaptive-modes names, at f* = the preset's f* + each offset",
    )
    p.add_argument(
        "--fstar-offsets",
        help="comma-separated offsets added to the preset's f* (with --fstar-sweep; default: "
        "the preset's); write a list that starts with a minus as --fstar-offsets=-1,0,1",
    )
    p.add_argument(
        "--warmup-steps",
        help="comma-separated warm-up lengths (updates) replacing the preset's grid; '' = none",
    )
    p.add_argument("--no-adaptive", action="store_true", help="run the grid arms only")
    p.add_argument(
        "--adaptive-modes",
        help="comma-separated adaptive arms (default: adaptive-faithful,adaptive-auto; also "
        f"{', '.join(m for m in MODES if m not in ('adaptive-faithful', 'adaptive-auto'))})",
    )
    p.add_argument(
        "--calibration",
        action="append",
        metavar="PROBE.json",
        help="add the arm adaptive-calibrated for the probe's optimizer (repeatable)",
    )
    p.add_argument(
        "--lr-factors",
        help="comma-separated multiples of each optimizer's preset peak LR; every arm runs at "
        "each (default: 1; runs at other factors have lrx<factor> in their run id)",
    )
    p.add_argument(
        "--div-factor",
        help="the warm-up's start, lr / DIV, for the grid and the adaptive arms, replacing the "
        "preset's: one number for every optimizer, or name=DIV pairs (e.g. lion=3,adamw=100)",
    )
    p.add_argument(
        "--baselines",
        help="comma-separated warm-up-free / LR-free optimizers run beside the AdamW arms: "
        "schedulefree-adamw, prodigy, dadapt-adam, radam (needs pip install "
        "'autowarm[baselines]')",
    )
    p.add_argument("--jobs", type=int, help="parallel runs (default: CPU cores)")
    p.add_argument("--threads", type=int, help="torch threads per run (default 1)")
    p.add_argument("--no-progress", action="store_true", help="no progress display")
    # The data options of `autowarm train`; given any, they replace the preset's data.
    add_data_options(p)
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Handler of ``autowarm bench``."""
    from autowarm.bench import run_bench

    for option in ("seeds", "steps", "jobs", "threads"):
        value = getattr(args, option)
        if value is not None and value < 1:
            raise ValueError(
                f"--{option} must be an integer >= 1; got {value} (leave it out for the default)"
            )
    opts = _split(args.optimizers, str.strip, "--optimizers", "names")
    command = "autowarm " + shlex.join(sys.argv[1:]) if sys.argv[1:2] == ["bench"] else ""
    try:
        summary = _run(args, run_bench, opts, command)
    except KeyboardInterrupt as err:
        what = f"{err}; " if str(err) else "interrupted; "
        again = f"`{command}`" if command else "the same command"
        print(f"autowarm bench: {what}re-run {again} to resume", file=sys.stderr, flush=True)
        return 130
    n, bad = len(summary["runs"]), summary["failed"]
    print(
        f"{n - len(bad)}/{n} runs done in {summary['wall_time_s']:.0f} s; report: {summary['report']}"
    )
    if bad:
        print(f"failed runs: {', '.join(bad)}", file=sys.stderr)
        return 1
    return 0


def _run(args: argparse.Namespace, run_bench, opts: list | None, command: str) -> dict:
    return run_bench(
        args.preset,
        args.out,
        optimizers=opts,
        seeds=args.seeds,
        steps=args.steps,
        quick=args.quick,
        fstar_sweep=args.fstar_sweep,
        fstar_offsets=_split(args.fstar_offsets, float, "--fstar-offsets", "numbers"),
        warmup_steps=_split(args.warmup_steps, int, "--warmup-steps", "integers"),
        adaptive=not args.no_adaptive,
        adaptive_modes=_split(args.adaptive_modes, str.strip, "--adaptive-modes", "names"),
        calibrations=_calibrations(args.calibration),
        lr_factors=_split(args.lr_factors, float, "--lr-factors", "numbers"),
        div_factors=_div_factors(args.div_factor),
        baselines=_split(args.baselines, str.strip, "--baselines", "names"),
        model=args.model,
        data=_data(args),
        jobs=args.jobs,
        threads=args.threads or 1,
        progress=not args.no_progress,
        command=command,
    )


def _split(text: str | None, convert, option: str, what: str) -> list | None:
    """A comma-separated option value, each item converted (``None`` when not given)."""
    if text is None:
        return None
    try:
        return [convert(x) for x in text.split(",") if x.strip()]
    except ValueError as err:
        raise ValueError(f"{option} takes comma-separated {what}; got {text!r}") from err


def _div_factors(text: str | None) -> float | dict[str, float] | None:
    """``--div-factor``: one number, or ``name=DIV`` pairs (``None`` when not given)."""
    if text is None:
        return None
    hint = "one number or name=DIV pairs, e.g. 3 or lion=3,adamw=100"
    try:
        if "=" not in text:
            return float(text)
        pairs = [item.split("=") for item in text.split(",") if item.strip()]
        if any(len(p) != 2 for p in pairs):
            raise ValueError(text)
        return {name.strip(): float(div) for name, div in pairs}
    except ValueError as err:
        raise ValueError(f"--div-factor takes {hint}; got {text!r}") from err


def _data(args: argparse.Namespace):
    """The data options as a DataConfig, or ``None`` (the preset's data) when none was given."""
    from autowarm.train import DataConfig

    data = data_config_from_args(args)
    return None if data == DataConfig() else data


def _calibrations(paths: list[str] | None) -> dict[str, str] | None:
    """``--calibration`` files keyed by the optimizer their probe ran."""
    if not paths:
        return None
    from autowarm.diagnostics.calibrate import load_probe

    return {load_probe(p)["optimizer"]: p for p in paths}
