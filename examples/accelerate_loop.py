"""The adaptive warm-up in an accelerate training loop (CPU here; the same code runs on GPUs/DDP).

    python examples/accelerate_loop.py [--steps 60]       # needs pip install 'autowarm[hf]'
    accelerate launch --num_processes 2 examples/accelerate_loop.py

``sched.observe(loss)`` takes every micro-batch's loss (the update's loss is their mean, averaged
across processes); ``accelerator.prepare`` may wrap the scheduler: it then calls ``step()`` on
every micro-batch and once per process per update, and ``AdaptiveWarmup`` counts each optimizer
update once.
"""

import argparse
import warnings

import torch
from accelerate import Accelerator

from autowarm import AdaptiveWarmup


def main(steps: int) -> None:
    torch.set_num_threads(1)
    accumulation = 2
    accelerator = Accelerator(cpu=True, gradient_accumulation_steps=accumulation)
    torch.manual_seed(0)
    x = torch.randn(steps * accumulation * accelerator.num_processes * 32, 4)
    y = x @ torch.tensor([[1.0], [-2.0], [0.5], [1.5]]) + 0.5 * torch.sin(3 * x[:, :1])
    data = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x, y), batch_size=32)
    model = torch.nn.Sequential(torch.nn.Linear(4, 64), torch.nn.GELU(), torch.nn.Linear(64, 1))
    opt = torch.optim.AdamW(model.parameters(), lr=3e-2)
    sched = AdaptiveWarmup(opt, total_steps=steps, target_loss=0.1, div_factor=10.0)
    model, opt, data, prepared = accelerator.prepare(model, opt, data, sched)
    # The prepared scheduler calls sched.step() num_processes times per update; AdaptiveWarmup
    # counts the update once and says so in a warning, which this example expects.
    warnings.filterwarnings("ignore", message="AdaptiveWarmup.step\\(\\) was called without")
    for xb, yb in data:
        with accelerator.accumulate(model):
            loss = torch.nn.functional.mse_loss(model(xb), yb)
            accelerator.backward(loss)
            sched.observe(loss)
            opt.step()
            prepared.step()
            opt.zero_grad()
    accelerator.print(
        f"updates {sched.last_epoch}, phase {sched.phase}, warm-up ended at update "
        f"{sched.warmup_end_step}, D* {sched.delta_star:.3f}, last loss {loss.item():.3f}"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=60, help="optimizer updates")
    main(parser.parse_args().steps)
