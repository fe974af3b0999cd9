"""Why warm-up: the smoothness probe and its fit, calibration of the adaptive warm-up, update sizes.

- :class:`SmoothnessProbe` measures ``K_t = ||g(x_{t+1}) - g(x_t)||_* / ||x_{t+1} - x_t||`` (same
  batch, the optimizer's norm pair) every k updates; :func:`fit_smoothness` fits
  ``K0 + K1 D + K2 D^rho`` over an automatic window (Riabinin et al. 2026, arXiv 2602.05813).
- :func:`calibration` turns a probe result into ``AdaptiveWarmup(k_constants=..., target_loss=...)``
  arguments (or ``delta_star``).
- :class:`UpdateSizeLogger` logs per-layer ``||dW||``, ``||dW||/||W||``, the angular update and the
  relative representation change (Kosson et al. 2024, arXiv 2410.23922).

All are callbacks of :func:`autowarm.train.train` and hooks for your own loop; ``autowarm probe``
runs the probe from the command line. This package never imports :mod:`autowarm.train`.
"""

from autowarm.diagnostics.calibrate import calibration, load_probe, probe_result, schedule_spec
from autowarm.diagnostics.fit import SmoothnessFit, fit_smoothness, select_window
from autowarm.diagnostics.smoothness import SmoothnessProbe, dual_norm, primal_norm
from autowarm.diagnostics.update_size import (
    UpdateSizeLogger,
    angular_update,
    relative_update,
    representation_change,
    update_norm,
)

__all__ = [
    "SmoothnessFit",
    "SmoothnessProbe",
    "UpdateSizeLogger",
    "angular_update",
    "calibration",
    "dual_norm",
    "fit_smoothness",
    "load_probe",
    "primal_norm",
    "probe_result",
    "relative_update",
    "representation_change",
    "schedule_spec",
    "select_window",
    "update_norm",
]
