"""The norm constant kappa of the adaptive warm-up's D* rule.

For parameters ``x = (W_1, ..., W_L)`` with the product norm ``||x|| = max_i ||W_i||`` (the norm of
the LMO optimizers), kappa is the largest ratio between the dual norm and the norm,

    kappa = sup_v ||v||_* / ||v||,   ||v||_* = sum_i ||V_i||_{i,*},

which is the sum over matrices of the per-matrix constant ``sup ||V||_* / ||V||``:

=============  =================  ==================  =======================
norm           primal per matrix  dual per matrix     constant per m x n matrix
=============  =================  ==================  =======================
``spectral``   spectral (max sv)  nuclear (sum sv)    ``min(m, n)``
``sign``       max-abs entry      l1 (sum abs)        ``m * n``
``frobenius``  Frobenius          Frobenius           ``1``
=============  =================  ==================  =======================

Muon's LMO is the spectral ball, Lion/sign-SGD's the max-norm ball and normalized SGD's the
Frobenius ball (arXiv 2602.05813, Appendix C). This module is the single definition; the optimizer
norms, the adaptive warm-up and the smoothness probe all call it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

NORMS = ("spectral", "sign", "frobenius")


def _check_shape(shape: Sequence[int]) -> tuple[int, int]:
    dims = tuple(int(d) for d in shape)
    if len(dims) != 2 or min(dims) < 1:
        raise ValueError(f"kappa needs 2-D shapes with positive sizes (m, n); got {tuple(shape)!r}")
    return dims[0], dims[1]


def per_matrix_kappa(norm: str, shape: Sequence[int]) -> float:
    """Return ``sup ||V||_* / ||V||`` for one ``m x n`` matrix in the given norm.

    >>> per_matrix_kappa("spectral", (768, 2048)), per_matrix_kappa("sign", (3, 4))
    (768.0, 12.0)
    """
    m, n = _check_shape(shape)
    if norm == "spectral":
        return float(min(m, n))
    if norm == "sign":
        return float(m * n)
    if norm == "frobenius":
        return 1.0
    raise ValueError(f"unknown norm {norm!r}; valid norms are {', '.join(NORMS)}")


def kappa(norm: str, shapes: Iterable[Sequence[int]]) -> float:
    """Return kappa for the max-over-matrices product norm over ``shapes``.

    Args:
        norm: ``"spectral"`` (Muon), ``"sign"`` (Lion, sign-SGD; also used for AdamW, whose update is
            sign-like), or ``"frobenius"`` (normalized SGD).
        shapes: the ``(m, n)`` shapes of the matrices the optimizer's LMO updates. At least one.

    Returns:
        ``sum(min(m, n))`` for spectral, ``sum(m * n)`` for sign, the number of matrices for
        Frobenius.

    >>> kappa("spectral", [(768, 2304), (768, 768)])
    1536.0
    >>> kappa("frobenius", [(4, 4)] * 61)
    61.0
    """
    if norm not in NORMS:
        raise ValueError(f"unknown norm {norm!r}; valid norms are {', '.join(NORMS)}")
    shapes = list(shapes)
    if not shapes:
        raise ValueError("kappa needs at least one 2-D shape; got an empty list")
    return float(sum(per_matrix_kappa(norm, s) for s in shapes))
