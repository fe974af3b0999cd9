"""autowarm: loss-adaptive LR warm-up and a complete LR-schedule toolkit for LLM pretraining.

The public API is curated here; the logic lives in the subpackages: :mod:`autowarm.schedules`
(pure schedules and the adaptive state machine, no torch), :mod:`autowarm.lr` (torch
LR-scheduler adapters), :mod:`autowarm.optim` (LMO optimizers), :mod:`autowarm.theory`,
:mod:`autowarm.train`, :mod:`autowarm.bench`. Torch-dependent names are imported on first use, so
``import autowarm`` and ``autowarm --help`` stay fast.
"""

from __future__ import annotations

import importlib

from autowarm._version import __version__

_LAZY = {
    "AdaptiveWarmup": "autowarm.lr",
    "FixedSchedule": "autowarm.lr",
    "MissingExtraError": "autowarm._extras",
    "build_optimizer": "autowarm.optim",
}
_SUBPACKAGES = ("schedules", "theory", "lr", "optim", "diagnostics", "train", "bench")

__all__ = [
    "AdaptiveWarmup",
    "FixedSchedule",
    "MissingExtraError",
    "__version__",
    "build_optimizer",
    *_SUBPACKAGES,
]


def __getattr__(name: str):
    if name == "build_optimizer":
        return importlib.import_module("autowarm.optim").build
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    if name in _SUBPACKAGES:
        return importlib.import_module(f"autowarm.{name}")
    raise AttributeError(f"module 'autowarm' has no attribute {name!r}")
