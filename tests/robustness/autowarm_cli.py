"""Run the real ``autowarm`` command line in a subprocess, for the robustness tests.

One helper instead of a copy per test module: the CLI runs as ``python -m autowarm`` with the
source tree first on ``PYTHONPATH``, one torch thread, and ``AUTOWARM_DEBUG`` unset (so a user
error is the one-line message, not a traceback).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

SRC = str(Path(__file__).resolve().parents[2] / "src")


def cli_env(extra: dict | None = None) -> dict:
    """The environment of a CLI subprocess (``extra`` added last)."""
    env = {k: v for k, v in os.environ.items() if k != "AUTOWARM_DEBUG"}
    env["PYTHONPATH"] = SRC + os.pathsep + env.get("PYTHONPATH", "")
    env["OMP_NUM_THREADS"] = "1"
    env.update(extra or {})
    return env


def run_autowarm(
    *args: str, cwd=None, env_extra: dict | None = None, timeout: float = 120
) -> subprocess.CompletedProcess:
    """``autowarm ARGS`` in a subprocess; never raises on a non-zero exit."""
    return subprocess.run(
        [sys.executable, "-m", "autowarm", *map(str, args)],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=cli_env(env_extra),
        timeout=timeout,
        check=False,
    )


def one_line_error(
    proc: subprocess.CompletedProcess, *needles: str, verb: str | None = None
) -> str:
    """Assert exit 2 with one stderr line (no traceback) holding every needle; return the line."""
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr + proc.stdout
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    if verb is not None:
        assert lines[0].startswith(f"autowarm {verb}: error: "), lines[0]
    for needle in needles:
        assert needle in lines[0], lines[0]
    return lines[0]
