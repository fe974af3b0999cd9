"""matplotlib, imported on demand with a headless backend and a clear error when missing."""

from __future__ import annotations


def pyplot():
    """Return ``matplotlib.pyplot`` with the Agg backend, or raise naming the extra to install."""
    try:
        import matplotlib
    except ImportError as err:  # pragma: no cover - exercised only without the extra
        raise ImportError(
            "plotting needs matplotlib: pip install 'autowarm[plot]' (or matplotlib)"
        ) from err
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt
