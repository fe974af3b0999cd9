"""Old home of the D* fit; it lives in :mod:`autowarm.adaptive.dstar` (names re-exported here)."""

from autowarm.adaptive.dstar import (
    constants,
    fit_delta_star,
    linear_multiplier,
    multiplier,
    objective,
)

__all__ = ["constants", "fit_delta_star", "linear_multiplier", "multiplier", "objective"]
