"""Helpers of ``benchmarks/gpu_check.sh``: the machine check, the one-time data preparation and
the machine summary of a finished (or time-limited) benchmark directory.

Subcommands (the shell script calls them):

- ``prepare OUT --data SRC --tokenizer T --vocab-size V --optimizers a,b [--require-gpu]``: one
  process for everything before the runs. It checks the optimizer names (exit status 2) and the
  device (with ``--require-gpu``, exit status 3 and a one-line reason when torch sees no CUDA
  device), picks the adaptive arms (``adaptive-faithful``, ``adaptive`` and ``adaptive-auto``
  where the installed autowarm defines it in ``autowarm.adaptive.MODES``), and builds the
  corpus, trains the tokenizer and writes the token cache once (``autowarm.train.load_data``, the
  same call every run makes; its cache is keyed by the data options, so the concurrent runs then
  only memory-map it). It writes ``OUT/gpu_check_machine.json`` and prints one line,
  ``modes<TAB>cache<TAB>description`` (progress goes to stderr).
- ``summary OUT --mode full|tiny --phases FILE --cache DIR``: write ``OUT/gpu_summary.json`` and
  ``OUT/gpu_summary.md``: the machine (GPU name, torch / CUDA / cuDNN versions, driver), each
  planned run's status, wall time, training tokens/s and final loss, the aggregate throughput and
  its model FLOP/s by the 6 N rule (N = parameters, attention not counted), the phase times, and
  whether every run read the token cache ``prepare`` built (data prepared once). It imports
  neither torch nor autowarm.

Usage (from the repository root; ``src`` on ``PYTHONPATH`` or autowarm installed)::

    python benchmarks/gpu_check.py prepare runs/gpu --data default --tokenizer bpe --vocab-size 4096
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
from pathlib import Path

WANTED_MODES = ("adaptive-faithful", "adaptive", "adaptive-auto")
H200_BF16_PEAK = 790e12  # FLOP/s of a dense bf16 matmul measured on this project's H200
MACHINE_FILE = "gpu_check_machine.json"  # what `prepare` found, read back by `summary`
SUMMARY_MD, SUMMARY_JSON = "gpu_summary.md", "gpu_summary.json"  # what `summary` writes


def machine(require_gpu: bool = False) -> dict:
    """The device facts the summary records; with ``require_gpu`` exit 3 when there is no GPU."""
    import torch

    cuda = torch.cuda.is_available()
    info = {
        "device": "cuda" if cuda else "cpu",
        "gpu": torch.cuda.get_device_name(0) if cuda else None,
        "gpu_count": torch.cuda.device_count() if cuda else 0,
        "gpu_memory_gib": (
            round(torch.cuda.get_device_properties(0).total_memory / 2**30, 1) if cuda else None
        ),
        "torch": torch.__version__,
        "cuda": torch.version.cuda,
        "cudnn": torch.backends.cudnn.version() if cuda else None,
        "driver": _driver() if cuda else None,
        "python": platform.python_version(),
        "cpu_count": os.cpu_count(),
        "host": platform.node(),
    }
    if require_gpu and not cuda:
        print(
            f"gpu_check: torch {torch.__version__} (CUDA build {torch.version.cuda}) sees no CUDA "
            f"device; the full check needs one GPU. Use --tiny for the CPU proof of the code path.",
            file=sys.stderr,
        )
        raise SystemExit(3)
    return info


MACHINE_KEYS = (
    "device", "gpu", "gpu_count", "gpu_memory_gib", "torch", "cuda", "cudnn", "driver", "python",
    "cpu_count", "host",
)  # fmt: skip


def _driver() -> str | None:
    exe = shutil.which("nvidia-smi")
    if exe is None:
        return None
    try:
        out = subprocess.run(
            [exe, "--query-gpu=driver_version", "--format=csv,noheader"],
            capture_output=True,
            text=True,
            timeout=20,
            check=False,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    return out.strip().splitlines()[0] if out.strip() else None


def modes() -> list[str]:
    """The adaptive arms this autowarm defines, of :data:`WANTED_MODES`, in that order."""
    from autowarm.adaptive import MODES

    return [m for m in WANTED_MODES if m in MODES]


def prepare(source: str, tokenizer: str, vocab_size: int) -> dict:
    """Build (or find) the token cache of these data options; return its ``info``."""
    from autowarm.train import DataConfig, load_data

    data = load_data(DataConfig(source=source, tokenizer=tokenizer, vocab_size=vocab_size))
    return data.info


def _read_json(path: Path) -> dict | None:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def _phases(path: Path) -> list[dict]:
    """Rows ``name<TAB>seconds<TAB>status`` the shell script wrote, as dicts."""
    rows = []
    if path.is_file():
        for line in path.read_text().splitlines():
            parts = line.split("\t")
            if len(parts) == 3:
                rows.append({"phase": parts[0], "seconds": float(parts[1]), "status": parts[2]})
    return rows


def summarize(root: Path, mode: str, phases: Path, cache: str, facts: dict) -> dict:
    """The machine summary of the benchmark directory ``root`` (see the module docstring)."""
    meta = _read_json(root / "bench.json") or {}
    runs = []
    for run_id in meta.get("runs", []):
        run_dir = root / "runs" / run_id
        final = _read_json(run_dir / "final.json")
        config = _read_json(run_dir / "config.json") or {}
        result = _read_json(root / "results" / f"{run_id}.json") or {}
        optimizer, arm = run_id.split("__")[:2]
        row = {
            "run": run_id,
            "optimizer": optimizer,
            "arm": arm,
            "status": "done" if final is not None else "not finished",
            "device": config.get("device"),
            "params": config.get("params"),
            "data_cache": (config.get("data") or {}).get("cache"),
        }
        if final is not None:
            row.update(
                steps=final["steps"],
                tokens=final["tokens"],
                wall_time_s=round(final["wall_time_s"], 1),
                train_time_s=round(final["train_time_s"], 1),
                tokens_per_s=round(final["tokens_per_s"]),
                final_val_loss=final["final_val_loss"],
                warmup_end_step=result.get("warmup_end_step", final.get("warmup_end_step")),
            )
        runs.append(row)
    phase_rows = _phases(phases)
    bench_s = sum(p["seconds"] for p in phase_rows if p["phase"] == "bench")
    done = [r for r in runs if r["status"] == "done"]
    tokens = sum(r["tokens"] for r in done)
    params = max((r["params"] or 0 for r in done), default=0)
    agg = tokens / bench_s if bench_s > 0 else None
    caches = {r["data_cache"] for r in runs if r["data_cache"]}
    return {
        "mode": mode,
        "machine": {k: facts.get(k) for k in MACHINE_KEYS},
        "preset": meta.get("preset"),
        "commands": meta.get("commands", []),
        "arms": sorted({r["arm"] for r in runs}),
        "optimizers": sorted({r["optimizer"] for r in runs}),
        "runs_planned": len(runs),
        "runs_done": len(done),
        "phases": phase_rows,
        "total_s": round(sum(p["seconds"] for p in phase_rows), 1),
        "aggregate_tokens_per_s": round(agg) if agg else None,
        # 6 N FLOP per token (forward + backward through the weights; attention not counted)
        "model_tflops": round(6 * params * agg / 1e12, 1) if agg else None,
        "data_cache": cache,
        # True: every run that recorded its data read the cache `prepare` built; None: no run did
        "data_prepared_once": (caches == {cache}) if caches else None,
        "runs": runs,
    }


_ONCE = {True: "yes", False: "NO, some runs built their own", None: "unknown (no run recorded it)"}


def write_summary(root: Path, summary: dict) -> None:
    """``gpu_summary.json`` and a short markdown ``gpu_summary.md`` in ``root``."""
    (root / SUMMARY_JSON).write_text(json.dumps(summary, indent=1) + "\n")
    m = summary["machine"]
    device = m["gpu"] or "CPU"
    lines = [
        f"# gpu_check summary ({summary['mode']} mode)",
        "",
        f"- device: {device} (runs on {m['device']}); torch {m['torch']}, CUDA {m['cuda']}, "
        f"cuDNN {m['cudnn']}, driver {m['driver']}; Python {m['python']}, {m['cpu_count']} CPUs",
        f"- preset {summary['preset']}: {summary['runs_done']}/{summary['runs_planned']} runs "
        f"done; optimizers {', '.join(summary['optimizers'])}; arms {', '.join(summary['arms'])}",
        f"- total {summary['total_s']} s; "
        + "; ".join(
            f"{p['phase']} {p['seconds']:.0f} s ({p['status']})" for p in summary["phases"]
        ),
        (
            f"- aggregate {summary['aggregate_tokens_per_s']} tokens/s over the bench phase, "
            f"{summary['model_tflops']} TFLOP/s by 6 N"
            if summary["aggregate_tokens_per_s"]
            else "- aggregate throughput: no finished run"
        )
        + (
            f" ({100 * summary['model_tflops'] * 1e12 / H200_BF16_PEAK:.0f}% of the H200's "
            f"measured 790 bf16 TFLOP/s)"
            if summary["model_tflops"] and m["gpu"]
            else ""
        ),
        f"- data prepared once: {_ONCE[summary['data_prepared_once']]} "
        f"(cache {summary['data_cache']})",
        "",
        "| run | status | wall s | train s | tokens/s | final val loss | warm-up end |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in summary["runs"]:
        loss = r.get("final_val_loss")
        lines.append(
            f"| {r['run']} | {r['status']} | {r.get('wall_time_s', '')} | "
            f"{r.get('train_time_s', '')} | {r.get('tokens_per_s', '')} | "
            f"{'' if loss is None else f'{loss:.4f}'} | {r.get('warmup_end_step') or ''} |"
        )
    (root / SUMMARY_MD).write_text("\n".join(lines) + "\n")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    pr = sub.add_parser("prepare")
    pr.add_argument("out")
    pr.add_argument("--data", required=True)
    pr.add_argument("--tokenizer", required=True)
    pr.add_argument("--vocab-size", type=int, required=True)
    pr.add_argument("--optimizers", default="muon,lion", help="checked against the preset")
    pr.add_argument("--require-gpu", action="store_true")
    s = sub.add_parser("summary")
    s.add_argument("out")
    s.add_argument("--mode", choices=("full", "tiny"), required=True)
    s.add_argument("--phases", required=True)
    s.add_argument("--cache", required=True, help="the token cache `prepare` built")
    args = p.parse_args(argv)
    root = Path(args.out)
    if args.cmd == "prepare":
        from autowarm.bench import preset

        known = preset("gpu-mid").optimizers
        bad = [o for o in args.optimizers.split(",") if o.strip() not in known]
        if bad:
            p.error(
                f"--optimizers: {', '.join(bad)} not in preset gpu-mid; valid: {', '.join(known)}"
            )
        facts = machine(args.require_gpu)  # exits 3 before any work when the GPU is missing
        print(f"[gpu_check] machine: {json.dumps(facts)}", file=sys.stderr, flush=True)
        arms = modes()
        info = prepare(args.data, args.tokenizer, args.vocab_size)
        facts = {**facts, "adaptive_modes": arms, "data": info}
        (root / MACHINE_FILE).write_text(json.dumps(facts, indent=1) + "\n")
        print(
            f"{','.join(arms)}\t{info['cache']}\t{info['train_tokens']} train / "
            f"{info['val_tokens']} val tokens, vocabulary {info['vocab_size']}"
        )
    else:
        facts = _read_json(root / MACHINE_FILE) or {}
        summary = summarize(root, args.mode, Path(args.phases), args.cache, facts)
        write_summary(root, summary)
        print(root / SUMMARY_MD)
    return 0


if __name__ == "__main__":
    sys.exit(main())
