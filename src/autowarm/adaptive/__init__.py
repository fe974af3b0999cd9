"""The loss-adaptive warm-up, pure Python and numpy (no torch): configuration, state machine, D*.

- :class:`AdaptiveConfig` (:mod:`~autowarm.adaptive.config`): every option, declared once, and
  the one parser of the ``adaptive[:key=value,...]`` spec; :data:`MODES`, the benchmark's modes.
- :class:`AdaptiveState` (:mod:`~autowarm.adaptive.state`): the typed state, stored as plain values.
- :class:`AdaptiveWarmupSchedule` (:mod:`~autowarm.adaptive.machine`): the state machine.
- :func:`fit_delta_star`, :func:`constants`, :func:`multiplier` (:mod:`~autowarm.adaptive.dstar`):
  the paper's constants and its D* rule; :func:`kappa` (:mod:`~autowarm.adaptive.kappa`): the norm
  constant of the D* rule.

The torch adapter is ``autowarm.AdaptiveWarmup`` (:mod:`autowarm.lr.adaptive`). The decay after the
switch is built from :mod:`autowarm.schedules` pieces.

>>> from autowarm.adaptive import AdaptiveWarmupSchedule
>>> s = AdaptiveWarmupSchedule(total_steps=4, target_loss=0.0, delta_star=1.0, smoothing=0.0,
...                            warmup_max_frac=None, max_growth=None)  # the paper's switch rule
>>> s.simulate([3.0, 2.0, 0.5, 0.4])["state"]["warmup_end_step"]  # the first gap at or below D*
3
"""

# autowarm.schedules re-exports names of this package under their old homes: load it first so
# that either package can be imported first.
import autowarm.schedules  # noqa: F401  (isort: skip)
from autowarm.adaptive.config import MODES, RAMPS, AdaptiveConfig, is_adaptive_spec, parse_spec
from autowarm.adaptive.dstar import (
    constants,
    fit_delta_star,
    linear_multiplier,
    multiplier,
)
from autowarm.adaptive.kappa import NORMS, kappa, per_matrix_kappa
from autowarm.adaptive.machine import MIN_GAP, AdaptiveWarmupSchedule
from autowarm.adaptive.state import PHASES, AdaptiveState

__all__ = [
    "MIN_GAP",
    "MODES",
    "NORMS",
    "PHASES",
    "RAMPS",
    "AdaptiveConfig",
    "AdaptiveState",
    "AdaptiveWarmupSchedule",
    "constants",
    "fit_delta_star",
    "is_adaptive_spec",
    "kappa",
    "linear_multiplier",
    "multiplier",
    "parse_spec",
    "per_matrix_kappa",
]
