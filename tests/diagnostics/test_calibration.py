"""Calibration of the adaptive warm-up from a probe, and the `autowarm probe` verb end to end."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
import torch

from autowarm import AdaptiveWarmup
from autowarm.cli import main
from autowarm.diagnostics.calibrate import calibration, load_probe, probe_result, schedule_spec
from autowarm.schedules import AdaptiveWarmupSchedule, parse_spec

ASSETS = Path(__file__).resolve().parents[1] / "assets" / "text"


def _planted_points(k0=40.0, k1=-5.0, k2=10.0, f_star=1.5, n=60):
    losses = np.linspace(9.0, 2.0, n)
    gaps = losses - f_star
    return [
        {"step": i, "K": float(k0 + k1 * d + k2 * d * d), "loss": float(lo)}
        for i, (lo, d) in enumerate(zip(losses, gaps))
    ]


def test_probe_result_round_trips_into_the_adaptive_warmup(tmp_path):
    doc = probe_result(_planted_points(), target_loss=1.5, norm="sign")
    assert (doc["K0"], doc["K1"], doc["K2"]) == pytest.approx((40.0, -5.0, 10.0))
    assert doc["rho"] == 2.0 and doc["r2"] == pytest.approx(1.0)
    assert doc["fit_rho"]["rho"] == pytest.approx(2.0, abs=0.05)
    (tmp_path / "probe.json").write_text(json.dumps(doc))
    kwargs = calibration(tmp_path)  # a directory holding probe.json
    assert kwargs["target_loss"] == 1.5
    assert kwargs["k_constants"] == pytest.approx((40.0, -5.0, 10.0))
    p = torch.nn.Parameter(torch.zeros(2, 2))
    opt = torch.optim.SGD([p], lr=1.0)
    sched = AdaptiveWarmup(opt, total_steps=50, smoothing=0.0, max_growth=None, **kwargs)
    # The measured law eta(D) = D / K(D), normalised at its peak D* = sqrt(K0 / K2) = 2:
    # at loss 5.5 (D = 4): eta = 4 / (40 - 20 + 160) = 1/45; peak eta(2) = 2 / (40 - 10 + 40) = 1/35
    opt.step()
    sched.step(5.5)
    assert opt.param_groups[0]["lr"] == pytest.approx(35 / 45)
    assert sched.delta_star == pytest.approx(2.0)


def test_delta_star_mode_and_schedule_spec():
    doc = probe_result(_planted_points(), target_loss=1.5, norm="sign")
    kwargs = calibration(doc, use="delta_star")
    assert kwargs == {"delta_star": pytest.approx(2.0), "target_loss": 1.5}
    spec = schedule_spec(calibration(doc))
    name, parsed = parse_spec(spec)
    assert name == "adaptive" and parsed["target_loss"] == 1.5
    assert [float(x) for x in parsed["k_constants"].split("/")] == pytest.approx([40, -5, 10])
    assert doc["schedule_spec"] == spec


def test_another_target_loss_refits_the_points():
    doc = probe_result(_planted_points(f_star=1.5), target_loss=1.5, norm="sign")
    # K = 40 - 5 D + 10 D^2 with D = L - 1.5 is, in D' = L - 1.0 = D + 0.5,
    # 40 - 5 (D' - 0.5) + 10 (D' - 0.5)^2 = 45 - 15 D' + 10 D'^2 (D* = sqrt(4.5)).
    kwargs = calibration(doc, target_loss=1.0)
    assert kwargs["k_constants"] == pytest.approx((45.0, -15.0, 10.0))
    AdaptiveWarmupSchedule(total_steps=10, **kwargs)  # accepted


def test_no_warmup_shape_is_refused_with_a_reason():
    rising = [{"step": i, "K": 100.0 / (9.5 - i / 10), "loss": 9.5 - i / 10} for i in range(60)]
    doc = probe_result(rising, target_loss=1.0, norm="spectral")
    assert doc["spearman"] < 0
    assert "K does not fall with the gap" in doc["calibration"]["error"]
    with pytest.raises(ValueError, match="no warm-up shape"):
        calibration(doc)
    # K rising with the gap, but concave (K2 < 0): eta has no interior peak.
    concave = [{"step": i, "K": 5 + 2 * (9 - i / 10) - 0.01 * (9 - i / 10) ** 2, "loss": 10 - i / 10}
               for i in range(60)]  # fmt: skip
    doc = probe_result(concave, target_loss=1.0, norm="spectral")
    assert doc["spearman"] > 0 and doc["K2"] < 0
    with pytest.raises(ValueError, match="K0 > 0 and K2 > 0"):
        calibration(doc)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"use": "kappa"}, "use must be one of"),
        ({"target_loss": float("nan")}, "target_loss"),
    ],
)
def test_bad_arguments(kwargs, match):
    doc = probe_result(_planted_points(), target_loss=1.5, norm="sign")
    with pytest.raises(ValueError, match=match):
        calibration(doc, **kwargs)


def test_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="autowarm probe"):
        load_probe(tmp_path)


@pytest.mark.slow
def test_probe_cli_end_to_end(tmp_path, capsys):
    torch.set_num_threads(1)
    out = tmp_path / "probe"
    args = ["probe", "--model", "tiny", "--optimizer", "muon", "--steps", "12", "--every", "1",
            "--out", str(out), "--threads", "1", "--batch-size", "4", "--seq-len", "32",
            "--data", str(ASSETS), "--cache-dir", str(tmp_path / "cache"), "--target-loss", "1.0",
            "--update-size-every", "4", "--no-progress", "--momentum", "0.9"]  # fmt: skip
    assert main(args) == 0
    printed = capsys.readouterr().out
    doc = json.loads((out / "probe.json").read_text())
    assert json.loads(printed.splitlines()[0])["K0"] == doc["K0"]
    assert doc["optimizer"] == "muon" and doc["norm"] == "spectral"
    assert doc["optimizer_args"] == {"ns_dtype": "float32", "momentum": 0.9}
    assert [p["step"] for p in doc["points"]] == list(range(12))
    assert all(math.isfinite(p["K"]) and p["K"] > 0 for p in doc["points"])
    assert {"K0", "K1", "K2", "rho", "r2", "fit", "fit_rho", "window", "calibration"} <= set(doc)
    assert doc["fit"]["n_used"] + doc["fit"]["n_transient"] + doc["fit"]["n_outliers"] == 12
    assert all(n.startswith("blocks.") for n in doc["measured_params"])  # Muon: hidden matrices
    assert (out / "probe.png").stat().st_size > 10_000
    assert len((out / "update_size.jsonl").read_text().splitlines()) == 3
    assert (out / "metrics.jsonl").is_file()


def test_descent_window_calibration():
    # Falling K during the first 20 points, rising after: only the descent calibrates.
    losses = list(np.linspace(8.0, 4.0, 20)) + list(np.linspace(3.9, 2.0, 40))
    pts = []
    for i, lo in enumerate(losses):
        d = lo - 1.0
        pts.append({"step": i, "loss": float(lo), "K": 4.0 + d * d if i < 20 else 50.0 / d})
    doc = probe_result(pts, target_loss=1.0, norm="sign")
    assert "error" in doc["calibration"]
    kwargs = calibration(doc, window="descent")
    assert kwargs["k_constants"] == pytest.approx((4.0, 0.0, 1.0), abs=1e-6)
    assert doc["calibration_descent"]["k_constants"] == pytest.approx([4.0, 0.0, 1.0], abs=1e-6)
    assert doc["schedule_spec_descent"].startswith("adaptive:k_constants=")
    with pytest.raises(ValueError, match="window must be one of"):
        calibration(doc, window="early")


def test_dense_steps_probe_every_early_update():
    from autowarm.diagnostics import SmoothnessProbe

    probe = SmoothnessProbe("sign", every=5, dense_steps=3)
    assert [t for t in range(12) if probe.probes(t)] == [0, 1, 2, 5, 10]
    with pytest.raises(ValueError, match="dense_steps"):
        SmoothnessProbe("sign", dense_steps=-1)
