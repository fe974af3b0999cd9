"""The three norms of the LMO optimizers as small objects: LMO, norm, dual norm and kappa.

For a norm ``||.||`` on one tensor (viewed as a matrix ``shape[0] x rest``; a vector as a row):

- ``lmo(G) = argmin_{||X|| <= 1} <G, X>``, the unit-ball step an LMO optimizer takes
  (``x <- x + lr * lmo(m)``); a zero ``G`` gives zeros;
- ``norm(X)`` and ``dual_norm(G) = sup_{||X|| <= 1} <G, X> = -<G, lmo(G)>``;
- ``kappa(shapes)``: the constant of the adaptive warm-up's D* rule for the max-over-matrices
  product norm, from the single definition :func:`autowarm.schedules.kappa.kappa`.

========================  =================  ====================  ========================
object                    ``norm``           ``dual_norm``         ``lmo(G)``
========================  =================  ====================  ========================
``SPECTRAL`` (Muon)       largest sing. val  nuclear (sum s.v.)    ``-U V^T`` (exact SVD)
``SIGN`` (Lion, Signum)   max abs entry      l1 (sum abs)          ``-sign(G)``
``FROBENIUS`` (normSGD)   Frobenius          Frobenius             ``-G / ||G||_F``
========================  =================  ====================  ========================

(arXiv 2602.05813, App. C; Pethick et al. 2025, arXiv 2502.07529.) The optimizers use the same
directions (Muon through Newton-Schulz rather than an SVD); these objects are the reference the
tests and the smoothness probe measure with.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import torch
from torch import Tensor

from autowarm.schedules.kappa import NORMS
from autowarm.schedules.kappa import kappa as _kappa


def as_matrix(t: Tensor) -> Tensor:
    """The matrix view of a tensor: 2-D as is, ``ndim > 2`` as ``shape[0] x rest``, 1-D as a row."""
    if t.ndim == 0:
        return t.reshape(1, 1)
    if t.ndim == 1:
        return t.reshape(1, -1)
    return t.reshape(t.shape[0], -1)


@dataclass(frozen=True)
class Norm:
    """A norm on tensors: ``name`` is one of ``"spectral"``, ``"sign"``, ``"frobenius"``."""

    name: str

    def __post_init__(self) -> None:
        if self.name not in NORMS:
            raise ValueError(f"unknown norm {self.name!r}; valid norms are {', '.join(NORMS)}")

    def norm(self, t: Tensor) -> Tensor:
        """The norm of ``t`` (a 0-D tensor).

        >>> SPECTRAL.norm(torch.diag(torch.tensor([3.0, -4.0])))
        tensor(4.)
        """
        x = as_matrix(t)
        if self.name == "spectral":
            return torch.linalg.matrix_norm(x, ord=2)
        if self.name == "sign":
            return x.abs().amax()
        return torch.linalg.vector_norm(x)

    def dual_norm(self, t: Tensor) -> Tensor:
        """The dual norm ``sup_{||X|| <= 1} <t, X>``.

        >>> SPECTRAL.dual_norm(torch.diag(torch.tensor([3.0, -4.0])))
        tensor(7.)
        """
        x = as_matrix(t)
        if self.name == "spectral":
            return torch.linalg.matrix_norm(x, ord="nuc")
        if self.name == "sign":
            return x.abs().sum()
        return torch.linalg.vector_norm(x)

    def lmo(self, t: Tensor) -> Tensor:
        """``argmin_{||X|| <= 1} <t, X>``, shaped like ``t`` (zeros for a zero ``t``).

        >>> SIGN.lmo(torch.tensor([2.0, -1.0, 0.0]))
        tensor([-1.,  1., -0.])
        >>> FROBENIUS.lmo(torch.tensor([3.0, 4.0]))
        tensor([-0.6000, -0.8000])
        """
        if self.name == "sign":
            return -torch.sign(t)
        x = as_matrix(t)
        if self.name == "frobenius":
            n = torch.linalg.vector_norm(x)
            return torch.where(n > 0, -t / n.clamp(min=torch.finfo(t.dtype).tiny), 0.0)
        u, s, vh = torch.linalg.svd(x, full_matrices=False)
        keep = (s > s.amax() * max(x.shape) * torch.finfo(x.dtype).eps).to(x.dtype)
        return (-(u * keep) @ vh).reshape(t.shape)

    def kappa(self, shapes: Iterable[Sequence[int]]) -> float:
        """``sup ||v||_* / ||v||`` over the max-over-matrices product norm of ``shapes``.

        Delegates to :func:`autowarm.schedules.kappa.kappa` (the single definition).

        >>> SPECTRAL.kappa([(768, 2304), (768, 768)]), SIGN.kappa([(3, 4)])
        (1536.0, 12.0)
        """
        return _kappa(self.name, shapes)


SPECTRAL = Norm("spectral")
SIGN = Norm("sign")
FROBENIUS = Norm("frobenius")
_BY_NAME = {n.name: n for n in (SPECTRAL, SIGN, FROBENIUS)}


def get(name: str) -> Norm:
    """The norm object of a name.

    >>> get("sign") is SIGN
    True
    """
    try:
        return _BY_NAME[name]
    except (KeyError, TypeError):
        raise ValueError(f"unknown norm {name!r}; valid norms are {', '.join(NORMS)}") from None


__all__ = ["FROBENIUS", "NORMS", "SIGN", "SPECTRAL", "Norm", "as_matrix", "get"]
