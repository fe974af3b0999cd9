"""Norm objects: LMO on the unit sphere, dual norm = -<G, lmo(G)>, Hoelder, kappa delegation."""

from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from autowarm.optim import norms
from autowarm.optim.newton_schulz import orthogonalize
from autowarm.schedules import kappa
from autowarm.schedules.kappa import per_matrix_kappa

ALL = [norms.SPECTRAL, norms.SIGN, norms.FROBENIUS]
shapes = st.tuples(st.integers(1, 6), st.integers(1, 6))


@settings(max_examples=40, deadline=None)
@given(shapes, st.integers(0, 2**31 - 1), st.sampled_from(ALL))
def test_lmo_is_a_unit_minimiser_and_gives_the_dual_norm(shape, seed, norm):
    gen = torch.Generator().manual_seed(seed)
    g = torch.randn(shape, generator=gen, dtype=torch.float64)
    d = norm.lmo(g)
    assert d.shape == g.shape
    assert norm.norm(d).item() == pytest.approx(1.0, rel=1e-9)
    assert (-(g * d).sum()).item() == pytest.approx(norm.dual_norm(g).item(), rel=1e-9)
    # Hoelder: <G, X> <= ||G||_* ||X|| for any X, and the LMO attains it.
    x = torch.randn(shape, generator=gen, dtype=torch.float64)
    assert (g * x).sum() <= norm.dual_norm(g) * norm.norm(x) + 1e-12
    # kappa per matrix bounds dual / primal of the same tensor.
    assert norm.dual_norm(x) / norm.norm(x) <= per_matrix_kappa(norm.name, shape) + 1e-9


def test_value_table():
    m = torch.tensor([[3.0, 0.0], [0.0, -4.0]])
    assert [n.norm(m).item() for n in ALL] == [4.0, 4.0, 5.0]
    assert [n.dual_norm(m).item() for n in ALL] == [7.0, 7.0, 5.0]
    assert torch.equal(norms.SPECTRAL.lmo(m), torch.tensor([[-1.0, 0.0], [0.0, 1.0]]))


@pytest.mark.parametrize("norm", ALL)
def test_zero_tensor_lmo_is_zero(norm):
    assert torch.count_nonzero(norm.lmo(torch.zeros(3, 2))) == 0


def test_higher_order_tensors_are_viewed_as_matrices():
    t = torch.randn(4, 2, 3, generator=torch.Generator().manual_seed(1))
    flat = t.reshape(4, 6)
    assert torch.allclose(norms.SPECTRAL.norm(t), norms.SPECTRAL.norm(flat))
    assert torch.allclose(norms.SPECTRAL.lmo(t).reshape(4, 6), norms.SPECTRAL.lmo(flat))


def test_kappa_delegates_to_the_single_definition():
    s = [(768, 2304), (768, 768), (3, 5)]
    for n in ALL:
        assert n.kappa(s) == kappa(n.name, s)
    with pytest.raises(ValueError, match="at least one"):
        norms.SIGN.kappa([])


def test_get_and_unknown():
    assert norms.get("frobenius") is norms.FROBENIUS
    with pytest.raises(ValueError, match="unknown norm 'l7'; valid norms are spectral, sign"):
        norms.get("l7")
    with pytest.raises(ValueError, match="unknown norm"):
        norms.Norm("nuclear")


def test_converging_newton_schulz_matches_the_exact_spectral_lmo():
    # The cubic iteration (1.5, -0.5, 0) converges to U V^T: -NS(G) is the exact spectral LMO.
    g = torch.randn(7, 4, generator=torch.Generator().manual_seed(3), dtype=torch.float64)
    o = orthogonalize(g, coefficients=(1.5, -0.5, 0.0), steps=60, dtype=torch.float64)
    assert torch.allclose(-o, norms.SPECTRAL.lmo(g), atol=1e-10)
