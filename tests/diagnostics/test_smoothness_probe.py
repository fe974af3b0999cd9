"""The smoothness probe recovers known curvature of quadratics in each norm pair.

For ``f(x) = 1/2 x^T A x`` the gradient change of a step ``dx`` is ``A dx`` exactly, so
``K = ||A dx||_* / ||dx||`` has a closed form for well-chosen ``A`` and ``dx``:

- spectral/nuclear, ``f(W) = 1/2 tr(W^T S W)`` (``grad = S W``), ``dW = s (u1 v1^T + u2 v2^T)``
  with ``u_i`` orthonormal eigenvectors of ``S`` (eigenvalues ``l_i``) and ``v_i`` orthonormal:
  ``||dW||_2 = s`` and ``S dW`` has singular values ``s |l_1|, s |l_2|``, so ``K = |l_1| + |l_2|``;
- max/l1, ``f(W) = 1/2 sum a_ij W_ij^2`` (``grad = a * W``), ``dW = s P`` with ``P`` a +-1 pattern
  on a support ``S``: ``||dW||_max = s``, ``||a * dW||_1 = s sum_S a_ij``, so ``K = sum_S a_ij``;
- Frobenius, the same ``a`` and ``dW = s E`` with ``||E||_F = 1``: ``K = ||a * E||_F``;
- product norms over two tensors: ``K = (dual_1 + dual_2) / max(primal_1, primal_2)``.
"""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from autowarm.diagnostics.smoothness import (
    SmoothnessProbe,
    dual_norm,
    measured_params,
    primal_norm,
    smoothness_ratio,
)
from autowarm.optim import build


class Quadratic(nn.Module):
    """``f(W_1, ..) = 1/2 sum_i <W_i, A_i(W_i)>`` for linear maps ``A_i``."""

    def __init__(self, weights, maps):
        super().__init__()
        self.ws = nn.ParameterList([nn.Parameter(w.clone()) for w in weights])
        self.maps = maps

    def forward(self, batch=None):
        return sum(0.5 * (w * a(w)).sum() for w, a in zip(self.ws, self.maps))


def _probe_step(model, steps, norm):
    """Snapshot, move each parameter by ``steps[i]``, measure: the probe's point."""
    probe = SmoothnessProbe(norm, every=1, loss_fn=lambda m, b: m())
    probe.snapshot(0, model)
    with torch.no_grad():
        for w, s in zip(model.ws, steps):
            w.add_(s)
    return probe.measure(0, model, None), probe


def _orthonormal(n, k, seed):
    gen = torch.Generator().manual_seed(seed)
    q, _ = torch.linalg.qr(torch.randn(n, n, generator=gen, dtype=torch.float64))
    return q[:, :k]


def test_spectral_pair_recovers_eigenvalues():
    m, n, s = 6, 4, 1e-3
    q = _orthonormal(m, m, 0).double()
    eig = torch.tensor([5.0, -2.0, 1.0, 0.5, 0.1, 3.0], dtype=torch.float64)
    big_s = q @ torch.diag(eig) @ q.T
    v = _orthonormal(n, 2, 1).double()
    d_w = s * (torch.outer(q[:, 0], v[:, 0]) + torch.outer(q[:, 1], v[:, 1]))
    w0 = torch.randn(m, n, generator=torch.Generator().manual_seed(2), dtype=torch.float64)
    model = Quadratic([w0], [lambda w: big_s @ w])
    point, _ = _probe_step(model, [d_w], "spectral")
    assert point["K"] == pytest.approx(5.0 + 2.0, rel=1e-9)
    assert point["dx"] == pytest.approx(s, rel=1e-9)
    assert point["loss"] == pytest.approx(0.5 * (w0 * (big_s @ w0)).sum().item(), rel=1e-12)


def test_sign_pair_sums_the_curvatures_on_the_support():
    a = torch.arange(1.0, 13.0, dtype=torch.float64).reshape(3, 4)
    pattern = torch.zeros(3, 4, dtype=torch.float64)
    pattern[0, 1], pattern[2, 3], pattern[1, 0] = 1.0, -1.0, 1.0  # a = 2, 12, 5
    w0 = torch.ones(3, 4, dtype=torch.float64)
    point, _ = _probe_step(Quadratic([w0], [lambda w: a * w]), [0.01 * pattern], "sign")
    assert point["K"] == pytest.approx(2.0 + 12.0 + 5.0, rel=1e-9)


def test_frobenius_pair_is_the_curvature_along_the_direction():
    a = torch.tensor([[1.0, 4.0], [9.0, 16.0]], dtype=torch.float64)
    e = torch.tensor([[0.0, 0.6], [0.0, 0.8]], dtype=torch.float64)  # unit Frobenius
    point, _ = _probe_step(
        Quadratic([torch.zeros(2, 2).double()], [lambda w: a * w]), [e], "frobenius"
    )
    assert point["K"] == pytest.approx(math.hypot(4.0 * 0.6, 16.0 * 0.8), rel=1e-9)


@pytest.mark.parametrize("norm", ["spectral", "sign", "frobenius"])
def test_isotropic_quadratic_in_every_pair(norm):
    # f = c/2 ||W||_F^2: dg = c dW, so K = c ||dW||_* / ||dW|| (c for Frobenius).
    c = 3.0
    d_w = torch.tensor([[1.0, -2.0, 0.5], [0.0, 1.0, 2.0]], dtype=torch.float64) * 1e-2
    point, _ = _probe_step(Quadratic([torch.randn(2, 3).double()], [lambda w: c * w]), [d_w], norm)
    expected = c * dual_norm([d_w], norm) / primal_norm([d_w], norm)
    assert point["K"] == pytest.approx(expected, rel=1e-6)
    if norm == "frobenius":
        assert point["K"] == pytest.approx(c, rel=1e-6)


def test_product_norm_is_max_over_tensors_for_dx_and_sum_for_dg():
    a1, a2 = 2.0, 10.0
    d1 = torch.tensor([[0.3, 0.0]], dtype=torch.float64)
    d2 = torch.tensor([[0.0, -0.1], [0.1, 0.0]], dtype=torch.float64)
    model = Quadratic(
        [torch.zeros(1, 2).double(), torch.zeros(2, 2).double()],
        [lambda w: a1 * w, lambda w: a2 * w],
    )
    point, _ = _probe_step(model, [d1, d2], "sign")
    # dx: max(0.3, 0.1) = 0.3; dg: l1 of 2*d1 (0.6) + l1 of 10*d2 (2.0).
    assert point["dx"] == pytest.approx(0.3)
    assert point["dg"] == pytest.approx(2.6)
    assert point["K"] == pytest.approx(2.6 / 0.3)


def test_gradient_on_the_same_batch_and_grads_untouched():
    torch.manual_seed(0)
    lin = nn.Linear(4, 3, bias=False)
    x, y = torch.randn(16, 4), torch.randn(16, 3)

    def loss_fn(model, batch):  # least squares: gradient change = 2/(N*3) dW X^T X exactly
        return ((model(batch[0]) - batch[1]) ** 2).mean()

    opt = torch.optim.SGD([{"params": lin.parameters(), "norm": "frobenius"}], lr=0.05)
    probe = SmoothnessProbe(every=1, loss_fn=loss_fn, target_loss=0.25)
    loss_fn(lin, (x, y)).backward()
    grad_before = lin.weight.grad.clone()
    w0 = lin.weight.detach().clone()
    probe.snapshot(0, lin, opt)
    opt.step()
    point = probe.measure(0, lin, (x, y))
    assert torch.equal(lin.weight.grad, grad_before)  # .grad left alone
    d_w = lin.weight.detach() - w0
    dg = d_w @ (x.T @ x) * 2 / (16 * 3)
    assert point["K"] == pytest.approx((dg.norm() / d_w.norm()).item(), rel=1e-4)
    assert point["gap"] == pytest.approx(point["loss"] - 0.25)
    assert point["lr"] == 0.05
    assert point["loss_after"] < point["loss"]


def test_every_and_offset_choose_the_probed_updates():
    probe = SmoothnessProbe("sign", every=5, offset=2)
    assert [t for t in range(13) if probe.probes(t)] == [2, 7, 12]


def test_measure_without_snapshot_returns_none():
    model = Quadratic([torch.ones(2, 2)], [lambda w: w])
    probe = SmoothnessProbe("sign", every=2, loss_fn=lambda m, b: m())
    probe.snapshot(1, model)  # not a probed step: no copy
    assert probe.measure(1, model, None) is None
    assert probe.points == []


def test_measured_params_follow_the_optimizer_tags():
    model = nn.Sequential(nn.Embedding(10, 4), nn.Linear(4, 4), nn.LayerNorm(4))
    params, norm = measured_params(model, build("muon", model, lr=0.01))
    assert norm == "spectral" and [n for n, _ in params] == ["1.weight"]
    params, norm = measured_params(model, build("lion", model, lr=0.01))
    assert norm == "sign" and [n for n, _ in params] == ["0.weight", "1.weight"]
    with pytest.raises(ValueError, match="cannot infer the norm"):
        measured_params(model, torch.optim.SGD(model.parameters(), lr=0.1))
    with pytest.raises(ValueError, match="norm is required"):
        measured_params(model)


def test_smoothness_ratio_of_zero_step_is_nan():
    r = smoothness_ratio([torch.zeros(2, 2)], [torch.ones(2, 2)], "spectral")
    assert math.isnan(r["K"])


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"norm": "l2"}, "unknown norm"),
        ({"every": 0}, "every must be"),
        ({"every": 3, "offset": 3}, "offset must be"),
        ({"target_loss": float("nan")}, "target_loss"),
    ],
)
def test_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        SmoothnessProbe(**kwargs)
