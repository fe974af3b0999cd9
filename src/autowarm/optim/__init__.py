"""Norm-constrained (LMO) optimizers, their norms, parameter grouping and a registry.

``autowarm.optim.build(name, model, lr=..., **hparams)`` returns one ``torch.optim.Optimizer``
for ``adamw``, ``lion``, ``lionar``, ``muon``, ``normsgd``, ``signsgd`` or ``signum``, or one of
the learning-rate-free and warm-up-free baselines ``schedulefree-adamw``, ``prodigy``,
``dadapt-adam`` (``pip install 'autowarm[baselines]'``) and ``radam``; its param groups carry a
``"norm"`` key that :class:`autowarm.AdaptiveWarmup` reads to compute kappa. :data:`OPTIMIZERS`
is the table behind it (:class:`OptimizerSpec` per name). Each of autowarm's optimizers is a pure
per-tensor update (``muon_update``, ``lion_update``, ...) plus a thin class.
"""

from autowarm.optim import norms
from autowarm.optim.adamw import adamw_update
from autowarm.optim.grouping import GROUPS, group_parameters, is_embed_head_name
from autowarm.optim.lion import Lion, lion_update
from autowarm.optim.lionar import LionAR, lionar_update
from autowarm.optim.muon import SCALES, Muon, muon_update, scale_factor
from autowarm.optim.newton_schulz import orthogonalize
from autowarm.optim.normsgd import NormSGD, normsgd_update
from autowarm.optim.registry import (
    OPTIMIZERS,
    OptimizerSpec,
    available,
    build,
    hyperparameters,
    run_hyperparameters,
    spec,
)
from autowarm.optim.sign import Signum, signum_update

__all__ = [
    "GROUPS",
    "OPTIMIZERS",
    "SCALES",
    "Lion",
    "LionAR",
    "Muon",
    "NormSGD",
    "OptimizerSpec",
    "Signum",
    "adamw_update",
    "available",
    "build",
    "group_parameters",
    "hyperparameters",
    "is_embed_head_name",
    "lion_update",
    "lionar_update",
    "muon_update",
    "norms",
    "normsgd_update",
    "orthogonalize",
    "run_hyperparameters",
    "scale_factor",
    "signum_update",
    "spec",
]
