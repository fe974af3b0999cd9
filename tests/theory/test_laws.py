"""Loss-curve laws: each recovers its own parameters from curves it generated, then predicts."""

import numpy as np
import pytest

from autowarm.schedules import from_spec, sample
from autowarm.theory import (
    LossCurve,
    annealing_law,
    fit_error,
    fit_law,
    multi_power_law,
    predict_loss,
)
from autowarm.theory._lsq import levenberg_marquardt

T = 2000
PEAK = 3e-4
# Luo et al. 2025 fitted values for a 400M model (L0, A, alpha, B, C, beta, gamma)
MPL = dict(L0=2.375, A=0.654, alpha=0.429, B=523.0, C=2.03, beta=0.594, gamma=0.635)
TISSUE = dict(L0=2.4, A=0.6, alpha=0.45, C=0.9)
SPECS = (
    "constant:warmup_steps=100",
    "cosine:warmup_steps=100",
    "wsd:warmup_steps=100,cooldown_frac=0.2",
)


def curve(law, params, spec, every=20, noise=0.0, seed=0):
    lrs = PEAK * sample(from_spec(spec, T), T)
    steps = np.arange(every, T + 1, every)
    loss = predict_loss(law, params, lrs, steps)
    loss = loss + noise * np.random.default_rng(seed).standard_normal(loss.size)
    return LossCurve(lrs, steps, loss)


def test_mpl_recovers_its_parameters_and_predicts_wsd():
    fit = fit_law("multi-power", [curve("mpl", MPL, s) for s in SPECS[:2]])
    for key, value in MPL.items():
        assert fit.params[key] == pytest.approx(value, rel=1e-4), key
    assert fit.error["rmse"] < 1e-8 and fit.error["r2"] == pytest.approx(1.0)
    assert fit.at_bounds == ()
    target = curve("mpl", MPL, SPECS[2])
    np.testing.assert_allclose(fit.predict(target.lrs, target.steps), target.losses, atol=1e-8)


def test_annealing_law_recovers_its_parameters():
    fit = fit_law("tissue", [curve("annealing", TISSUE, s) for s in SPECS[1:]])
    for key, value in TISSUE.items():
        assert fit.params[key] == pytest.approx(value, rel=1e-6), key
    target = curve("annealing", TISSUE, SPECS[0])
    np.testing.assert_allclose(fit.predict(target.lrs, target.steps), target.losses, atol=1e-9)


def test_noisy_fit_reports_error_and_stays_close():
    curves = [curve("mpl", MPL, s, noise=2e-3, seed=i) for i, s in enumerate(SPECS)]
    fit = fit_law("mpl", curves)
    assert fit.n_points == 300
    assert fit.error["rmse"] == pytest.approx(2e-3, rel=0.2)  # about the noise level
    clean = curve("mpl", MPL, "linear:warmup_steps=100")
    assert np.max(np.abs(fit.predict(clean.lrs, clean.steps) - clean.losses)) < 0.01


def test_huber_fit_ignores_spikes():
    c = curve("annealing", TISSUE, SPECS[1])
    spiky = c.losses.copy()
    spiky[[10, 40, 70]] += 0.5
    noisy = [LossCurve(c.lrs, c.steps, spiky), curve("annealing", TISSUE, SPECS[2])]
    plain = fit_law("annealing", noisy)
    robust = fit_law("annealing", noisy, huber=1e-3)
    assert abs(robust.params["L0"] - TISSUE["L0"]) < 0.1 * abs(plain.params["L0"] - TISSUE["L0"])
    assert robust.params["alpha"] == pytest.approx(TISSUE["alpha"], rel=1e-3)


def test_law_shapes():
    n = 5000
    lrs = PEAK * sample(from_spec("wsd:warmup_steps=10,cooldown_frac=0.2", n), n)
    flat = PEAK * sample(from_spec("constant:warmup_steps=10", n), n)
    for law, params in (("mpl", MPL), ("annealing", TISSUE)):
        loss, ref = predict_loss(law, params, lrs), predict_loss(law, params, flat)
        assert loss.shape == (n,)
        np.testing.assert_allclose(loss[:4000], ref[:4000])  # same until the cooldown
        # the cooldown ends well below holding the LR (0.09 for both laws here)
        assert loss[-1] < ref[-1] - 0.05
    # no LR drop: the multi-power law is the pure power law in the LR area
    const = PEAK * np.ones(100)
    want = MPL["L0"] + MPL["A"] * np.cumsum(const) ** -MPL["alpha"]
    np.testing.assert_allclose(multi_power_law(const, **MPL), want)
    np.testing.assert_allclose(
        annealing_law(lrs, **TISSUE), predict_loss("annealing", TISSUE, lrs), rtol=1e-15
    )


def test_fit_error_values():
    err = fit_error(np.array([1.0, 2.0, 4.0]), np.array([1.0, 2.0, 3.0]))
    assert err["rmse"] == pytest.approx(np.sqrt(1 / 3))
    assert err["max_abs_error"] == 1.0 and err["mean_rel_error"] == pytest.approx(1 / 9)


def test_lm_solves_rosenbrock_and_respects_box():
    def rosen(x):
        return np.array([1 - x[0], 10 * (x[1] - x[0] ** 2)])

    assert np.allclose(levenberg_marquardt(rosen, [-1.2, 1.0]).x, [1, 1], atol=1e-8)
    boxed = levenberg_marquardt(
        rosen, [0.0, 0.0], lower=np.array([-2, -2]), upper=np.array([0.5, 2])
    )
    assert boxed.x[0] <= 0.5


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda: LossCurve([1e-3] * 5, [0, 5], [3.0, 2.0]), "steps must be integers"),
        (lambda: LossCurve([1e-3] * 5, [1, 6], [3.0, 2.0]), "steps must be integers"),
        (lambda: LossCurve([1e-3] * 5, [1, 2], [3.0]), "same non-zero length"),
        (lambda: LossCurve([0.0, 1e-3], [1, 2], [3.0, 2.0]), "first update"),
        (lambda: LossCurve([1e-3, -1.0], [1, 2], [3.0, 2.0]), ">= 0"),
        (lambda: LossCurve([1e-3] * 2, [1, 2], [3.0, np.nan]), "finite"),
        (
            lambda: fit_law("nope", LossCurve([1e-3] * 9, range(1, 10), [1.0] * 9)),
            "unknown loss law",
        ),
        (lambda: fit_law("mpl", LossCurve([1e-3] * 5, range(1, 6), [1.0] * 5)), "more than 7"),
        (lambda: fit_law("mpl", []), "one or more"),
        (lambda: predict_loss("mpl", {"L0": 1.0}, [1e-3]), "needs parameters"),
        (
            lambda: fit_law("annealing", LossCurve([1e-3] * 9, range(1, 10), [1.0] * 9), huber=0),
            "huber",
        ),
    ],
)
def test_bad_input(call, match):
    with pytest.raises(ValueError, match=match):
        call()
