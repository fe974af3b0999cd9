"""matplotlib, imported on demand with a headless backend and a clear error when missing."""

from __future__ import annotations

from autowarm._extras import require


def pyplot():
    """Return ``matplotlib.pyplot`` with the Agg backend, or raise naming the extra to install.

    Raises:
        autowarm.MissingExtraError: matplotlib is not installed (``pip install 'autowarm[plot]'``).
    """
    matplotlib = require("matplotlib", "plot", "plotting")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt
