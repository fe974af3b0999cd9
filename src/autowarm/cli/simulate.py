"""``autowarm simulate --losses FILE --target-loss F``: replay the adaptive warm-up on a loss curve."""

from __future__ import annotations

import argparse
import csv
import json
from pathlib import Path


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
    p.add_argument("--target-loss", type=float, required=True, help="f*, below the first loss")
    p.add_argument("--total-steps", type=int, help="run length (default: the curve's length)")
    p.add_argument("--div-factor", type=float, default=100.0)
    p.add_argument("--delta-star", type=float, help="D* directly (else fitted from --kappa)")
    p.add_argument("--kappa", type=float, help="the optimizer's norm constant for the D* fit")
    p.add_argument("--sigma-f", type=float, default=1e-3)
    p.add_argument("--smoothing", type=float, default=0.9, help="EMA factor (0 = raw loss)")
    p.add_argument("--patience", type=int, default=1)
    p.add_argument("--monotone", action="store_true")
    p.add_argument(
        "--ramp",
        choices=("paper", "linear"),
        help="warm-up multiplier between D0 and D*: the paper's closed form or linear in the gap "
        "(default: AdaptiveWarmupSchedule's)",
    )
    p.add_argument("--decay", default="cosine")
    p.add_argument("--final-lr-factor", type=float, default=1e-4)
    p.add_argument("--json", action="store_true", help="print the full trace as JSON")
    p.add_argument("--plot", metavar="FILE.png", help="plot loss and multiplier to this file")
    p.set_defaults(handler=run)


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
    text = file.read_text()
    if file.suffix == ".jsonl":
        rows = [json.loads(line) for line in text.splitlines() if line.strip()]
        losses = [float(r["train_loss"]) for r in rows if "train_loss" in r]
    else:
        rows = list(csv.reader(line for line in text.splitlines() if line.strip()))
        if rows and "loss" in [c.strip() for c in rows[0]]:
            col = [c.strip() for c in rows[0]].index("loss")
            losses = [float(r[col]) for r in rows[1:]]
        else:
            losses = [float(r[-1]) for r in rows]
    if not losses:
        raise ValueError(f"no losses found in {path}")
    return losses


def run(args: argparse.Namespace) -> int:
    """Replay the machine over the curve and print a summary (or JSON)."""
    from autowarm.schedules import AdaptiveWarmupSchedule

    losses = read_losses(args.losses)
    total = args.total_steps or len(losses)
    machine = AdaptiveWarmupSchedule(
        total_steps=total,
        target_loss=args.target_loss,
        div_factor=args.div_factor,
        delta_star=args.delta_star,
        kappa=args.kappa,
        sigma_f=args.sigma_f,
        smoothing=args.smoothing,
        patience=args.patience,
        monotone=args.monotone,
        decay=args.decay,
        final_lr_factor=args.final_lr_factor,
        **({"ramp": args.ramp} if args.ramp else {}),
    )
    out = machine.simulate(losses)
    state = out["state"]
    summary = {
        "steps": len(losses),
        "initial_gap": state["d0"],
        "delta_star": state["delta_star"],
        "peak_loss": None
        if state["delta_star"] is None
        else args.target_loss + state["delta_star"],
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
        _plot(losses, out["multiplier"], summary, args.target_loss, args.plot)
    return 0


def _plot(losses, mults, summary, target, path) -> None:
    from autowarm._plot import pyplot

    plt = pyplot()
    fig, (ax1, ax2) = plt.subplots(2, 1, figsize=(7, 5), dpi=120, sharex=True)
    ax1.plot(losses, lw=1, label="loss")
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
