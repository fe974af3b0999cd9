"""Schedule theory you can act on, in pure numpy: bound, LR transfer, extension, refinement, laws.

Everything takes a schedule sampled to an array (``autowarm.schedules.sample(schedule, T)``) and
imports neither torch nor any other autowarm module.

- :func:`bound`: the convex last-iterate bound ``Omega_T(gamma) = T1/gamma + gamma T2`` of any
  schedule and gradient-norm sequence in O(T), its optimal base LR ``gamma*`` and the curve
  ``Omega_t`` (Schaipp et al. 2025, arXiv 2501.18965; Defazio et al. 2023, arXiv 2310.07831).
- :func:`transfer_lr`: ``gamma_B = gamma_A gamma*(B)/gamma*(A)`` across schedules and horizons.
- :func:`extend_wsd`: continue a finished WSD run to a longer horizon (hold, ``x rho``, cool down).
- :func:`refine`: the refined schedule ``w_t sum_{p>t} w_p`` from recorded gradient norms.
- :func:`fit_law` / :func:`predict_loss`: the multi-power law (Luo et al. 2025, arXiv 2503.12811)
  and the annealing law (Tissue et al. 2024, arXiv 2408.11029).

>>> from autowarm import theory
>>> T = 10_000
>>> linear = [1 - (k + 1) / T for k in range(T)]
>>> round(theory.bound(linear).gamma_star * T**0.5, 2)
1.0
"""

from autowarm.theory.bound import Bound, bound
from autowarm.theory.laws import (
    LAWS,
    LawFit,
    LossCurve,
    annealing_law,
    fit_error,
    fit_law,
    multi_power_law,
    predict_loss,
)
from autowarm.theory.refine import median_filter, refine
from autowarm.theory.transfer import (
    Extension,
    Transfer,
    bound_table,
    extend_wsd,
    transfer_lr,
    wsd_multipliers,
)

__all__ = [
    "LAWS",
    "Bound",
    "Extension",
    "LawFit",
    "LossCurve",
    "Transfer",
    "annealing_law",
    "bound",
    "bound_table",
    "extend_wsd",
    "fit_error",
    "fit_law",
    "median_filter",
    "multi_power_law",
    "predict_loss",
    "refine",
    "transfer_lr",
    "wsd_multipliers",
]
