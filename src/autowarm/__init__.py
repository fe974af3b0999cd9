"""autowarm: loss-adaptive LR warm-up and a complete LR-schedule toolkit for LLM pretraining.

The public API is curated here; the logic lives in the subpackages.
"""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["__version__"]
