"""Atomic, resumable checkpoints: model, optimizer, scheduler, data position, RNG states, step.

A checkpoint is written to a temporary file in the run directory, ``fsync``-ed, and renamed over
the old one (``os.replace``, then the directory is ``fsync``-ed), so a run killed at any instant
leaves either the previous checkpoint or the new one, never a torn file; a temporary left by a
kill is removed by :func:`remove_stale_checkpoint_temporaries` when the run starts again.
Everything in it is a tensor or plain Python data, so it loads with
``torch.load(..., weights_only=True)``. :func:`load_checkpoint` refuses a file that is not such a
checkpoint (a directory, another torch file) with a one-line ``ValueError`` naming the file.
"""

from __future__ import annotations

import os
import random
from pathlib import Path

import numpy as np
import torch

from autowarm.runlog import atomic_write, remove_stale_temporaries

CHECKPOINT = "checkpoint.pt"
# What the training loop's checkpoint holds (later keys of newer versions are optional).
REQUIRED_KEYS = ("step", "config", "model", "optimizer", "scheduler", "rng", "evals", "wall_time_s")


def rng_state() -> dict:
    """The states of Python's, NumPy's (legacy global) and torch's CPU/CUDA generators."""
    kind, keys, pos, has_gauss, cached = np.random.get_state()  # noqa: NPY002
    state = {
        "python": random.getstate(),
        "numpy": [kind, torch.from_numpy(keys.astype(np.int64)), pos, has_gauss, cached],
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict) -> None:
    """Restore :func:`rng_state`."""
    version, internal, gauss = state["python"]
    random.setstate((version, tuple(internal), gauss))
    kind, keys, pos, has_gauss, cached = state["numpy"]
    np.random.set_state((kind, keys.numpy().astype(np.uint32), pos, has_gauss, cached))  # noqa: NPY002
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def save_checkpoint(path: str | os.PathLike, state: dict) -> None:
    """``torch.save(state)`` to a temporary file beside ``path``, ``fsync``, rename into place."""
    atomic_write(path, lambda f: torch.save(state, f))


def remove_stale_checkpoint_temporaries(run_dir: str | os.PathLike) -> list[Path]:
    """Delete ``.checkpoint.pt.*.tmp`` files a killed save left in ``run_dir``; return them."""
    return remove_stale_temporaries(run_dir, [CHECKPOINT])


def load_checkpoint(
    path: str | os.PathLike,
    map_location: str | torch.device = "cpu",
    *,
    required: tuple[str, ...] = REQUIRED_KEYS,
) -> dict:
    """Load a checkpoint written by :func:`save_checkpoint` (``weights_only=True``).

    Args:
        path: the checkpoint file.
        map_location: where tensors go (``torch.load``'s argument).
        required: keys the checkpoint must hold (default: those of the training loop's).

    Raises:
        FileNotFoundError: nothing at ``path``.
        ValueError: ``path`` is a directory, not a torch file, or not a dict holding ``required``.
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"no checkpoint at {path}")
    if not path.is_file():
        raise ValueError(
            f"{path} is a directory, not a checkpoint file; move it away or use another --out"
        )
    try:
        state = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as err:
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise ValueError(f"{path} is not a readable checkpoint: {first}") from err
    if not isinstance(state, dict):
        raise ValueError(
            f"{path} is not an autowarm checkpoint: it holds a {type(state).__name__}, "
            f"expected a dict with keys {', '.join(required)}"
        )
    missing = [k for k in required if k not in state]
    if missing:
        raise ValueError(
            f"{path} is not an autowarm checkpoint: it lacks {', '.join(missing)} "
            f"(expected keys {', '.join(required)})"
        )
    return state
