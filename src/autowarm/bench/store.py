"""The benchmark's result store: one JSON file per finished run, written atomically.

Layout of a results directory ``DIR``::

    DIR/bench.json              what was asked (preset, optimizers, seeds, steps, flags)
    DIR/runs/<run_id>/          the harness's run directory (config, metrics, checkpoint)
    DIR/results/<run_id>.json   the run's result, written once the run has finished

A run is *done* when its result file exists, *partial* when its run directory holds a
checkpoint (a re-run resumes it exactly), and *todo* otherwise. Result files are written to a
temporary name and renamed, so an interrupted benchmark never leaves a half-written result.
"""

from __future__ import annotations

import json
import math
import os
import tempfile
from pathlib import Path


def write_json_atomic(path: str | Path, data: object) -> None:
    """Write ``data`` as JSON to ``path`` through a temporary file and an atomic rename."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w") as f:
            json.dump(data, f, indent=1, default=_jsonable)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _jsonable(obj: object) -> object:
    if isinstance(obj, (set, tuple)):
        return list(obj)
    if hasattr(obj, "item"):
        return obj.item()
    raise TypeError(f"not JSON-serialisable: {type(obj).__name__}")


class ResultStore:
    """Read and write the results of one benchmark directory."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)
        self.results_dir = self.root / "results"
        self.runs_dir = self.root / "runs"

    def result_path(self, run_id: str) -> Path:
        """Where the result of ``run_id`` lives."""
        return self.results_dir / f"{run_id}.json"

    def status(self, run_id: str) -> str:
        """``"done"``, ``"partial"`` (a checkpoint to resume from) or ``"todo"``."""
        if self.result_path(run_id).is_file():
            return "done"
        run_dir = self.runs_dir / run_id
        if run_dir.is_dir() and any(run_dir.glob("checkpoint*")):
            return "partial"
        return "todo"

    def save(self, run_id: str, result: dict) -> None:
        """Store a finished run's result."""
        write_json_atomic(self.result_path(run_id), {"run_id": run_id, **result})

    def load(self) -> list[dict]:
        """Every stored result, sorted by run id. Corrupt files raise naming the file."""
        out = []
        if not self.results_dir.is_dir():
            return out
        for path in sorted(self.results_dir.glob("*.json")):
            try:
                out.append(json.loads(path.read_text()))
            except json.JSONDecodeError as err:
                raise ValueError(f"corrupt result file {path}: {err}") from err
        return out

    def write_meta(self, meta: dict) -> None:
        """Record what the benchmark was asked to do (``bench.json``)."""
        write_json_atomic(self.root / "bench.json", meta)

    def read_meta(self) -> dict:
        """The benchmark's ``bench.json`` (empty when missing)."""
        path = self.root / "bench.json"
        return json.loads(path.read_text()) if path.is_file() else {}


def collect_result(spec, final: dict, run_dir: str | Path) -> dict:
    """Assemble the result file of a finished run from the harness's run directory.

    Holds the config, the per-step train loss and LR multiplier, the eval losses, the final
    full-validation loss, the wall time and the warm-up end step the adaptive schedule chose.
    """
    run_dir = Path(run_dir)
    steps, losses, mults = [], [], []
    metrics = run_dir / "metrics.jsonl"
    if metrics.is_file():
        for line in metrics.read_text().splitlines():
            if not line.strip():
                continue
            row = json.loads(line)
            if "train_loss" in row:
                steps.append(int(row["step"]))
                losses.append(_num(row["train_loss"]))
                mults.append(_num(row.get("lr_mult", math.nan)))
    return {
        "optimizer": spec.optimizer,
        "arm": spec.arm,
        "seed": spec.seed,
        "warmup_steps": spec.warmup_steps,
        "target_loss": spec.target_loss,
        "config": spec.config.to_dict(),
        "final_val_loss": _num(final.get("final_val_loss", math.nan)),
        "evals": final.get("evals", []),
        "wall_time_s": _num(final.get("wall_time_s", math.nan)),
        "warmup_end_step": final.get("warmup_end_step"),
        "delta_star": final.get("delta_star"),
        "steps": steps,
        "train_loss": losses,
        "lr_multiplier": mults,
    }


def _num(x) -> float:
    try:
        return float(x)
    except (TypeError, ValueError):
        return math.nan
