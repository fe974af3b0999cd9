"""autowarm.integrations.optax: fixed schedules as optax schedules, the adaptive warm-up as an
optax transformation; parity with the Python/torch state machine, under jax.jit."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

jax = pytest.importorskip("jax")
optax = pytest.importorskip("optax")
jnp = jax.numpy

from autowarm import AdaptiveWarmup  # noqa: E402
from autowarm.integrations import optax as ao  # noqa: E402
from autowarm.schedules import SCHEDULES, AdaptiveWarmupSchedule, from_spec  # noqa: E402
from autowarm.schedules.presets import DECAY_SHAPES  # noqa: E402

TOTAL = 60
# Every registered schedule (arguments where it needs them, and a few non-default shapes).
SPECS = [
    "constant:warmup_steps=5",
    "cos_inf:warmup_steps=5",
    "cosine:warmup_steps=7,min_lr_factor=0.1",
    "cyclic:base_factor=0.2,cycles=2",
    "exponential:warmup_steps=3,min_lr_factor=0.01",
    "inverse_sqrt:warmup_steps=6",
    "linear",
    "onecycle:pct_start=0.3",
    "polynomial:warmup_steps=4,power=2",
    "power:warmup_steps=10,decay_frac=0.2,tokens_per_step=1e5",
    "rex:warmup_steps=6",
    "warmup_cosine:warmup_steps=6",
    "warmup_decay:warmup_steps=6,decay=1-sqrt,warmup=cosine",
    "wsd:warmup_steps=6,cooldown_frac=0.2,cooldown=1-sqrt",
]


def test_specs_cover_every_registered_schedule():
    assert {s.partition(":")[0] for s in SPECS} == set(SCHEDULES)


@pytest.mark.parametrize("spec", SPECS)
def test_fixed_schedule_values_under_jit(spec):
    ref = from_spec(spec, TOTAL)
    sched = ao.as_schedule(spec, TOTAL, lr=3e-3)
    counts = jnp.arange(TOTAL + 5)
    got = np.asarray(jax.jit(jax.vmap(sched))(counts), dtype=np.float64)
    want = 3e-3 * np.array([ref(min(k, TOTAL - 1)) for k in range(TOTAL + 5)])
    np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-12)


def test_fixed_schedule_drives_optax_adamw_like_the_torch_adapter():
    """The LR optax applies at count k is the one autowarm.FixedSchedule gives update k."""
    from autowarm import FixedSchedule

    spec = "wsd:warmup_steps=3,cooldown_frac=0.3,cooldown=linear"
    p = torch.nn.Parameter(torch.zeros(1))
    opt = torch.optim.SGD([p], lr=0.5)
    fs = FixedSchedule(opt, from_spec(spec, 10))
    torch_lrs = []
    for _ in range(10):
        torch_lrs.append(opt.param_groups[0]["lr"])
        opt.step()
        fs.step()
    tx = optax.inject_hyperparams(optax.sgd)(learning_rate=ao.as_schedule(spec, 10, lr=0.5))
    params = jnp.zeros(1)
    state = tx.init(params)
    optax_lrs = []
    step = jax.jit(lambda s: tx.update(jnp.ones(1), s, params))
    for _ in range(10):
        _, state = step(state)
        optax_lrs.append(float(state.hyperparams["learning_rate"]))
    # inject_hyperparams records the LR of the update just computed
    np.testing.assert_allclose(optax_lrs, torch_lrs, rtol=1e-6)


def test_fixed_schedule_bad_input():
    with pytest.raises(ValueError, match="total_steps"):
        ao.as_schedule("linear", 0)
    with pytest.raises(TypeError, match="total_steps"):
        ao.as_schedule("linear", 10.0)
    with pytest.raises(ValueError, match="lr"):
        ao.as_schedule("linear", 10, lr=-1.0)
    with pytest.raises(TypeError, match="schedule"):
        ao.as_schedule(3, 10)
    with pytest.raises(ValueError, match="unknown schedule"):
        ao.as_schedule("nope", 10)
    with pytest.raises(ValueError, match="not finite"):
        ao.as_schedule(lambda k: math.inf if k == 2 else 1.0, 5)


def _losses(n=TOTAL, seed=0, noise=0.05, nan_at=()):
    rng = np.random.default_rng(seed)
    out = 5.0 * np.exp(-np.arange(n) / 12.0) + 1.0 + noise * rng.standard_normal(n)
    for i in nan_at:
        out[i] = math.nan
    return out


def _reference(machine, losses):
    """The Python machine: multipliers per update, and the final state."""
    out = machine.simulate([float(x) for x in losses])
    return np.array(out["multiplier"]), out["state"]


# What the JAX version implements: no outlier filter, no guard, no latest switch, no rate limit,
# the ramp from the first loss.
JAX = dict(outlier_filter=False, guard=False, warmup_max_frac=None, max_growth=None, start_rate=0.0)

CONFIGS = [
    dict(delta_star=0.8),
    dict(delta_star=0.8, smoothing=0.0),
    dict(kappa=500.0),  # D* fitted at the first loss (the host callback)
    dict(delta_star_frac=0.2),  # D* = 0.2 D0, also from the host callback
    dict(kappa=500.0, ramp="paper", smoothing=0.0, patience=3),
    dict(delta_star=0.8, ramp="paper", patience=2, monotone=True),
    dict(delta_star=0.8, decay="linear", cooldown_steps=10),
    dict(delta_star=0.8, initial_gap=6.0, decay="exponential"),
    dict(k_constants=(1.0, 0.5, 2.0)),
]


@pytest.mark.parametrize("cfg", CONFIGS, ids=[str(c) for c in CONFIGS])
def test_adaptive_parity_under_jit(cfg):
    machine = AdaptiveWarmupSchedule(TOTAL, 1.0, div_factor=20.0, **JAX, **cfg)
    losses = _losses(nan_at=(7,))
    want, ref_state = _reference(machine, losses)
    mults, state = jax.jit(lambda x: ao.simulate(machine, x))(jnp.asarray(losses))
    np.testing.assert_allclose(np.asarray(mults), want, rtol=2e-6, atol=1e-7)
    got = ao.to_machine_state(state)
    assert got["warmup_end_step"] == ref_state["warmup_end_step"] is not None
    assert {k: got[k] for k in ("step", "observed", "nonfinite", "phase", "below")} == {
        k: ref_state[k] for k in ("step", "observed", "nonfinite", "phase", "below")
    }
    for k in ("d0", "delta_star", "loss", "gap", "multiplier"):
        assert got[k] == pytest.approx(ref_state[k], rel=1e-5), k


@pytest.mark.parametrize("decay", sorted(DECAY_SHAPES))
@pytest.mark.parametrize("cooldown", [None, 15])
def test_decay_values_match_for_every_shape_and_switch_step(decay, cooldown):
    machine = AdaptiveWarmupSchedule(
        40,
        0.0,
        delta_star=1.0,
        decay=decay,
        final_lr_factor=0.05,
        cooldown_steps=cooldown,
        **JAX,
    )
    starts, steps = np.meshgrid(np.arange(0, 42), np.arange(0, 46), indexing="ij")
    keep = steps >= starts
    starts, steps = starts[keep], steps[keep]
    base = ao.init_state(machine)

    def one(start, step):
        s = base._replace(step=step, warmup_end_step=start, decay=jnp.asarray(True))
        return ao.value(machine, s)

    got = np.asarray(jax.jit(jax.vmap(one))(jnp.asarray(starts), jnp.asarray(steps)))
    ref_state = machine.init() | {"phase": "decay"}
    want = np.array(
        [
            machine.value(ref_state | {"step": int(k), "warmup_end_step": int(s)})
            for s, k in zip(starts, steps)
        ]
    )
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-7)


HYPOTHESIS_MACHINES = [
    dict(ramp="linear", smoothing=0.9, patience=1),
    dict(ramp="paper", smoothing=0.0, patience=3),
]


@pytest.mark.parametrize("cfg", HYPOTHESIS_MACHINES, ids=lambda c: c["ramp"])
def test_adaptive_parity_hypothesis_float64(cfg):
    """In float64 the switch step and every multiplier equal the Python machine's."""
    with jax.enable_x64(True):
        machine = AdaptiveWarmupSchedule(30, 0.5, delta_star=2.0, div_factor=10.0, **JAX, **cfg)
        run = jax.jit(lambda x: ao.simulate(machine, x))  # compiled once, for every example

        @settings(
            max_examples=30,
            deadline=None,
            suppress_health_check=[HealthCheck.function_scoped_fixture],
        )
        @given(drops=st.lists(st.floats(-0.3, 0.6), min_size=30, max_size=30))
        def check(drops):
            losses = 8.0 - np.cumsum(drops)
            want, ref_state = _reference(machine, losses)
            mults, state = run(jnp.asarray(losses, jnp.float64))
            np.testing.assert_allclose(np.asarray(mults), want, rtol=1e-12, atol=1e-14)
            assert ao.to_machine_state(state)["warmup_end_step"] == ref_state["warmup_end_step"]

        check()


def test_transformation_scales_adamw_like_the_torch_scheduler():
    """chain(adamw(lr), adaptive_warmup) == adamw with lr * (AdaptiveWarmup's multiplier)."""
    lr, total = 0.3, 30
    opts = dict(delta_star=1.0, div_factor=10.0, smoothing=0.5, **JAX)
    target = jnp.array([1.0, -2.0, 0.5])

    def loss_fn(w):
        return jnp.sum((w - target) ** 2) + 0.2

    tx = optax.chain(optax.adamw(lr, weight_decay=0.1), ao.adaptive_warmup(total, 0.2, **opts))
    params, state = jnp.zeros(3), None
    state = tx.init(params)

    @jax.jit
    def train_step(params, state):
        loss, grads = jax.value_and_grad(loss_fn)(params)
        updates, state = tx.update(grads, state, params, value=loss)
        return optax.apply_updates(params, updates), state, loss

    losses, trajectory = [], []
    for _ in range(total):
        params, state, loss = train_step(params, state)
        losses.append(float(loss))
        trajectory.append(np.asarray(params))
    assert ao.to_machine_state(state[1])["phase"] == "decay"

    # The torch scheduler fed the same losses gives the LR of every update ...
    p = torch.nn.Parameter(torch.zeros(1))
    opt = torch.optim.SGD([p], lr=lr)
    sched = AdaptiveWarmup(opt, total_steps=total, target_loss=0.2, **opts)
    lrs = []
    for loss in losses:
        lrs.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step(loss)
    # ... and optax's AdamW with exactly those LRs takes the same steps.
    ref = optax.inject_hyperparams(optax.adamw)(learning_rate=lr, weight_decay=0.1)
    w, rs = jnp.zeros(3), None
    rs = ref.init(w)

    @jax.jit
    def ref_step(w, rs, lr_k):
        rs.hyperparams["learning_rate"] = lr_k
        updates, rs = ref.update(jax.grad(loss_fn)(w), rs, w)
        return optax.apply_updates(w, updates), rs

    for k in range(total):
        w, rs = ref_step(w, rs, jnp.asarray(lrs[k]))
        np.testing.assert_allclose(np.asarray(w), trajectory[k], rtol=1e-5, atol=1e-6)


def test_resume_from_a_torch_state_and_pytree_state():
    machine = AdaptiveWarmupSchedule(TOTAL, 1.0, delta_star=0.8, div_factor=20.0, **JAX)
    losses = _losses()
    want, _ = _reference(machine, losses)
    # a torch AdaptiveWarmup run stopped mid warm-up, resumed in JAX
    p = torch.nn.Parameter(torch.zeros(1))
    opt = torch.optim.SGD([p], lr=1.0)
    sched = AdaptiveWarmup(
        opt, total_steps=TOTAL, target_loss=1.0, delta_star=0.8, div_factor=20.0, **JAX,
    )  # fmt: skip
    for loss in losses[:10]:
        opt.step()
        sched.step(float(loss))
    assert sched.phase == "warmup"
    state = ao.from_machine_state(sched.state_dict()["machine"])
    leaves = jax.tree.leaves(state)
    assert len(leaves) == len(ao.AdaptiveWarmupState._fields)
    assert all(isinstance(x, jax.Array) and x.shape == () for x in leaves)
    mults, _ = jax.jit(lambda x, s: ao.simulate(machine, x, s))(jnp.asarray(losses[10:]), state)
    np.testing.assert_allclose(np.asarray(mults), want[10:], rtol=2e-6, atol=1e-7)


def test_the_guard_is_off_in_optax_and_a_climbing_loss_matches_the_unguarded_machine():
    """The guard is not implemented in JAX: adaptive_warmup turns it off, so on a loss that climbs
    (where the default torch machine backs off) it equals the machine with guard=False."""
    losses = np.concatenate([np.linspace(6.0, 3.0, 20), 3.0 * 1.03 ** np.arange(1, 21)])
    kw = dict(delta_star=0.5, div_factor=10.0, smoothing=0.5, outlier_filter=False)
    limits = dict(warmup_max_frac=None, max_growth=None, start_rate=0.0)  # not in JAX either
    guarded = AdaptiveWarmupSchedule(40, 0.0, **kw, **limits).simulate([float(x) for x in losses])
    assert guarded["state"]["backoff_steps"]  # the torch default would back off here
    want, _ = _reference(AdaptiveWarmupSchedule(40, 0.0, guard=False, **kw, **limits), losses)
    tx = ao.adaptive_warmup(40, 0.0, **kw)
    params = jnp.zeros(1)
    state = tx.init(params)
    got = []
    for loss in losses:
        _, state = tx.update(params, state, params, value=jnp.asarray(loss, jnp.float32))
        got.append(float(state.scale))
    np.testing.assert_allclose(got, want, rtol=2e-6, atol=1e-7)
    assert not np.allclose(got, guarded["multiplier"])


def test_transformation_bad_input():
    tx = ao.adaptive_warmup(10, 0.0, delta_star=1.0)
    params = jnp.zeros(2)
    state = tx.init(params)
    with pytest.raises(TypeError, match="value=loss"):
        tx.update(params, state, params)
    with pytest.raises(ValueError, match="scalar"):
        tx.update(params, state, params, value=jnp.ones(2))
    with pytest.raises(ValueError, match="delta_star, delta_star_frac, kappa"):
        ao.adaptive_warmup(10, 0.0)  # no delta_star, kappa or k_constants
    with pytest.raises(ValueError, match="smoothing"):
        ao.adaptive_warmup(10, 0.0, delta_star=1.0, smoothing=1.5)
    with pytest.raises(ValueError, match="outlier_filter=False"):
        ao.adaptive_warmup(10, 0.0, delta_star=1.0, outlier_filter=True)
    with pytest.raises(ValueError, match="outlier_filter=False"):
        ao.simulate(AdaptiveWarmupSchedule(10, 0.0, delta_star=1.0), jnp.ones(3))
    with pytest.raises(ValueError, match="guard=False"):
        ao.adaptive_warmup(10, 0.0, delta_star=1.0, guard=True)
    with pytest.raises(ValueError, match="guard=False"):
        ao.simulate(
            AdaptiveWarmupSchedule(10, 0.0, delta_star=1.0, outlier_filter=False), jnp.ones(3)
        )
    with pytest.raises(ValueError, match="target_loss='auto' is not implemented in the optax"):
        ao.adaptive_warmup(10, "auto", delta_star=1.0)
    for name, value in (("warmup_max_frac", 0.5), ("max_growth", 3.0)):
        with pytest.raises(ValueError, match=f"{name}=.* pass {name}=None"):
            ao.adaptive_warmup(10, 0.0, delta_star=1.0, **{name: value})
    for value in (0.1, None):  # None: the default, 0.1 with the linear ramp and smoothing
        with pytest.raises(ValueError, match=r"start_rate .*0\.1.* pass start_rate=0$"):
            ao.adaptive_warmup(10, 0.0, delta_star=1.0, start_rate=value)
    with pytest.raises(TypeError, match="AdaptiveWarmupSchedule"):
        ao.from_schedule({"total_steps": 10})
    with pytest.raises(ValueError, match="phase"):
        ao.from_machine_state(
            AdaptiveWarmupSchedule(10, 0.0, delta_star=1.0).init() | {"phase": "x"}
        )
    # f* above the first loss: the machine's own error, raised from the host callback under jit
    bad = jax.jit(lambda g, s, loss: tx.update(g, s, params, value=loss))
    with pytest.raises(Exception, match=r"target_loss .* must be below the first observed loss"):
        jax.block_until_ready(bad(params, state, -1.0))
