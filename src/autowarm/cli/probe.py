"""``autowarm probe``: measure the smoothness law along a short training run and fit its constants."""

from __future__ import annotations

import argparse
import json
import sys
import time


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``probe`` verb."""
    p = sub.add_parser(
        "probe",
        help="measure K_t = ||g(x+) - g(x)||_* / ||x+ - x|| along a run; fit K0 + K1 D + K2 D^2",
        description=(
            "Train a model preset for --steps updates while measuring, every --every updates, the "
            "local smoothness K_t in the optimizer's norm pair (gradients on the same batch before "
            "and after the update) and the gap D_t = loss - f*. Fits K0 + K1 D + K2 D^2 (and a "
            "searched rho) over an automatic window and writes DIR/probe.json (constants, fit "
            "quality, points, the calibration for the adaptive warm-up) and DIR/probe.png, next to "
            "the run's metrics.jsonl. Optimizer hyperparameters go after the flags as --key value."
        ),
    )
    req = p.add_argument_group("run (the fixed interface)")
    req.add_argument("--model", default="cpu", help="model preset (default: cpu)")
    req.add_argument("--optimizer", default="adamw", help="optimizer name (default: adamw)")
    req.add_argument("--steps", type=int, default=300, help="optimizer updates (default: 300)")
    req.add_argument("--out", required=True, help="output directory")
    g = p.add_argument_group("probe")
    g.add_argument("--every", type=int, default=5, help="probe one update in N (default: 5)")
    g.add_argument(
        "--dense-steps",
        type=int,
        help="also probe every update before this one (default: steps/10; the descent window)",
    )
    g.add_argument(
        "--target-loss",
        type=float,
        default=0.0,
        help="f* of the gap D = loss - f* (default 0; for rho=2 it changes the constants, not the "
        "fit quality; `calibration(..., target_loss=)` refits for another f*)",
    )
    g.add_argument("--norm", choices=("spectral", "sign", "frobenius"), help="override the norm")
    g.add_argument("--transient-frac", type=float, default=0.1, help="window: drop this first")
    g.add_argument("--outlier-z", type=float, default=3.5, help="window: robust z of log K")
    g.add_argument("--no-rho-search", action="store_true", help="fit rho = 2 only")
    g.add_argument("--update-size-every", type=int, default=0, help="also log update sizes")
    g.add_argument("--no-plot", action="store_true", help="skip probe.png")
    t = p.add_argument_group("training")
    t.add_argument("--lr", type=float, help="peak LR (default: the cpu bench preset's)")
    t.add_argument("--schedule", help="schedule spec (default: warmup_cosine, 5%% warm-up)")
    t.add_argument("--seed", type=int, default=0, help="model init and data order")
    t.add_argument("--batch-size", type=int, default=16, help="sequences per update")
    t.add_argument("--seq-len", type=int, help="tokens per sequence (default: model context)")
    t.add_argument("--clip", type=float, default=1.0, help="grad-norm clip; 0 disables")
    t.add_argument("--threads", type=int, help="torch threads")
    t.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda"))
    t.add_argument("--data", default="default", help="data source (see `autowarm train`)")
    t.add_argument("--tokenizer", default="byte", choices=("byte", "bpe", "gpt2"))
    t.add_argument("--cache-dir", help="cache root (default: $AUTOWARM_CACHE or ~/.cache/autowarm)")
    t.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(handler=run, accepts_extra=True)


def _defaults(optimizer: str) -> tuple[float | None, dict]:
    """The cpu bench preset's LR and hyperparameters of an optimizer (None, {} if absent)."""
    from autowarm.bench.presets import PRESETS

    setup = PRESETS["cpu"].optimizers.get(optimizer)
    return (setup.lr, dict(setup.hparams)) if setup else (None, {})


def config_from_args(args: argparse.Namespace):
    """The :class:`autowarm.train.RunConfig` of the probe's training run."""
    from autowarm.cli._args import key_values
    from autowarm.optim import available
    from autowarm.train import DataConfig, RunConfig

    # The optimizer name first: "unknown optimizer" is the error, not a missing --lr.
    if args.optimizer not in available():
        raise ValueError(
            f"unknown optimizer {args.optimizer!r}; valid optimizers are {', '.join(available())}"
        )
    lr, hparams = _defaults(args.optimizer)
    hparams.update(key_values(list(args.extra)))
    if args.lr is not None:
        lr = args.lr
    if lr is None:
        raise ValueError(f"--lr is required for optimizer {args.optimizer!r} (no preset LR)")
    schedule = args.schedule or f"warmup_cosine:warmup_steps={max(1, args.steps // 20)}"
    adaptive = schedule.split(":", 1)[0].strip() == "adaptive"
    return RunConfig(
        model=args.model,
        optimizer=args.optimizer,
        lr=lr,
        optimizer_args=hparams,
        schedule=schedule,
        target_loss=args.target_loss if adaptive else None,
        steps=args.steps,
        batch_size=args.batch_size,
        seq_len=args.seq_len,
        grad_clip=args.clip or None,
        seed=args.seed,
        data=DataConfig(source=args.data, tokenizer=args.tokenizer, cache_dir=args.cache_dir),
        eval_every=0,
        final_eval=False,
        log_every=10,
        device=args.device,
        threads=args.threads,
        out=args.out,
    )


def run(args: argparse.Namespace) -> int:
    """Handler of ``autowarm probe``."""
    from autowarm.diagnostics.calibrate import probe_result, write_probe
    from autowarm.diagnostics.smoothness import SmoothnessProbe
    from autowarm.diagnostics.update_size import UpdateSizeLogger
    from autowarm.train import train

    cfg = config_from_args(args)
    dense = args.steps // 10 if args.dense_steps is None else args.dense_steps
    probe = SmoothnessProbe(
        args.norm, every=args.every, dense_steps=dense, target_loss=args.target_loss
    )
    callbacks: list = [probe]
    if args.update_size_every:
        callbacks.append(UpdateSizeLogger(args.update_size_every))
    t0 = time.perf_counter()
    results = train(cfg, callbacks=callbacks, progress=not args.no_progress)
    meta = {
        "model": cfg.model,
        "optimizer": cfg.optimizer,
        "lr": cfg.lr,
        "optimizer_args": cfg.optimizer_args,
        "schedule": cfg.schedule,
        "steps": cfg.steps,
        "batch_size": cfg.batch_size,
        "seed": cfg.seed,
        "every": args.every,
        "dense_steps": dense,
        "measured_params": probe.measured_names(),
        "last_train_loss": results.get("last_train_loss"),
        "wall_time_s": time.perf_counter() - t0,
        "command": ["autowarm", *sys.argv[1:]],
    }
    doc = probe_result(
        probe.points,
        target_loss=args.target_loss,
        norm=probe.norm,
        rho_search=not args.no_rho_search,
        transient_frac=args.transient_frac,
        outlier_z=args.outlier_z,
        meta=meta,
    )
    path = write_probe(doc, args.out, plot=not args.no_plot)
    summary = {k: doc.get(k) for k in ("K0", "K1", "K2", "rho", "r2", "spearman", "delta_star")}
    summary["fit_rho"] = {k: doc["fit_rho"][k] for k in ("rho", "r2")} if "fit_rho" in doc else None
    summary["calibration"] = doc["calibration"]
    summary["calibration_descent"] = doc["calibration_descent"]
    print(json.dumps(summary))
    print(f"written: {path}")
    return 0
