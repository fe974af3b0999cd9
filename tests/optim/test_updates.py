"""Per-optimizer maths: parity with torch / the papers' updates, and the LMO step-size invariants."""

from __future__ import annotations

import copy

import pytest
import torch

from autowarm.optim import Lion, Muon, NormSGD, Signum, muon_update, scale_factor

HAS_TORCH_MUON = hasattr(torch.optim, "Muon")
TORCH_SCALE = {"keller": "original", "moonlight": "match_rms_adamw"}


def _grads(shape, steps, seed=0):
    gen = torch.Generator().manual_seed(seed)
    return [torch.randn(shape, generator=gen) for _ in range(steps)]


def _run(opt, params, grads_per_param):
    for step_grads in zip(*grads_per_param):
        for p, g in zip(params, step_grads):
            p.grad = g.clone()
        opt.step()


@pytest.mark.skipif(not HAS_TORCH_MUON, reason="torch.optim.Muon needs torch >= 2.9")
@pytest.mark.parametrize("scale", ["keller", "moonlight"])
@pytest.mark.parametrize("nesterov", [True, False])
@pytest.mark.parametrize("shape", [(12, 5), (5, 12), (8, 8)])
def test_muon_matrix_update_equals_torch_muon(scale, nesterov, shape):
    w0 = torch.randn(shape, generator=torch.Generator().manual_seed(1))
    ours, ref = torch.nn.Parameter(w0.clone()), torch.nn.Parameter(w0.clone())
    kw = {"lr": 0.02, "weight_decay": 0.1, "momentum": 0.9, "nesterov": nesterov}
    opt = Muon([ours], scale=scale, **kw)
    ref_opt = torch.optim.Muon([ref], adjust_lr_fn=TORCH_SCALE[scale], **kw)
    grads = _grads(shape, 4)
    _run(opt, [ours], [grads])
    _run(ref_opt, [ref], [grads])
    assert torch.equal(ours, ref)  # same arithmetic, bit for bit (bfloat16 Newton-Schulz)
    assert torch.equal(opt.state[ours]["momentum_buffer"], ref_opt.state[ref]["momentum_buffer"])


def test_muon_adamw_fallback_equals_torch_adamw():
    p0 = torch.randn(6, 3, generator=torch.Generator().manual_seed(2))
    ours, ref = torch.nn.Parameter(p0.clone()), torch.nn.Parameter(p0.clone())
    opt = Muon([{"params": [ours], "norm": None}], lr=0.01, weight_decay=0.1, betas=(0.8, 0.999))
    ref_opt = torch.optim.AdamW(
        [ref], lr=0.01, weight_decay=0.1, betas=(0.8, 0.999), eps=1e-8, foreach=False
    )
    grads = _grads((6, 3), 5, seed=3)
    _run(opt, [ours], [grads])
    _run(ref_opt, [ref], [grads])
    torch.testing.assert_close(ours, ref, rtol=1e-6, atol=1e-7)


def test_muon_flattens_higher_order_tensors():
    w = torch.zeros(4, 2, 3)
    buf = torch.zeros_like(w)
    g = torch.randn(4, 2, 3, generator=torch.Generator().manual_seed(0))
    muon_update(w, g, buf, lr=1.0, weight_decay=0.0, momentum=0.0, nesterov=False, scale="none")
    w2 = torch.zeros(4, 6)
    muon_update(
        w2,
        g.reshape(4, 6),
        torch.zeros(4, 6),
        lr=1.0,
        weight_decay=0.0,
        momentum=0.0,
        nesterov=False,
        scale="none",
    )
    assert torch.equal(w.reshape(4, 6), w2)


@pytest.mark.parametrize("scale", ["keller", "moonlight", "none"])
@pytest.mark.parametrize("shape", [(32, 16), (16, 32), (64, 8)])
def test_muon_singular_values_near_the_scale_factor(scale, shape):
    # Newton-Schulz tolerance: 5 quintic steps (Keller's coefficients) put the singular values of a
    # Gaussian rectangular matrix in [0.68, 1.14] (measured over 50 seeds); we allow [0.65, 1.25].
    lr = 0.01
    for seed in range(5):
        w = torch.nn.Parameter(torch.zeros(shape))
        opt = Muon([w], lr=lr, weight_decay=0.0, scale=scale)
        w.grad = torch.randn(shape, generator=torch.Generator().manual_seed(seed))
        opt.step()
        s = torch.linalg.svdvals(w.detach()) / (lr * scale_factor(scale, shape))
        assert s.min() >= 0.65 and s.max() <= 1.25, (seed, s.min(), s.max())


def _lion_paper(p, grads, lr, b1, b2, wd):
    """Chen et al. 2023 (arXiv 2302.06675) Algorithm 2, written out independently."""
    theta, m = p.clone(), torch.zeros_like(p)
    for g in grads:
        c = b1 * m + (1 - b1) * g
        theta = theta - lr * (torch.sign(c) + wd * theta)
        m = b2 * m + (1 - b2) * g
    return theta


def test_lion_equals_the_paper_update():
    p0 = torch.randn(5, 4, generator=torch.Generator().manual_seed(4))
    grads = _grads((5, 4), 6, seed=5)
    w = torch.nn.Parameter(p0.clone())
    _run(Lion([w], lr=3e-3, betas=(0.9, 0.99), weight_decay=0.5), [w], [grads])
    torch.testing.assert_close(w.detach(), _lion_paper(p0, grads, 3e-3, 0.9, 0.99, 0.5))


@pytest.mark.parametrize("nesterov", [True, False])
def test_normsgd_step_has_frobenius_norm_lr_per_tensor(nesterov):
    lr = 0.03
    params = [torch.nn.Parameter(torch.randn(s)) for s in [(5, 3), (7,), (2, 3, 4)]]
    opt = NormSGD(params, lr=lr, weight_decay=0.0, momentum=0.9, nesterov=nesterov)
    for step in range(4):
        before = [p.detach().clone() for p in params]
        for i, p in enumerate(params):
            p.grad = torch.randn(p.shape, generator=torch.Generator().manual_seed(10 * step + i))
        opt.step()
        for b, p in zip(before, params):
            assert (p.detach() - b).norm().item() == pytest.approx(lr, rel=1e-5)


def test_normsgd_buffer_starts_at_zero_and_faithful_init_reproduces_the_bug():
    p0 = torch.randn(4, 3, generator=torch.Generator().manual_seed(6))
    g = torch.randn(4, 3, generator=torch.Generator().manual_seed(7))
    lr, wd, mu = 0.1, 0.1, 0.95
    fixed = torch.nn.Parameter(p0.clone())
    opt = NormSGD([fixed], lr=lr, weight_decay=wd, momentum=mu)
    fixed.grad = g.clone()
    opt.step()
    u = g + mu * g  # Nesterov with B_1 = 0 * mu + g
    torch.testing.assert_close(fixed.detach(), p0 * (1 - lr * wd) - lr * u / u.norm())
    # The published code: buffer = copy of the decayed parameters, so B_1 = mu p + g.
    buggy = torch.nn.Parameter(p0.clone())
    opt = NormSGD([buggy], lr=lr, weight_decay=wd, momentum=mu, faithful_init=True)
    buggy.grad = g.clone()
    opt.step()
    pd = p0 * (1 - lr * wd)
    u = g + mu * (mu * pd + g)
    torch.testing.assert_close(buggy.detach(), pd - lr * u / u.norm())


def test_signsgd_entries_move_by_lr():
    lr = 0.004
    w = torch.nn.Parameter(torch.randn(6, 5))
    opt = Signum([w], lr=lr, momentum=0.0, weight_decay=0.0)
    for seed in range(3):
        before = w.detach().clone()
        w.grad = torch.randn(6, 5, generator=torch.Generator().manual_seed(seed))
        opt.step()
        torch.testing.assert_close((w.detach() - before).abs(), torch.full((6, 5), lr))
        assert torch.equal(torch.sign(w.detach() - before), -torch.sign(w.grad))
    assert "momentum_buffer" not in opt.state[w]


def test_signum_is_sign_of_momentum():
    p0 = torch.randn(3, 3)
    grads = _grads((3, 3), 4, seed=8)
    w = torch.nn.Parameter(p0.clone())
    _run(Signum([w], lr=0.1, momentum=0.9, weight_decay=0.0), [w], [grads])
    expect, buf = p0.clone(), torch.zeros(3, 3)
    for g in grads:
        buf = 0.9 * buf + g
        expect -= 0.1 * torch.sign(buf)
    torch.testing.assert_close(w.detach(), expect)


@pytest.mark.parametrize("cls", [Muon, Lion, Signum, NormSGD])
def test_none_grads_skipped_and_state_lazy(cls):
    a, b = torch.nn.Parameter(torch.randn(4, 3)), torch.nn.Parameter(torch.randn(4, 3))
    opt = cls([a, b], lr=0.1)
    assert len(opt.state) == 0
    b0 = b.detach().clone()
    a.grad = torch.ones(4, 3)
    opt.step()
    assert a in opt.state and b not in opt.state and torch.equal(b.detach(), b0)


@pytest.mark.parametrize("cls", [Muon, Lion, Signum, NormSGD])
def test_closure_is_called_with_grad_enabled(cls):
    w = torch.nn.Parameter(torch.randn(3, 2))
    opt = cls([w], lr=0.01)

    def closure():
        opt.zero_grad()
        loss = (w**2).sum()
        loss.backward()
        return loss

    loss = opt.step(closure)
    assert isinstance(loss, torch.Tensor) and loss.item() > 0


def test_tensor_lr_is_accepted():
    w = torch.nn.Parameter(torch.ones(2, 2))
    opt = Lion([w], lr=torch.tensor(0.5), weight_decay=0.0)
    w.grad = torch.ones(2, 2)
    opt.step()
    assert torch.equal(w.detach(), torch.full((2, 2), 0.5))


def test_bad_group_norm_and_sparse_grads():
    w = torch.nn.Parameter(torch.randn(3, 3))
    with pytest.raises(ValueError, match=r"norm 'sign' .* or None"):
        Lion([{"params": [w], "norm": "spectral"}])
    emb = torch.nn.Embedding(5, 3, sparse=True)
    opt = Signum(emb.parameters(), lr=0.1)
    emb(torch.tensor([1])).sum().backward()
    with pytest.raises(RuntimeError, match="sparse"):
        opt.step()
    assert copy.deepcopy(opt) is not opt


def test_failed_add_param_group_leaves_the_optimizer_unchanged():
    opt = Muon([torch.nn.Parameter(torch.randn(3, 3))], lr=0.1)
    with pytest.raises(ValueError, match="ndim >= 2"):
        opt.add_param_group({"params": [torch.nn.Parameter(torch.zeros(3))]})
    assert len(opt.param_groups) == 1
    opt.add_param_group({"params": [torch.nn.Parameter(torch.zeros(3))], "norm": None})
    assert len(opt.param_groups) == 2


def test_muon_ns_dtype_accepts_a_torch_dtype_and_stores_its_name():
    opt = Muon([torch.nn.Parameter(torch.randn(3, 3))], ns_dtype=torch.float32)
    assert opt.param_groups[0]["ns_dtype"] == "float32"
