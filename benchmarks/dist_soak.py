"""Soak the two distributed tests: run them many times in a row beside a CPU-bound process.

Each round runs ``tests/lr/test_distributed.py`` and ``tests/train/test_train_distributed.py`` (two
real gloo ranks under ``torchrun`` each) in a fresh ``pytest`` process while ``--burners`` busy
loops (``while True: pass``) compete for the cores, which is how a shutdown race showed up in CI.
A failing round's output is kept under ``--log-dir``; the summary (rounds, failures, seconds per
round) is printed and, with ``--json``, written to a file.

Usage (from the repository root)::

    python benchmarks/dist_soak.py --rounds 30 --burners 1 --json benchmarks/results/dist_soak.json

This is not a test: it takes about a minute per round on 2 cores.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import signal
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TESTS = ("tests/lr/test_distributed.py", "tests/train/test_train_distributed.py")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--rounds", type=int, default=30, help="pytest runs of both tests")
    p.add_argument("--burners", type=int, default=1, help="busy-loop processes beside them")
    p.add_argument("--log-dir", default="runs/dist_soak", help="output of failing rounds")
    p.add_argument("--json", help="write the summary here")
    p.add_argument("--tests", nargs="+", default=list(TESTS), help="test files or node ids")
    args = p.parse_args(argv)
    if args.rounds < 1 or args.burners < 0:
        p.error("--rounds must be >= 1 and --burners >= 0")
    log_dir = Path(args.log_dir)
    log_dir.mkdir(parents=True, exist_ok=True)
    # SIGTERM (and SIGINT, ignored in background jobs) end the soak through `finally`: no orphans.
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, _stop)
    burners = [
        subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(args.burners)
    ]
    cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *args.tests]
    failures, times = [], []
    try:
        for i in range(1, args.rounds + 1):
            t0 = time.perf_counter()
            proc = _run_group(cmd)
            times.append(time.perf_counter() - t0)
            ok = proc.returncode == 0
            if not ok:
                failures.append(i)
                (log_dir / f"round{i}.log").write_text(proc.stdout + "\n" + proc.stderr)
            last = proc.stdout.strip().splitlines()[-1] if proc.stdout.strip() else ""
            print(f"round {i}/{args.rounds}: {'ok' if ok else 'FAILED'} {times[-1]:.0f}s {last}",
                  flush=True)  # fmt: skip
    finally:
        for b in burners:
            b.kill()
            b.wait()
    summary = {
        "rounds": args.rounds,
        "failures": len(failures),
        "failed_rounds": failures,
        "burners": args.burners,
        "tests": args.tests,
        "seconds_per_round": round(sum(times) / len(times), 1),
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "date": datetime.now(timezone.utc).strftime("%Y-%m-%d"),
    }
    print(json.dumps(summary))
    if args.json:
        Path(args.json).write_text(json.dumps(summary, indent=1) + "\n")
    return 1 if failures else 0


def _run_group(cmd: list[str]) -> subprocess.CompletedProcess:
    """Run ``cmd`` in its own process group; an interrupt ends the group (torchrun included)."""
    child = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True, start_new_session=True)  # fmt: skip
    try:
        out, err = child.communicate()
    except BaseException:
        os.killpg(child.pid, signal.SIGKILL)
        child.wait()
        raise
    return subprocess.CompletedProcess(cmd, child.returncode, out, err)


def _stop(signum, frame):
    raise KeyboardInterrupt(f"signal {signum}")


if __name__ == "__main__":
    raise SystemExit(main())
