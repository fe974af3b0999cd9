"""Calibrate the adaptive warm-up from a probe run: measured (K0, K1, K2) instead of the paper's fit.

:class:`autowarm.AdaptiveWarmup` normally fixes its law ``eta(D) = D / (K0 + K1 D + K2 D^2)`` from
standard hyperparameters (``eta(D0) = lr / div``, ``eta(D*) = lr``, ``eta'(D*) = 0``, with ``D*``
chosen by the paper's Gaussian-weighted rule). A probe run (``autowarm probe``) measures the
constants instead. :func:`calibration` turns its ``probe.json`` into keyword arguments:

- ``use="k_constants"`` -> ``{"k_constants": (K0, K1, K2), "target_loss": f*}``: the multiplier
  is ``eta(D) / eta(D*)`` of the *measured* law, with ``D* = sqrt(K0 / K2)`` (its peak). The
  ratio is free of the units of ``K`` (they cancel), so the probe's norm pair does not matter,
  and the warm-up starts wherever the measured law puts ``D0`` (``div_factor`` then only sets
  the first update, taken before any loss is seen);
- ``use="delta_star"`` -> ``{"delta_star": sqrt(K0 / K2), "target_loss": f*}``: only the peak
  gap is measured; the ramp keeps its shape (``ramp``, linear by default, or the paper's closed
  form with ``ramp="paper"``) from ``1/div_factor`` to the measured peak.

Both need curvature that *falls* with the gap: a positive Spearman correlation of ``K`` with
``D`` over the fit window, and ``K0 > 0``, ``K2 > 0`` (``rho = 2``, an interior peak of ``eta``).
When the probe finds otherwise the measured law gives no warm-up and :func:`calibration` raises
``ValueError`` saying so, rather than inventing one.

Passing a ``target_loss`` other than the probe's refits the stored points with the new
``f*`` (the gap shifts, so the constants change; for ``rho = 2`` the fit quality does not).
:func:`schedule_spec` renders the result as an ``autowarm train --schedule`` spec.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from pathlib import Path

from autowarm.diagnostics.fit import OUTLIER_Z, TRANSIENT_FRAC, WINDOWS, fit_smoothness

USES = ("k_constants", "delta_star")


def load_probe(probe: str | Path | Mapping) -> dict:
    """A probe result as a dict: a ``probe.json`` path, a run directory holding one, or a dict."""
    if isinstance(probe, Mapping):
        return dict(probe)
    path = Path(probe)
    if path.is_dir():
        path = path / "probe.json"
    if not path.is_file():
        raise FileNotFoundError(f"no probe result at {path} (run `autowarm probe --out DIR`)")
    return json.loads(path.read_text())


def calibration(
    probe: str | Path | Mapping,
    *,
    use: str = "k_constants",
    target_loss: float | None = None,
    window: str = "steady",
) -> dict:
    """Keyword arguments for :class:`autowarm.AdaptiveWarmup` from a probe's measured constants.

    Args:
        probe: ``probe.json`` (path, its directory, or the loaded dict) with ``K0, K1, K2, rho``,
            ``target_loss`` and, for a refit, ``points`` and ``window``.
        use: ``"k_constants"`` (the measured law) or ``"delta_star"`` (its peak gap only).
        target_loss: ``f*`` for the run; ``None`` keeps the probe's. A different value refits.
        window: which fit: ``"steady"`` (the top-level constants, after the transient) or
            ``"descent"`` (``fit_descent``: the initial descent of ``K``, the warm-up phase).

    Returns:
        ``{"k_constants": (K0, K1, K2), "target_loss": f*}`` or
        ``{"delta_star": D*, "target_loss": f*}``.

    >>> probe = {"K0": 40.0, "K1": -5.0, "K2": 10.0, "rho": 2.0, "target_loss": 1.5}
    >>> calibration(probe)
    {'k_constants': (40.0, -5.0, 10.0), 'target_loss': 1.5}
    >>> calibration(probe, use="delta_star")
    {'delta_star': 2.0, 'target_loss': 1.5}
    """
    if use not in USES:
        raise ValueError(f"use must be one of {', '.join(USES)}; got {use!r}")
    if window not in WINDOWS:
        raise ValueError(f"window must be one of {', '.join(WINDOWS)}; got {window!r}")
    data = load_probe(probe)
    f_star = data.get("target_loss") if target_loss is None else float(target_loss)
    if f_star is None or not math.isfinite(f_star):
        raise ValueError(f"the probe has no finite target_loss; pass target_loss (got {f_star!r})")
    if target_loss is not None and target_loss != data.get("target_loss"):
        points = data.get("points")
        if not points:
            raise ValueError("refitting for another target_loss needs the probe's points")
        settings = data.get("window", {})
        fit = fit_smoothness(
            [p["loss"] - f_star for p in points],
            [p["K"] for p in points],
            rho=2.0,
            transient_frac=settings.get("transient_frac", TRANSIENT_FRAC),
            outlier_z=settings.get("outlier_z", OUTLIER_Z),
            window=window,
        )
        k0, k1, k2, rho, spear = fit.K0, fit.K1, fit.K2, fit.rho, fit.spearman
    else:
        src = data if window == "steady" else data.get("fit_descent")
        if not src:
            raise ValueError("the probe result has no fit_descent (re-run `autowarm probe`)")
        k0, k1, k2 = (float(src[k]) for k in ("K0", "K1", "K2"))
        rho = float(src.get("rho", 2.0))
        spear = src.get("spearman")
    if spear is not None and not spear > 0:
        raise ValueError(
            f"K does not fall with the gap over the probe's window (Spearman {spear:.3g} <= 0): "
            "the measured law gives no warm-up shape; keep the standard fit (kappa) or pass "
            "delta_star yourself"
        )
    if rho != 2.0:
        raise ValueError(f"the adaptive warm-up's law has rho = 2; the probe's fit has rho = {rho}")
    if not (k0 > 0 and k2 > 0):
        raise ValueError(
            f"the measured law K = {k0:.4g} + {k1:.4g} D + {k2:.4g} D^2 has no warm-up shape "
            "(it needs K0 > 0 and K2 > 0: curvature falling with the gap); keep the standard "
            "fit (kappa) or pass delta_star yourself"
        )
    ds = math.sqrt(k0 / k2)
    if k0 + k1 * ds + k2 * ds * ds <= 0:
        raise ValueError(f"the measured law has a non-positive K at D* = {ds:.4g}")
    if use == "delta_star":
        return {"delta_star": ds, "target_loss": f_star}
    return {"k_constants": (k0, k1, k2), "target_loss": f_star}


def schedule_spec(kwargs: Mapping) -> str:
    """The ``--schedule`` spec of :func:`calibration`'s result for ``autowarm train``.

    >>> schedule_spec({"k_constants": (40.0, -5.0, 10.0), "target_loss": 1.5})
    'adaptive:k_constants=40/-5/10,target_loss=1.5'
    >>> schedule_spec({"delta_star": 2.0, "target_loss": 1.5})
    'adaptive:delta_star=2,target_loss=1.5'
    """
    parts = []
    for key, value in kwargs.items():
        if key == "k_constants":
            parts.append("k_constants=" + "/".join(f"{float(k):.10g}" for k in value))
        else:
            parts.append(f"{key}={float(value):.10g}")
    return "adaptive:" + ",".join(parts)


def probe_result(
    points: list[dict],
    *,
    target_loss: float,
    norm: str | None,
    rho_search: bool = True,
    transient_frac: float = TRANSIENT_FRAC,
    outlier_z: float = OUTLIER_Z,
    meta: Mapping | None = None,
) -> dict:
    """The ``probe.json`` document of measured points: the ``rho = 2`` fit at the top level.

    Top-level ``K0, K1, K2, rho`` (= 2, the adaptive warm-up's law), ``r2``, ``spearman``,
    ``delta_star``; ``fit`` (the full ``rho = 2`` report), ``fit_rho`` (the searched ``rho``, if
    ``rho_search``), ``fit_descent`` (``rho = 2`` over the initial descent of ``K``), ``window``,
    ``points``, ``calibration`` / ``calibration_descent`` (:func:`calibration`'s arguments, or
    ``{"error": ...}`` when the law has no warm-up shape) and their ``schedule_spec`` /
    ``schedule_spec_descent``; ``meta`` entries (run settings) are merged in.
    """
    from autowarm.diagnostics.fit import fit_smoothness

    gaps = [p["loss"] - target_loss for p in points]
    ks = [p["K"] for p in points]
    window = {"transient_frac": transient_frac, "outlier_z": outlier_z}
    fit = fit_smoothness(gaps, ks, rho=2.0, **window)
    doc: dict = dict(meta or {})
    doc.update(
        target_loss=float(target_loss),
        norm=norm,
        K0=fit.K0,
        K1=fit.K1,
        K2=fit.K2,
        rho=fit.rho,
        r2=fit.r2,
        spearman=fit.spearman,
        delta_star=fit.delta_star,
        delta_star_in_range=fit.delta_star is not None
        and fit.gap_range[0] <= fit.delta_star <= fit.gap_range[1],
        fit=fit.to_dict(),
        window={**window, "rule": fit.rule},
    )
    if rho_search:
        doc["fit_rho"] = fit_smoothness(gaps, ks, rho="fit", **window).to_dict()
    try:
        doc["fit_descent"] = fit_smoothness(
            gaps, ks, window="descent", outlier_z=outlier_z
        ).to_dict()
    except ValueError as err:  # too few points in the descent
        doc["fit_descent"] = None
        doc["fit_descent_error"] = str(err)
    for suffix, win in (("", "steady"), ("_descent", "descent")):
        try:
            cal = calibration(doc, window=win)
            doc["calibration" + suffix] = {
                k: list(v) if isinstance(v, tuple) else v for k, v in cal.items()
            }
            doc["schedule_spec" + suffix] = schedule_spec(cal)
        except ValueError as err:
            doc["calibration" + suffix] = {"error": str(err)}
    doc["points"] = [dict(p, gap=p["loss"] - target_loss) for p in points]
    return doc


def write_probe(doc: Mapping, out: str | Path, *, plot: bool = True) -> Path:
    """Write ``out/probe.json`` (and ``out/probe.png`` with ``plot``); return the JSON path."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    path = out / "probe.json"
    path.write_text(json.dumps(doc, indent=1, default=float) + "\n")
    if plot:
        from autowarm.diagnostics.plots import plot_probe

        plot_probe(doc, out / "probe.png")
    return path


__all__ = ["USES", "calibration", "load_probe", "probe_result", "schedule_spec", "write_probe"]
