"""Norm-constrained (LMO) optimizers, their norms, parameter grouping and a registry.

``autowarm.optim.build(name, model, lr=..., **hparams)`` returns one ``torch.optim.Optimizer``
for ``adamw``, ``lion``, ``muon``, ``normsgd``, ``signsgd`` or ``signum``; its param groups carry a
``"norm"`` key that :class:`autowarm.AdaptiveWarmup` reads to compute kappa. Each optimizer is a
pure per-tensor update (``muon_update``, ``lion_update``, ...) plus a thin class.
"""

from autowarm.optim import norms
from autowarm.optim.adamw import adamw_update
from autowarm.optim.grouping import GROUPS, group_parameters, is_embed_head_name
from autowarm.optim.lion import Lion, lion_update
from autowarm.optim.muon import SCALES, Muon, muon_update, scale_factor
from autowarm.optim.newton_schulz import orthogonalize
from autowarm.optim.normsgd import NormSGD, normsgd_update
from autowarm.optim.registry import OPTIMIZERS, available, build, hyperparameters
from autowarm.optim.sign import Signum, signum_update

__all__ = [
    "GROUPS",
    "OPTIMIZERS",
    "SCALES",
    "Lion",
    "Muon",
    "NormSGD",
    "Signum",
    "adamw_update",
    "available",
    "build",
    "group_parameters",
    "hyperparameters",
    "is_embed_head_name",
    "lion_update",
    "muon_update",
    "norms",
    "normsgd_update",
    "orthogonalize",
    "scale_factor",
    "signum_update",
]
