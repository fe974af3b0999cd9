"""``autowarm simulate --losses FILE --target-loss F|auto``: replay the adaptive warm-up on a curve."""

from __future__ import annotations

import argparse
import csv
import dataclasses
import json
from pathlib import Path

from autowarm.adaptive.config import AdaptiveConfig, parse_spec, parse_target_loss
from autowarm.runlog import read_column

# Options of AdaptiveConfig that simulate sets itself (or that do not apply to a replay).
_OWN_OPTIONS = ("total_steps", "target_loss", "sync_every")


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``simulate`` verb."""
    p = sub.add_parser(
        "simulate",
        help="run the adaptive warm-up over a recorded loss curve",
        description=(
            "Replay the loss-adaptive warm-up over a recorded training-loss curve (one loss per "
            "optimizer update) and report the LR multipliers it would have produced and where "
            "the warm-up ends. The curve's own LR does not change in a replay, so this shows the "
            "scheduler's decisions for that curve, not a new run."
        ),
    )
    p.add_argument(
        "--losses",
        required=True,
        help="CSV (a 'loss' column, or one number a line) or a metrics.jsonl with 'train_loss'",
    )
    p.add_argument(
        "--target-loss",
        type=target_loss_arg,
        required=True,
        help="f*, below the first loss; or 'auto' (the loss's floor, 0; --fstar-rule estimate "
        "estimates it online from the curve)",
    )
    p.add_argument(
        "--total-steps",
        type=int,
        help="run length, at least the curve's length (default: the curve's length)",
    )
    p.add_argument(
        "--shapes",
        help="with --norm: the (m, n) shapes of the optimizer's matrices, e.g. 768x2304,768x768, "
        "whose kappa the D* fit uses",
    )
    for f in dataclasses.fields(AdaptiveConfig):
        if f.name in _OWN_OPTIONS:
            continue
        flag = "--" + f.name.replace("_", "-")
        if f.type == "bool":
            help_ = f"AdaptiveConfig.{f.name} (default {f.default})"
            p.add_argument(flag, action="store_true", default=None, help=help_)
            continue
        hint = " (K0/K1/K2)" if f.name == "k_constants" else ""
        p.add_argument(
            flag,
            metavar=f.name.upper(),
            help=f"AdaptiveConfig.{f.name}{hint} (default {f.default})",
        )
    p.add_argument("--json", action="store_true", help="print the full trace as JSON")
    p.add_argument("--plot", metavar="FILE.png", help="plot loss and multiplier to this file")
    p.set_defaults(handler=run)


def target_loss_arg(text: str) -> float | str:
    """``--target-loss``: a finite number or ``auto`` (an argparse type: bad text is a usage error).

    >>> target_loss_arg("1.25"), target_loss_arg("auto")
    (1.25, 'auto')
    """
    try:
        return parse_target_loss(text)
    except ValueError as err:
        raise argparse.ArgumentTypeError(str(err)) from None


def read_losses(path: str) -> list[float]:
    """Read a loss curve from CSV (``loss`` column or one value a line) or JSON lines.

    >>> import tempfile, os
    >>> f = os.path.join(tempfile.mkdtemp(), "l.csv")
    >>> _ = open(f, "w").write("step,loss\\n0,3.5\\n1,3.25\\n")
    >>> read_losses(f)
    [3.5, 3.25]
    """
    file = Path(path)
    if not file.is_file():
        raise FileNotFoundError(f"loss file not found: {path}")
    if file.suffix == ".jsonl":  # a run's metrics.jsonl: its format belongs to autowarm.runlog
        losses = [float(x) for x in read_column(file, "train_loss")]
    else:
        text = file.read_text()
        rows = list(csv.reader(line for line in text.splitlines() if line.strip()))
        if rows and "loss" in [c.strip() for c in rows[0]]:
            col = [c.strip() for c in rows[0]].index("loss")
            losses = [float(r[col]) for r in rows[1:]]
        else:
            losses = [float(r[-1]) for r in rows]
    if not losses:
        raise ValueError(f"no losses found in {path}")
    return losses


def config_from_args(args: argparse.Namespace, n_losses: int) -> AdaptiveConfig:
    """The adaptive warm-up's configuration from the options (one parser: the spec's)."""
    total = n_losses if args.total_steps is None else args.total_steps
    if total < n_losses:
        raise ValueError(
            f"--total-steps {total} is shorter than the loss curve ({n_losses} losses, one per "
            f"update); pass --total-steps >= {n_losses} or cut the curve to the run's length"
        )
    items = []
    for f in dataclasses.fields(AdaptiveConfig):
        value = getattr(args, f.name, None)
        if f.name not in _OWN_OPTIONS and value is not None:
            items.append(f"{f.name}={value}")
    options = parse_spec("adaptive:" + ",".join(items))
    if args.shapes is not None:
        if options.get("norm") is None:
            raise ValueError("--shapes needs --norm (spectral, sign or frobenius)")
        from autowarm.adaptive.kappa import kappa

        options.setdefault("kappa", kappa(options["norm"], _parse_shapes(args.shapes)))
    config = AdaptiveConfig(total_steps=total, target_loss=args.target_loss, **options)
    if not config.has_delta_star_source:
        raise ValueError(
            "simulate needs where D* comes from: pass --delta-star D (the peak gap in loss "
            "units), --delta-star-frac Q (D* = Q x D0), --kappa K, or --norm NORM --shapes "
            "MxN,... (the optimizer's matrices)"
        )
    return config


def _parse_shapes(text: str) -> list[tuple[int, int]]:
    shapes = []
    for item in filter(None, (t.strip() for t in text.split(","))):
        m, x, n = item.lower().partition("x")
        if not x or not m.isdigit() or not n.isdigit() or int(m) < 1 or int(n) < 1:
            raise ValueError(f"--shapes must be MxN items separated by commas; got {item!r}")
        shapes.append((int(m), int(n)))
    if not shapes:
        raise ValueError("--shapes is empty; pass e.g. 768x2304,768x768")
    return shapes


def run(args: argparse.Namespace) -> int:
    """Replay the machine over the curve and print a summary (or JSON)."""
    from autowarm.adaptive import AdaptiveWarmupSchedule

    losses = read_losses(args.losses)
    machine = AdaptiveWarmupSchedule.from_config(config_from_args(args, len(losses)))
    out = machine.simulate(losses)
    state = out["state"]
    target = machine.target(state)  # the f* in force (at the switch, with --target-loss auto)
    summary = {
        "steps": len(losses),
        "target_loss": target,
        "initial_gap": state["d0"],
        "delta_star": state["delta_star"],
        "peak_loss": None if state["delta_star"] is None else target + state["delta_star"],
        "warmup_end_step": state["warmup_end_step"],
        "nonfinite_losses": state["nonfinite"],
    }
    if args.json:
        print(json.dumps({**summary, "multiplier": out["multiplier"], "gap": out["gap"]}))
    else:
        for key, value in summary.items():
            print(f"{key}: {value}")
        every = max(1, len(losses) // 20)
        print("step\tloss\tmultiplier")
        for k in range(0, len(losses), every):
            print(f"{k}\t{losses[k]:.4f}\t{out['multiplier'][k]:.4g}")
    if args.plot:
        _plot(losses, out["multiplier"], summary, target, args.plot)
    return 0


def _plot(losses, mults, summary, target, path) -> None:
    from autowarm._plot import pyplot

    plt = pyplot()
    fig, (ax1, ax2) = plt.subplots(2, 1, figsize=(7, 5), dpi=120, sharex=True)
    ax1.plot(losses, lw=1, label="loss")
    if target is not None:
        ax1.axhline(target, color="k", lw=0.8, ls=":", label="target f*")
    if summary["peak_loss"] is not None:
        ax1.axhline(summary["peak_loss"], color="C3", lw=0.8, ls="--", label="f* + D*")
    ax1.set_ylabel("training loss")
    ax1.legend(fontsize=8)
    ax2.plot(mults, color="C1", lw=1.2)
    if summary["warmup_end_step"] is not None:
        for ax in (ax1, ax2):
            ax.axvline(summary["warmup_end_step"], color="gray", lw=0.8, ls="--")
    ax2.set_ylabel("LR multiplier")
    ax2.set_xlabel("optimizer update (step)")
    for ax in (ax1, ax2):
        ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
