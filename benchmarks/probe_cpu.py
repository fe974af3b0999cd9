"""Smoothness probe on the `cpu` model for several optimizers; a summary for BENCHMARKS.md.

Runs ``autowarm probe`` once per optimizer (the cpu bench preset's LR and hyperparameters, f* of
that preset), then collects the fitted constants, R^2 and the Spearman correlation of K with the
gap into ``benchmarks/results/probe_cpu/summary.json``. Per-optimizer outputs (``probe.json``,
``probe.png``, ``metrics.jsonl``) land in ``benchmarks/results/probe_cpu/<optimizer>/``.

    python benchmarks/probe_cpu.py --steps 300 --every 3 --threads 1
"""

from __future__ import annotations

import argparse
import json
import platform
import subprocess
import sys
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent / "results" / "probe_cpu"
KEYS = ("K0", "K1", "K2", "r2", "spearman", "delta_star", "delta_star_in_range")


DESCENT = ("K0", "K1", "K2", "r2", "spearman", "delta_star", "n_used", "gap_range")


def _refit(doc: dict, out: Path) -> dict:
    """Rewrite ``probe.json``/``probe.png`` from the stored points with the current fit code."""
    from autowarm.diagnostics.calibrate import probe_result, write_probe

    keep = ("K0", "K1", "K2", "rho", "r2", "spearman", "delta_star", "delta_star_in_range")
    drop = {"points", "fit", "fit_rho", "fit_descent", "fit_descent_error", "window", *keep}
    meta = {k: v for k, v in doc.items() if k not in drop and not k.startswith(("calib", "sched"))}
    window = doc.get("window", {})
    new = probe_result(
        [{k: v for k, v in p.items() if k != "gap"} for p in doc["points"]],
        target_loss=doc["target_loss"],
        norm=doc["norm"],
        transient_frac=window.get("transient_frac", 0.1),
        outlier_z=window.get("outlier_z", 3.5),
        meta=meta,
    )
    write_probe(new, out)
    return new


def _fit_all(doc: dict) -> dict:
    """The rho = 2 fit over every point (no transient dropped): the early, high-gap updates."""
    from autowarm.diagnostics.fit import fit_smoothness, spearman

    pts = doc["points"]
    fit = fit_smoothness([p["gap"] for p in pts], [p["K"] for p in pts], transient_frac=0.0)
    keys = ("K0", "K1", "K2", "r2", "spearman", "delta_star", "n_used", "gap_range")
    out = {k: getattr(fit, k) for k in keys}
    early = pts[: max(2, len(pts) // 10)]  # the transient the window rule drops
    out["early_spearman"] = spearman([p["gap"] for p in early], [p["K"] for p in early])
    out["early_steps"] = [early[0]["step"], early[-1]["step"]]
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--optimizers", nargs="+", default=["muon", "lion", "normsgd", "adamw"])
    ap.add_argument("--steps", type=int, default=300)
    ap.add_argument("--every", type=int, default=3)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--target-loss", type=float, default=1.5)
    ap.add_argument("--out", type=Path, default=ROOT)
    ap.add_argument("--summarize-only", action="store_true", help="reuse existing probe.json")
    ap.add_argument(
        "--refit", action="store_true", help="with --summarize-only: refit stored points, rewrite"
    )
    args = ap.parse_args()
    rows = {}
    for name in args.optimizers:
        out = args.out / name
        cmd = [sys.executable, "-m", "autowarm", "probe", "--model", "cpu", "--optimizer", name,
               "--steps", str(args.steps), "--every", str(args.every), "--out", str(out),
               "--threads", str(args.threads), "--target-loss", str(args.target_loss),
               "--no-progress"]  # fmt: skip
        if not args.summarize_only:
            subprocess.run(cmd, check=True)
        doc = json.loads((out / "probe.json").read_text())
        if args.refit:
            doc = _refit(doc, out)
        row = {k: doc.get(k) for k in KEYS}
        row.update(
            lr=doc["lr"],
            norm=doc["norm"],
            rho_fit=doc["fit_rho"]["rho"],
            r2_rho_fit=doc["fit_rho"]["r2"],
            n_used=doc["fit"]["n_used"],
            gap_range=doc["fit"]["gap_range"],
            k_range=doc["fit"]["k_range"],
            last_train_loss=doc["last_train_loss"],
            calibration=doc["calibration"],
            fit_descent={k: doc["fit_descent"][k] for k in DESCENT} if doc["fit_descent"] else None,
            calibration_descent=doc["calibration_descent"],
            all_points=_fit_all(doc),
            wall_s=doc["wall_time_s"],
            command=" ".join(["autowarm", *cmd[3:]]),
        )
        rows[name] = row
        print(name, json.dumps(row))
    summary = {
        "date": date.today().isoformat(),
        "machine": f"{platform.machine()} {platform.processor() or ''}".strip(),
        "threads": args.threads,
        "steps": args.steps,
        "every": args.every,
        "target_loss": args.target_loss,
        "optimizers": rows,
    }
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "summary.json").write_text(json.dumps(summary, indent=1) + "\n")


if __name__ == "__main__":
    main()
