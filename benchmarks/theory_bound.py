"""Time and accuracy of ``autowarm.theory.bound`` up to T = 1e6, and of the loss-law fits.

For each horizon T: the time of one ``bound()`` call (median of repeats) on linear decay and on a
cosine with noisy gradient norms, and ``gamma* sqrt(T)`` of linear decay (-> 1) and the constant
schedule's ``T2`` against its closed form ``(1 + H_{T-1})/2`` (relative error). Then the wall time
of ``fit_law`` for both laws on two synthetic 2000-step curves (constant + cosine, MPL-generated).

    python benchmarks/theory_bound.py --out benchmarks/results/theory_bound.json
"""

from __future__ import annotations

import argparse
import json
import math
import platform
import statistics
import time
from pathlib import Path

import numpy as np

from autowarm.theory import LossCurve, bound, fit_law, predict_loss

MPL = dict(L0=2.375, A=0.654, alpha=0.429, B=523.0, C=2.03, beta=0.594, gamma=0.635)


def timed(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def harmonic(n: int) -> float:
    return math.fsum(1.0 / k for k in range(1, n + 1))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--out", type=Path)
    args = ap.parse_args()
    rows = []
    for T in (10**3, 10**4, 10**5, 10**6):
        lin = 1.0 - (np.arange(T) + 1.0) / T
        cos = 0.5 * (1 + np.cos(np.pi * (np.arange(T) + 1.0) / T))
        g = 1.0 + 0.1 * np.random.default_rng(0).standard_normal(T) ** 2
        b = bound(lin)
        const = bound(np.ones(T)).T2
        rows.append(
            {
                "T": T,
                "ms_linear": 1e3 * timed(lambda lin=lin: bound(lin), args.repeats),
                "ms_cosine_noisy_G": 1e3 * timed(lambda c=cos, g=g: bound(c, g), args.repeats),
                "gamma_star_sqrt_T_linear": b.gamma_star * math.sqrt(b.steps),
                "const_T2_rel_error": abs(const / (0.5 * (1 + harmonic(T - 1))) - 1),
            }
        )
        print(rows[-1])
    T, peak = 2000, 3e-4
    curves = []
    for shape in ("constant", "cosine"):
        k = np.arange(T) + 1.0
        m = np.minimum(k / 100, 1.0)
        if shape == "cosine":
            m = np.where(k <= 100, m, 0.5 * (1 + np.cos(np.pi * (k - 100) / (T - 100))))
        lrs, steps = peak * m, np.arange(20, T + 1, 20)
        curves.append(LossCurve(lrs, steps, predict_loss("mpl", MPL, lrs, steps)))
    fits = {}
    for law in ("multi-power", "annealing"):
        t0 = time.perf_counter()
        fit = fit_law(law, curves)
        fits[law] = {"seconds": time.perf_counter() - t0, "rmse": fit.error["rmse"]}
        print(law, fits[law])
    result = {
        "date": time.strftime("%Y-%m-%d"),
        "machine": f"{platform.machine()} {platform.processor() or ''}".strip(),
        "numpy": np.__version__,
        "bound": rows,
        "fit_law": fits,
    }
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
