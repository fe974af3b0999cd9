"""Pure LR schedules: ``step -> multiplier`` factories, combinators and the adaptive warm-up.

No torch here (STYLE.md): everything is plain Python and numpy, so schedules can be planned,
plotted and tested without a model. ``step`` counts optimizer updates already taken (``f(0)``
scales the first update); pieces are end-inclusive (see :mod:`autowarm.schedules.pieces`).

>>> from autowarm import schedules
>>> s = schedules.wsd(total_steps=100, warmup_steps=10, cooldown_frac=0.2)
>>> s(0), s(9), s(50), s(99)
(0.1, 1.0, 1.0, 0.0)
"""

from autowarm.schedules.adaptive import AdaptiveWarmupSchedule
from autowarm.schedules.dstar import constants, fit_delta_star, multiplier
from autowarm.schedules.kappa import NORMS, kappa, per_matrix_kappa
from autowarm.schedules.pieces import (
    Constant,
    InverseSqrt,
    Join,
    Product,
    Ramp,
    Tabulated,
    join,
    product,
    sequence,
)
from autowarm.schedules.presets import (
    DECAY_SHAPES,
    WARMUP_SHAPES,
    constant,
    cos_inf,
    cosine,
    cyclic,
    decay_ramp,
    exponential,
    inverse_sqrt,
    linear,
    onecycle,
    polynomial,
    power,
    rex,
    warmup_cosine,
    warmup_decay,
    warmup_ramp,
    wsd,
)
from autowarm.schedules.registry import (
    SCHEDULES,
    Schedule,
    build,
    from_spec,
    parse_spec,
    sample,
)
from autowarm.schedules.special import Cyclic, OneCycle, PowerLaw, UntunedWarmup


def tabulated(values) -> Tabulated:
    """A schedule that returns ``values[step]``, holding the last value beyond the table.

    >>> tabulated([0.5, 1.0])(5)
    1.0
    """
    return Tabulated(tuple(values))


__all__ = [
    "DECAY_SHAPES",
    "NORMS",
    "SCHEDULES",
    "WARMUP_SHAPES",
    "AdaptiveWarmupSchedule",
    "Constant",
    "Cyclic",
    "InverseSqrt",
    "Join",
    "OneCycle",
    "PowerLaw",
    "Product",
    "Ramp",
    "Schedule",
    "Tabulated",
    "UntunedWarmup",
    "build",
    "constant",
    "constants",
    "cos_inf",
    "cosine",
    "cyclic",
    "decay_ramp",
    "exponential",
    "fit_delta_star",
    "from_spec",
    "inverse_sqrt",
    "join",
    "kappa",
    "linear",
    "multiplier",
    "onecycle",
    "parse_spec",
    "per_matrix_kappa",
    "polynomial",
    "power",
    "product",
    "rex",
    "sample",
    "sequence",
    "tabulated",
    "warmup_cosine",
    "warmup_decay",
    "warmup_ramp",
    "wsd",
]
