"""The adaptive warm-up and autowarm's fixed schedules in JAX/optax: a small MLP on the CPU.

    python examples/optax_adaptive.py [--steps 60]        # needs pip install 'autowarm[jax]'

``adaptive_warmup`` is an optax transformation that takes the loss like
``optax.contrib.reduce_on_plateau`` (``tx.update(grads, state, params, value=loss)``) and scales
the updates by the warm-up multiplier; ``as_schedule`` turns any autowarm schedule into an optax
schedule. Both run under ``jax.jit``.
"""

import argparse

import jax
import jax.numpy as jnp
import optax

from autowarm.integrations.optax import adaptive_warmup, as_schedule
from autowarm.schedules import kappa


def main(steps: int) -> None:
    kx, k1, k2 = jax.random.split(jax.random.PRNGKey(0), 3)
    x = jax.random.normal(kx, (512, 4))
    y = x @ jnp.array([[1.0], [-2.0], [0.5], [1.5]]) + 0.5 * jnp.sin(3 * x[:, :1])
    params = {
        "w1": 0.5 * jax.random.normal(k1, (4, 64)), "b1": jnp.zeros(64),
        "w2": 0.1 * jax.random.normal(k2, (64, 1)), "b2": jnp.zeros(1),
    }  # fmt: skip

    def loss_fn(p, xb, yb):
        h = jax.nn.gelu(xb @ p["w1"] + p["b1"])
        return jnp.mean((h @ p["w2"] + p["b2"] - yb) ** 2)

    def train(tx, takes_loss):
        @jax.jit
        def step(p, state, xb, yb):
            loss, grads = jax.value_and_grad(loss_fn)(p, xb, yb)
            extra = {"value": loss} if takes_loss else {}
            updates, state = tx.update(grads, state, p, **extra)
            return optax.apply_updates(p, updates), state, loss

        p, state = params, tx.init(params)
        for k in range(steps):
            i = (k * 32) % len(x)
            p, state, loss = step(p, state, x[i : i + 32], y[i : i + 32])
        return state, float(loss)

    # The adaptive warm-up after AdamW at the peak LR. D* is fitted from the norm constant kappa
    # of the optimizer's matrices (Adam's update is sign-like: kappa = sum of m * n).
    k = kappa("sign", [w.shape for w in jax.tree.leaves(params) if w.ndim == 2])
    warmup = adaptive_warmup(steps, target_loss=0.1, kappa=k, div_factor=10.0)
    tx = optax.chain(optax.adamw(3e-2), warmup)
    state, loss = train(tx, takes_loss=True)
    warm = state[1]
    print(f"adaptive: updates {int(warm.step)}, warm-up ended at update "
          f"{int(warm.warmup_end_step)}, D* {float(warm.delta_star):.3f}, last loss {loss:.3f}")  # fmt: skip
    # A fixed autowarm schedule (WSD with a 1-sqrt cooldown) as optax's learning rate.
    wsd = f"wsd:warmup_steps={max(1, steps // 10)},cooldown_frac=0.2,cooldown=1-sqrt"
    lr = as_schedule(wsd, steps, lr=3e-2)
    _, loss = train(optax.adamw(lr), takes_loss=False)
    print(f"wsd: last loss {loss:.3f}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=60, help="optimizer updates")
    main(parser.parse_args().steps)
