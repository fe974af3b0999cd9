"""Replay recorded training-loss curves through the online f* estimator (``target_loss="auto"``).

For every run stored in ``benchmarks/results/*/results/*.json`` (one training loss and one LR
multiplier per update), :class:`autowarm.theory.fstar.OnlineFstar` is fed the curve update by
update and its estimate is read at 5, 10, 20 and 50% of the run, against the run's final
validation loss and against the f* the benchmark used. Then the adaptive machine
(:class:`autowarm.schedules.AdaptiveWarmupSchedule` with the run's own adaptive settings, or the
default ``adaptive`` mode for grid runs, ``kappa`` from the optimizer and the ``cpu`` model as in
``autowarm bench``) is replayed over the same curve twice: with the hand-set f* (the run's, or the
preset's for grid runs) and with the auto f* wired in as the integration plan says (while the
warm-up runs, each revision re-derives ``D0 = first smoothed loss - f*`` and ``D*``; at the
switch the estimator is frozen), and the warm-up end steps are compared.

Caveat: this is open loop. The recorded curve was produced by the recorded LR schedule; a run
driven by the auto f* would take other LRs and produce another curve. The estimator is fed the
recorded multipliers (those that produced the curve), so its fits are consistent with the
curve; the end steps show where each f* makes the machine switch on that curve, not what the
resulting run would reach.

    python benchmarks/fstar_replay.py --out benchmarks/results/fstar_replay.json
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import statistics
import time
from pathlib import Path

import numpy as np

from autowarm.schedules import AdaptiveWarmupSchedule, parse_spec
from autowarm.schedules.dstar import fit_delta_star
from autowarm.theory.fstar import OnlineFstar

ROOT = Path(__file__).resolve().parent / "results"
FRACS = (0.05, 0.1, 0.2, 0.5)
DEFAULT_MODE = "adaptive:smoothing=0.9,patience=1,monotone=False,ramp=linear"


def kappa_of(model: str, optimizer: str, hparams: dict, cache: dict) -> float:
    """kappa of ``optimizer`` on ``model`` as ``AdaptiveWarmup`` infers it (torch, built once)."""
    key = (model, optimizer)
    if key not in cache:
        import torch

        from autowarm.lr import AdaptiveWarmup
        from autowarm.optim import build
        from autowarm.train import LLaMA, model_config

        torch.manual_seed(0)
        net = LLaMA(model_config(model))
        opt = build(optimizer, net, lr=1e-3, **hparams)
        cache[key] = float(AdaptiveWarmup(opt, total_steps=10, target_loss=0.0).schedule.kappa)
    return cache[key]


def machine(run: dict, fstar: float, kappa: float) -> AdaptiveWarmupSchedule:
    """The adaptive schedule of ``run`` (its own mode, or the default mode for grid runs)."""
    spec = run["config"]["schedule"]
    _, kw = parse_spec(spec if spec.startswith("adaptive:") else DEFAULT_MODE)
    if "k_constants" in kw:  # calibrated arms: replay the default mode instead
        _, kw = parse_spec(DEFAULT_MODE)
    kw["div_factor"] = float(run["div_factor"])
    return AdaptiveWarmupSchedule(
        total_steps=len(run["train_loss"]), target_loss=fstar, kappa=kappa, **kw
    )


def replay_auto(run: dict, sched: AdaptiveWarmupSchedule) -> tuple[int | None, dict, float]:
    """Replay the machine with the online f* wired in; return the end step, the estimator state
    at the end, and the f* in force at the switch."""
    losses, mults = run["train_loss"], run["lr_multiplier"]
    est = OnlineFstar(len(losses))
    state = sched.init()
    first = None
    for loss, mult in zip(losses, mults):
        est.update(loss, lr=mult)
        if state["phase"] == "warmup" and est.value is not None:
            if first is None and np.isfinite(loss):
                first = float(loss)
            if est.value != sched.target_loss:
                sched = dataclasses.replace(sched, target_loss=est.value)
                if state["d0"] is not None:  # re-derive D0 and D* from the new f*
                    d0 = first - est.value
                    state = dict(state, d0=d0)
                    state["delta_star"] = fit_delta_star(
                        d0, sched.div_factor, sched.kappa, sched.sigma_f
                    )
        state = sched.update(state, loss)
        if state["phase"] == "decay" and not est.frozen:
            est.freeze()
    return state["warmup_end_step"], est.state_dict(), sched.target_loss


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--results", type=Path, default=ROOT, help="folder of bench result folders")
    ap.add_argument("--out", type=Path, default=ROOT / "fstar_replay.json")
    ap.add_argument("--plot", type=Path, default=ROOT / "fstar_replay.png")
    args = ap.parse_args()
    from autowarm.bench.presets import preset as get_preset

    preset = get_preset("cpu")
    kappas: dict = {}
    rows, times = [], []
    for path in sorted(args.results.glob("*/results/*.json")):
        run = json.loads(path.read_text())
        losses, mults = run["train_loss"], run["lr_multiplier"]
        T = len(losses)
        opt = run["optimizer"]
        setup = preset.optimizers[opt]
        run["div_factor"] = setup.div_factor
        hand = run["target_loss"] if run["target_loss"] is not None else setup.target_loss
        est = OnlineFstar(T)
        at = {}
        marks = {max(1, round(f * T)): f for f in FRACS}
        t0 = time.perf_counter()
        for k, (loss, mult) in enumerate(zip(losses, mults), start=1):
            est.update(loss, lr=mult)
            if k in marks:
                at[marks[k]] = est.value
        times.append((time.perf_counter() - t0) / T)
        kappa = kappa_of(run["config"]["model"], opt, run["config"]["optimizer_args"], kappas)
        hand_end = machine(run, hand, kappa).simulate(losses)["state"]["warmup_end_step"]
        auto_end, st, f_switch = replay_auto(run, machine(run, hand, kappa))
        final = run["final_val_loss"]
        rows.append(
            {
                "bench": path.parent.parent.name,
                "run_id": run["run_id"],
                "optimizer": opt,
                "arm": run["arm"],
                "steps": T,
                "first_loss": losses[0],
                "final_val_loss": final,
                "hand_fstar": hand,
                "auto_fstar": {str(f): v for f, v in at.items()},
                "auto_minus_final": {str(f): v - final for f, v in at.items()},
                "auto_fstar_at_switch": f_switch,
                "warmup_end_hand": hand_end,
                "warmup_end_auto": auto_end,
                "fits": st["fits"],
                "rejected": st["rejected"],
                "failed": st["failed"],
            }
        )
    summary = {}
    for opt in sorted({r["optimizer"] for r in rows}):
        rs = [r for r in rows if r["optimizer"] == opt]
        summary[opt] = {
            "runs": len(rs),
            **{
                f"median_auto_minus_final@{f}": statistics.median(
                    r["auto_minus_final"][str(f)] for r in rs
                )
                for f in FRACS
            },
            "median_hand_minus_final": statistics.median(
                r["hand_fstar"] - r["final_val_loss"] for r in rs
            ),
            "median_warmup_end_hand": statistics.median(
                r["warmup_end_hand"] or r["steps"] for r in rs
            ),
            "median_warmup_end_auto": statistics.median(
                r["warmup_end_auto"] or r["steps"] for r in rs
            ),
            "never_ended_hand": sum(r["warmup_end_hand"] is None for r in rs),
            "never_ended_auto": sum(r["warmup_end_auto"] is None for r in rs),
            "auto_fstar_at_switch_is_provisional": sum(
                abs(r["auto_fstar_at_switch"] - 0.4 * r["first_loss"]) < 1e-12 for r in rs
            ),
        }
    out = {
        "command": "python benchmarks/fstar_replay.py --out benchmarks/results/fstar_replay.json",
        "caveat": "open loop: recorded curves replayed; a run driven by the auto f* would differ",
        "estimator_defaults": dataclasses.asdict(_Defaults()),
        "us_per_update_mean": 1e6 * statistics.mean(times),
        "us_per_update_max_run": 1e6 * max(times),
        "summary": summary,
        "runs": rows,
    }
    args.out.write_text(json.dumps(out, indent=1) + "\n")
    plot(rows, args.plot)
    print(f"{len(rows)} runs, {out['us_per_update_mean']:.0f} us/update (mean)")
    for opt, s in summary.items():
        vals = " ".join(f"{f:.0%}:{s[f'median_auto_minus_final@{f}']:+.2f}" for f in FRACS)
        print(f"{opt:8s} runs {s['runs']:3d}  median auto f* - final val  {vals}")
        print(
            f"{'':8s} warm-up end (median; never ended): hand {s['median_warmup_end_hand']:g} "
            f"({s['never_ended_hand']}), auto {s['median_warmup_end_auto']:g} "
            f"({s['never_ended_auto']}); auto f* at the switch = 0.4 L1 in "
            f"{s['auto_fstar_at_switch_is_provisional']} runs"
        )


@dataclasses.dataclass
class _Defaults:
    """The estimator's default options (recorded with the results)."""

    margin: float = 0.3
    provisional_frac: float = 0.4
    fit_start_frac: float = 0.05
    window_frac: float = 0.5
    future_lr: float = 0.5


def plot(rows: list[dict], path: Path) -> None:
    from autowarm._plot import pyplot

    plt = pyplot()
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4.2))
    colors = {"adamw": "C0", "lion": "C1", "muon": "C2", "normsgd": "C3", "lionar": "C4"}
    for opt, c in colors.items():
        rs = [r for r in rows if r["optimizer"] == opt]
        if not rs:
            continue
        for r in rs:
            ax1.plot(FRACS, [r["auto_minus_final"][str(f)] for f in FRACS], color=c, alpha=0.15)
        med = [statistics.median(r["auto_minus_final"][str(f)] for r in rs) for f in FRACS]
        ax1.plot(FRACS, med, color=c, lw=2.5, marker="o", label=f"{opt} (median of {len(rs)})")
        hand = [r["warmup_end_hand"] or r["steps"] for r in rs]
        auto = [r["warmup_end_auto"] or r["steps"] for r in rs]
        ax2.scatter(hand, auto, color=c, s=14, label=opt)
    ax1.axhspan(0.0, 0.8, color="0.85", label="flat region of the f* sweep")
    ax1.set_xscale("log")
    ax1.minorticks_off()
    ax1.set_xticks(FRACS, [f"{f:.0%}" for f in FRACS])
    ax1.set_xlabel("fraction of the run seen")
    ax1.set_ylabel("auto f* - final val loss (nats)")
    ax1.set_ylim(-1.0, 2.0)
    ax1.legend(fontsize=7)
    lim = max(r["steps"] for r in rows)
    ax2.plot([0, lim], [0, lim], color="0.5", lw=0.8)
    ax2.set_xlabel("warm-up end, hand-set f* (never = run length)")
    ax2.set_ylabel("warm-up end, auto f*")
    ax2.legend(fontsize=7)
    fig.suptitle("online f* on recorded curves (open-loop replay)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


if __name__ == "__main__":
    main()
