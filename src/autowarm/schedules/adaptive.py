"""Old home of the adaptive warm-up's state machine; it lives in :mod:`autowarm.adaptive`.

The names are re-exported here so that existing imports keep working.
"""

from autowarm.adaptive.config import RAMPS
from autowarm.adaptive.machine import MIN_GAP, AdaptiveWarmupSchedule
from autowarm.adaptive.state import PHASES

__all__ = ["MIN_GAP", "PHASES", "RAMPS", "AdaptiveWarmupSchedule"]
