"""Old home of the norm constant; it lives in :mod:`autowarm.adaptive.kappa` (re-exported here)."""

from autowarm.adaptive.kappa import NORMS, kappa, per_matrix_kappa

__all__ = ["NORMS", "kappa", "per_matrix_kappa"]
