"""``autowarm plan transfer | extend | refine | predict``: act on schedule theory before training.

- ``transfer``: move a tuned LR to another schedule or horizon with the convex bound.
- ``extend``: continue a finished WSD run to a longer horizon (hold, x rho, cool down).
- ``refine``: the refined schedule from a previous run's gradient norms.
- ``predict``: fit a loss-curve law to recorded runs and predict another schedule's loss curve.

The maths lives in :mod:`autowarm.theory` (pure numpy), the file readers in
:mod:`autowarm.theory.io` and the plots in :mod:`autowarm.theory.plots`; this module parses the
command line, calls them and prints tables or JSON.
"""

from __future__ import annotations

import argparse
import csv
import json
import math

import numpy as np


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``plan`` verb and its four sub-verbs."""
    p = sub.add_parser(
        "plan",
        help="plan LRs and schedules from theory (transfer, extend, refine, predict)",
        description=(
            "Schedule theory you can act on: transfer a tuned LR across schedules and horizons, "
            "extend a finished WSD run, refine a schedule from gradient norms, predict loss "
            "curves. Schedules are specs as in 'autowarm schedule' (e.g. wsd:cooldown_frac=0.2)."
        ),
    )
    p.set_defaults(handler=lambda args: _usage(p))
    verbs = p.add_subparsers(dest="plan_command", metavar="SUBCOMMAND")

    t = verbs.add_parser(
        "transfer",
        help="transfer a tuned LR to other schedules / horizons",
        description=(
            "gamma_B = gamma_A * gamma*(B) / gamma*(A), with gamma* the base LR minimising the "
            "convex last-iterate bound (D = G = 1) of each schedule (Schaipp et al. 2025, "
            "arXiv 2501.18965)."
        ),
    )
    t.add_argument("--from", dest="source", required=True, metavar="SPEC", help="tuned schedule")
    t.add_argument(
        "--to", action="append", required=True, metavar="SPEC", help="target (repeatable)"
    )
    t.add_argument("--lr", type=float, required=True, help="the tuned base LR of --from")
    t.add_argument("--steps", type=int, required=True, help="optimizer updates of --from")
    t.add_argument("--to-steps", type=int, help="updates of the targets (default --steps)")
    _common(t, warmup=True)
    t.set_defaults(handler=run_transfer)

    e = verbs.add_parser(
        "extend",
        help="continue a finished WSD run to a longer horizon",
        description=(
            "Two-stage WSD continuation: keep the LR until the old cooldown began, multiply it "
            "by rho until the new cooldown, then cool down linearly over the last "
            "cooldown_frac of the new run; rho keeps the bound-optimal LR (Schaipp et al. 2025)."
        ),
    )
    e.add_argument("--lr", type=float, required=True, help="base LR of the finished run")
    e.add_argument("--steps", type=int, required=True, help="updates of the finished run (T1)")
    e.add_argument("--to-steps", type=int, required=True, help="updates of the new run (T2)")
    e.add_argument("--cooldown-frac", type=float, default=0.2, help="c (default 0.2)")
    e.add_argument("--out", metavar="FILE.csv", help="write step,multiplier of the new schedule")
    _common(e, warmup=True)
    e.set_defaults(handler=run_extend)

    r = verbs.add_parser(
        "refine",
        help="refined schedule from recorded gradient norms",
        description=(
            "eta_t ~ w_t * sum_{p>t} w_p with w = G^-2 (l2 norms, SGD-like) or G^-1 (l1 norms, "
            "Adam-like), after a median filter over a fraction tau of the run (Defazio et al. "
            "2023, arXiv 2310.07831). Re-tune the base LR for the refined schedule."
        ),
    )
    r.add_argument(
        "--grad-norms",
        required=True,
        metavar="FILE",
        help="one norm a line, a CSV with a grad_norm column, a metrics.jsonl or a .npy",
    )
    r.add_argument("--column", default="grad_norm", help="CSV column / JSON key of the norms")
    r.add_argument("--steps", type=int, help="updates of the new run (default: as recorded)")
    r.add_argument("--tau", type=float, default=0.1, help="median-filter window fraction")
    r.add_argument("--norm", choices=("l2", "l1"), default="l2", help="l2 (SGD) or l1 (Adam)")
    r.add_argument("--out", metavar="FILE.csv", help="write step,multiplier of the schedule")
    _common(r)
    r.set_defaults(handler=run_refine)

    q = verbs.add_parser(
        "predict",
        help="fit a loss-curve law and predict another schedule's loss",
        description=(
            "Fit the multi-power law (Luo et al. 2025) or the annealing law (Tissue et al. "
            "2024) to recorded runs (CSV with step,lr,loss columns - step = updates done, loss "
            "measured after them, empty where not measured - or a metrics.jsonl), then "
            "predict the loss curve of --schedule (or of the run in --target)."
        ),
    )
    q.add_argument("--fit", nargs="+", required=True, metavar="FILE", help="recorded runs")
    q.add_argument("--law", default="multi-power", help="multi-power (mpl) or annealing (tissue)")
    q.add_argument("--schedule", metavar="SPEC", help="schedule to predict")
    q.add_argument("--lr", type=float, help="its base LR")
    q.add_argument("--steps", type=int, help="its optimizer updates")
    q.add_argument("--target", metavar="FILE", help="predict this recorded run instead")
    q.add_argument("--loss-key", default="val_loss", help="metrics.jsonl loss key")
    q.add_argument("--huber", type=float, help="Huber threshold for a robust fit (e.g. 1e-3)")
    q.add_argument("--decay", type=float, default=0.999, help="annealing-law momentum lambda")
    _common(q, warmup=True)
    q.set_defaults(handler=run_predict)


def _common(p: argparse.ArgumentParser, *, warmup: bool = False) -> None:
    if warmup:
        p.add_argument(
            "--warmup-steps",
            type=int,
            default=0,
            help="warm-up of every schedule whose spec does not set it (default 0)",
        )
    p.add_argument("--json", action="store_true", help="print machine-readable JSON")
    p.add_argument("--plot", metavar="FILE.png", help="also plot to this file")


def _usage(p: argparse.ArgumentParser) -> int:
    p.print_help()
    return 2


def multipliers(spec: str, steps: int, warmup_steps: int = 0) -> np.ndarray:
    """Sample a schedule spec for ``steps`` updates (``warmup_steps`` fills in a missing warm-up)."""
    from autowarm.schedules import build, parse_spec, sample
    from autowarm.schedules.registry import parameters

    if steps is None or steps < 1:
        raise ValueError(f"the number of steps must be an integer >= 1; got {steps!r}")
    name, kwargs = parse_spec(spec)
    if "warmup_steps" in parameters(name):
        kwargs.setdefault("warmup_steps", warmup_steps)
    return sample(build(name, steps, **kwargs), steps)


def _print_json(obj: object) -> None:
    print(json.dumps(obj, indent=2))


# ---------------------------------------------------------------- transfer


def run_transfer(args: argparse.Namespace) -> int:
    """Transfer ``--lr`` from ``--from`` to each ``--to``."""
    from autowarm.theory import bound, transfer_lr
    from autowarm.theory.plots import plot_bounds

    to_steps = args.to_steps or args.steps
    src = multipliers(args.source, args.steps, args.warmup_steps)
    rows = []
    for spec in args.to:
        dst = multipliers(spec, to_steps, args.warmup_steps)
        tr = transfer_lr(args.lr, src, dst)
        rows.append((spec, dst, tr))
    a = bound(src)
    out = {
        "from": _bound_row(args.source, args.steps, a.gamma_star, a.omega_star) | {"lr": args.lr},
        "to": [
            _bound_row(spec, to_steps, tr.gamma_star_to, tr.omega_star_to)
            | {"lr": tr.lr, "factor": tr.factor}
            for spec, _, tr in rows
        ],
    }
    if args.json:
        _print_json(out)
    else:
        print("convex-bound LR transfer (D = G = 1; gamma* sqrt(T), Omega* sqrt(T) per schedule)")
        print(f"{'schedule':<40} {'steps':>8} {'gamma*rT':>9} {'Omega*rT':>9} {'factor':>7} lr")
        f = out["from"]
        print(
            f"{args.source:<40} {args.steps:>8} {f['gamma_star_sqrt_T']:>9.4f} "
            f"{f['omega_star_sqrt_T']:>9.4f} {1.0:>7.3f} {args.lr:.4g}  (tuned)"
        )
        for row in out["to"]:
            print(
                f"{row['schedule']:<40} {to_steps:>8} {row['gamma_star_sqrt_T']:>9.4f} "
                f"{row['omega_star_sqrt_T']:>9.4f} {row['factor']:>7.3f} {row['lr']:.4g}"
            )
    if args.plot:
        curves = {args.source: (src, args.lr, a.gamma_star)}
        for spec, dst, tr in rows:
            curves[spec] = (dst, tr.lr, tr.gamma_star_to)
        plot_bounds(curves, args.plot)
    return 0


def _bound_row(spec: str, steps: int, gamma: float, omega: float) -> dict:
    root = math.sqrt(steps)
    return {
        "schedule": spec,
        "steps": steps,
        "gamma_star": gamma,
        "omega_star": omega,
        "gamma_star_sqrt_T": gamma * root,
        "omega_star_sqrt_T": omega * root,
    }


# ---------------------------------------------------------------- extend


def run_extend(args: argparse.Namespace) -> int:
    """Plan the two-stage WSD continuation."""
    from autowarm.theory import extend_wsd, wsd_multipliers

    ext = extend_wsd(args.lr, args.steps, args.to_steps, args.cooldown_frac, args.warmup_steps)
    start_cool = args.to_steps - ext.cooldown_steps
    out = {
        "lr": args.lr,
        "steps": args.steps,
        "new_steps": args.to_steps,
        "cooldown_frac": args.cooldown_frac,
        "warmup_steps": args.warmup_steps,
        "rho": ext.rho,
        "second_stage_lr": ext.rho * args.lr,
        "hold_steps": ext.hold_steps,
        "cooldown_steps": ext.cooldown_steps,
        "omega": {k: float(v) for k, v in ext.omega.items()},
    }
    if args.out:
        _write_multipliers(args.out, ext.multipliers)
    if args.json:
        _print_json(out)
    else:
        print(
            f"extend WSD (lr {args.lr:.4g}, {args.steps} steps, cooldown_frac "
            f"{args.cooldown_frac}) to {args.to_steps} steps: rho = {ext.rho:.4f}"
        )
        print(
            f"  steps {0:>7} .. {ext.hold_steps - 1:<7} lr {args.lr:.4g} "
            "(unchanged: resume from the checkpoint before the old cooldown)"
        )
        print(f"  steps {ext.hold_steps:>7} .. {start_cool - 1:<7} lr {ext.rho * args.lr:.4g}")
        print(
            f"  steps {start_cool:>7} .. {args.to_steps - 1:<7} linear cooldown "
            f"{ext.rho * args.lr:.4g} -> 0"
        )
        om = out["omega"]
        print(
            f"bound at the run's LR (D = G = 1): extended {om['extended']:.5g}, fresh WSD "
            f"re-tuned {om['fresh_tuned']:.5g}, fresh WSD same LR {om['fresh_same_lr']:.5g}"
        )
    if args.plot:
        old = wsd_multipliers(args.steps, args.cooldown_frac, args.warmup_steps)
        fresh = wsd_multipliers(args.to_steps, args.cooldown_frac, args.warmup_steps)
        _plot_extension(old, ext, fresh, args)
    return 0


def _plot_extension(old, ext, fresh, args) -> None:
    from autowarm.theory import bound
    from autowarm.theory.plots import plot_bounds

    gamma = bound(old).gamma_star  # the finished run's LR in bound units
    curves = {
        f"finished WSD ({args.steps} steps)": (old, args.lr, gamma),
        f"extended (rho = {ext.rho:.3f})": (ext.multipliers, args.lr, gamma),
        f"fresh WSD ({args.to_steps} steps), same lr": (fresh, args.lr, gamma),
    }
    plot_bounds(curves, args.plot, title="WSD continuation")


def _write_multipliers(path: str, values: np.ndarray) -> None:
    with open(path, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["step", "multiplier"])
        w.writerows((k, f"{v:.9g}") for k, v in enumerate(values))


# ---------------------------------------------------------------- refine


def run_refine(args: argparse.Namespace) -> int:
    """Refine a schedule from gradient norms."""
    from autowarm.theory import bound, refine
    from autowarm.theory.io import read_column
    from autowarm.theory.plots import plot_refine
    from autowarm.theory.refine import MAX_POINTS

    norms = read_column(args.grad_norms, args.column)
    finite = norms[np.isfinite(norms)]
    sched = refine(norms, args.steps, args.tau, args.norm)
    n = sched.size
    used = min(finite.size, MAX_POINTS)
    width = 2 * int(args.tau * used / 2) + 1
    peak = int(np.argmax(sched))
    marks = np.unique(np.linspace(0, n - 1, 11).round().astype(int))
    out = {
        "recorded": int(norms.size),
        "finite": int(finite.size),
        "norm": args.norm,
        "tau": args.tau,
        "filter_width": width,
        "steps": n,
        "peak_step": peak,
        "warmup_frac": peak / n,
    }
    if n == finite.size:
        # the recorded norms as G_t: the refined schedule against linear decay in the bound
        lin = 1.0 - (np.arange(n) + 1.0) / n
        out["omega_star_refined"] = bound(sched, finite).omega_star
        out["omega_star_linear"] = bound(lin, finite).omega_star
    if args.out:
        _write_multipliers(args.out, sched)
    if args.json:
        _print_json(out | {"multipliers": sched.tolist()})
    else:
        print(
            f"refined schedule from {finite.size} {args.norm} gradient norms (median filter "
            f"over {width} points, tau = {args.tau}) for {n} steps"
        )
        print(f"peak at step {peak} ({100 * peak / n:.1f}% of the run: the implied warm-up)")
        if "omega_star_refined" in out:
            print(
                f"bound with the recorded norms: refined {out['omega_star_refined']:.5g}, "
                f"linear decay {out['omega_star_linear']:.5g}"
            )
        print("step\tmultiplier")
        for k in marks:
            print(f"{k}\t{sched[k]:.4f}")
    if args.plot:
        plot_refine(finite, sched, args.plot)
    return 0


# ---------------------------------------------------------------- predict


def run_predict(args: argparse.Namespace) -> int:
    """Fit a law to ``--fit`` runs and predict the target schedule."""
    from autowarm.theory import fit_error, fit_law
    from autowarm.theory.io import read_curve
    from autowarm.theory.laws import default_warmup
    from autowarm.theory.plots import curve_steps, plot_predict

    curves = [read_curve(f, args.loss_key) for f in args.fit]
    for f, c in zip(args.fit, curves):
        if c.steps.size == 0:
            raise ValueError(f"{f}: no losses to fit")
    if args.target:
        target = read_curve(args.target, args.loss_key)
        lrs, name = target.lrs, args.target
    else:
        if not (args.schedule and args.lr and args.steps):
            raise ValueError("give --schedule SPEC --lr LR --steps N, or --target FILE")
        target = None
        lrs = args.lr * multipliers(args.schedule, args.steps, args.warmup_steps)
        name = f"{args.schedule} (lr {args.lr:g}, {args.steps} steps)"
    fit = fit_law(args.law, curves, huber=args.huber, decay=args.decay)
    # the laws describe the run after its warm-up (up to the first LR maximum)
    steps = curve_steps(lrs.size, start=default_warmup(lrs))
    pred = fit.predict(lrs, steps)
    out = {
        "law": fit.law,
        "params": fit.params,
        "fit_error": fit.error,
        "fit_points": fit.n_points,
        "at_bounds": list(fit.at_bounds),
        "target": name,
        "final_step": int(lrs.size),
        "final_loss": float(pred[-1]),
        "steps": steps.tolist(),
        "predicted": pred.tolist(),
    }
    if target is not None and target.steps.size:
        obs_pred = fit.predict(target.lrs, target.steps)
        out["prediction_error"] = fit_error(obs_pred, target.losses)
    if args.json:
        _print_json(out)
    else:
        params = ", ".join(f"{k}={v:.4g}" for k, v in fit.params.items())
        print(f"{fit.law} law fitted to {len(curves)} run(s), {fit.n_points} losses: {params}")
        e = fit.error
        print(
            f"fit error: rmse {e['rmse']:.4g}, max {e['max_abs_error']:.4g}, mean relative "
            f"{100 * e['mean_rel_error']:.3f}%, R^2 {e['r2']:.5f}"
        )
        if fit.at_bounds:
            print(
                f"note: {', '.join(fit.at_bounds)} ended on the search box: the runs do not "
                "identify them (fit runs with sharper LR drops, e.g. a WSD cooldown)"
            )
        print(f"predicted loss of {name}: {pred[-1]:.4f} after {lrs.size} steps")
        if "prediction_error" in out:
            pe = out["prediction_error"]
            print(
                f"against the target's recorded losses: rmse {pe['rmse']:.4g}, max "
                f"{pe['max_abs_error']:.4g}, mean relative {100 * pe['mean_rel_error']:.3f}%"
            )
        print("step\tpredicted loss")
        for i in np.unique(np.linspace(0, steps.size - 1, 11).round().astype(int)):
            print(f"{steps[i]}\t{pred[i]:.4f}")
    if args.plot:
        plot_predict(fit, curves, args.fit, lrs, steps, pred, target, name, args.plot)
    return 0
