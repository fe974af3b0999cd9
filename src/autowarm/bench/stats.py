"""Seed statistics for benchmark claims: mean, spread and a paired t-test (no SciPy).

A claim that arm A beats arm B rests on runs paired by seed (the seed fixes both the model's
initialisation and the data order, so seed ``s`` of A and seed ``s`` of B differ only in the
schedule). The rule used throughout the reports: the paired mean difference is *significant* when
its two-sided 95% Student-t interval excludes 0, i.e. ``|mean(d)| > t_{0.975, n-1} * sd(d)/sqrt(n)``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

# Two-sided 95% critical values t_{0.975, df} of Student's t distribution, df = 1..30
# (standard tables, e.g. NIST/SEMATECH e-Handbook 1.3.6.7.2); beyond 30 the normal 1.96 is used
# with the df=30 value as an upper bound for df in (30, 120].
_T975 = (
    12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228,
    2.201, 2.179, 2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086,
    2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042,
)  # fmt: skip


def t_critical(df: int) -> float:
    """Two-sided 95% critical value of Student's t with ``df`` degrees of freedom.

    >>> t_critical(2), t_critical(1000)
    (4.303, 1.96)
    """
    if isinstance(df, bool) or not isinstance(df, int) or df < 1:
        raise ValueError(f"df must be an integer >= 1; got {df!r}")
    if df <= len(_T975):
        return _T975[df - 1]
    return 2.042 if df <= 120 else 1.96


@dataclass(frozen=True)
class Summary:
    """Mean and sample standard deviation (ddof=1; 0 for one value) of ``n`` values."""

    mean: float
    std: float
    n: int

    def __str__(self) -> str:
        return f"{self.mean:.4f} ± {self.std:.4f}" if self.n > 1 else f"{self.mean:.4f}"


def summarize(values: Sequence[float]) -> Summary:
    """Mean, sample std and count of finite ``values`` (non-finite values count as missing).

    >>> summarize([1.0, 2.0, 3.0])
    Summary(mean=2.0, std=1.0, n=3)
    """
    vals = [float(v) for v in values if math.isfinite(float(v))]
    if not vals:
        return Summary(math.nan, math.nan, 0)
    mean = sum(vals) / len(vals)
    if len(vals) == 1:
        return Summary(mean, 0.0, 1)
    var = sum((v - mean) ** 2 for v in vals) / (len(vals) - 1)
    return Summary(mean, math.sqrt(var), len(vals))


@dataclass(frozen=True)
class PairedDifference:
    """``a - b`` paired by seed: mean, std, half-width of the 95% t interval, and the verdict."""

    mean: float
    std: float
    n: int
    half_width: float
    significant: bool

    @property
    def verdict(self) -> str:
        """``"better"`` (a lower, significant), ``"worse"``, ``"tie"``, or ``"n/a"`` (n < 2)."""
        if self.n < 2:
            return "n/a"
        if not self.significant:
            return "tie"
        return "better" if self.mean < 0 else "worse"


def paired_difference(a: dict[int, float], b: dict[int, float]) -> PairedDifference:
    """Paired difference ``a[s] - b[s]`` over the seeds both have (lower loss is better).

    >>> d = paired_difference({0: 1.0, 1: 1.1, 2: 1.2}, {0: 1.5, 1: 1.5, 2: 1.7})
    >>> round(d.mean, 3), d.significant, d.verdict
    (-0.467, True, 'better')
    """
    seeds = sorted(set(a) & set(b))
    diffs = [a[s] - b[s] for s in seeds if math.isfinite(a[s]) and math.isfinite(b[s])]
    s = summarize(diffs)
    if s.n < 2:
        return PairedDifference(s.mean, s.std, s.n, math.nan, False)
    half = t_critical(s.n - 1) * s.std / math.sqrt(s.n)
    return PairedDifference(s.mean, s.std, s.n, half, abs(s.mean) > half)


def lr_sensitivity(losses: Mapping[float, float | Sequence[float]], initial_loss: float) -> float:
    """LR sensitivity of one arm (Wortsman et al. 2023): its mean excess loss over an LR range.

    With ``L(eta)`` the final loss at peak LR ``eta`` (the mean over seeds) and ``L0`` the loss at
    initialisation,

        sensitivity = mean over eta of ( min(L(eta), L0) - min over eta' of min(L(eta'), L0) )

    A run whose loss is non-finite (diverged) or above ``L0`` counts as ``L0`` before the mean over
    seeds, so a diverged run costs as much as not training at all. For a freshly initialised
    language model ``L0 = ln(vocabulary size)`` (a uniform prediction). 0 means every LR of the
    range is as good as the best one.

    Args:
        losses: peak LR (any sortable key) -> final loss, or the final losses of its seeds.
        initial_loss: ``L0``, a finite number.

    >>> round(lr_sensitivity({1e-3: 2.0, 3e-3: [1.4, 1.6], 1e-2: float("nan")}, 5.0), 4)
    1.3333
    """
    if isinstance(initial_loss, bool) or not isinstance(initial_loss, (int, float)):
        raise TypeError(f"initial_loss must be a number; got {initial_loss!r}")
    if not math.isfinite(initial_loss):
        raise ValueError(f"initial_loss must be finite; got {initial_loss!r}")
    if not losses:
        raise ValueError("losses is empty: the LR sensitivity needs at least one LR")
    means = []
    for lr, value in losses.items():
        values = [value] if isinstance(value, (int, float)) else list(value)
        if not values:
            raise ValueError(f"no losses at LR {lr!r}")
        clipped = [
            min(float(v), initial_loss) if math.isfinite(float(v)) else initial_loss for v in values
        ]
        means.append(sum(clipped) / len(clipped))
    best = min(means)
    return sum(m - best for m in means) / len(means)
