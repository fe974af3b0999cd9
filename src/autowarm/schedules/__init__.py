"""Pure LR schedules: ``step -> multiplier`` factories, combinators and the adaptive warm-up.

No torch here: everything is plain Python and numpy, so schedules can be planned, plotted and
tested without a model, and any layer can import them. ``step`` counts optimizer updates already
taken: ``f(k)`` is the multiplier of update ``k + 1`` (torch's ``last_epoch``, optax's ``count``);
pieces are end-inclusive (see :mod:`autowarm.schedules.pieces`). One vocabulary
(:data:`VOCABULARY`): ``*_steps`` count updates, ``*_frac`` are fractions of ``total_steps``,
``min_lr_factor`` is the floor, ``decay`` the decay shape; documented aliases (:data:`ALIASES`)
keep the spellings of torch and of the WSD papers working.

>>> from autowarm import schedules
>>> s = schedules.wsd(total_steps=100, warmup_steps=10, decay_frac=0.2)
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
    ALIASES,
    DECAY_SHAPES,
    VOCABULARY,
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
    validate_spec,
)
from autowarm.schedules.special import Cyclic, OneCycle, PowerLaw, UntunedWarmup


def tabulated(values) -> Tabulated:
    """A schedule that returns ``values[step]``, holding the last value beyond the table.

    >>> tabulated([0.5, 1.0])(5)
    1.0
    """
    return Tabulated(tuple(values))


__all__ = [
    "ALIASES",
    "DECAY_SHAPES",
    "NORMS",
    "SCHEDULES",
    "VOCABULARY",
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
    "validate_spec",
    "warmup_cosine",
    "warmup_decay",
    "warmup_ramp",
    "wsd",
]
