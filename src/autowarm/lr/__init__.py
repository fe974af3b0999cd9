"""Torch glue: LR-scheduler adapters for the pure schedules and the adaptive warm-up."""

from autowarm.lr.adaptive import AdaptiveWarmup
from autowarm.lr.dist import mean_across_ranks
from autowarm.lr.fixed import FixedSchedule

__all__ = ["AdaptiveWarmup", "FixedSchedule", "mean_across_ranks"]
