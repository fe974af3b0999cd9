"""A small accelerate training loop with AdaptiveWarmup, run in-process or by torchrun (2 ranks).

``torchrun --nproc_per_node 2 accelerate_worker.py OUT_DIR`` writes ``OUT_DIR/rank{r}.json``: per
optimizer update the LR it ran at and this rank's micro-batch losses.
"""

from __future__ import annotations

import json
import sys
import warnings


def run(out_dir: str, steps: int = 12, accumulation: int = 2) -> dict:
    """Train a linear model on rank-local data; return (and write) what this rank saw."""
    import torch
    from accelerate import Accelerator

    from autowarm import AdaptiveWarmup

    accelerator = Accelerator(cpu=True, gradient_accumulation_steps=accumulation)
    rank, world = accelerator.process_index, accelerator.num_processes
    g = torch.Generator().manual_seed(0)
    w_true = torch.randn(8, 1, generator=g)
    x = torch.randn(steps * accumulation * world * 4, 8, generator=g)
    y = x @ w_true + 0.1 * torch.randn(len(x), 1, generator=g)
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x, y), batch_size=4)
    torch.manual_seed(0)
    model = torch.nn.Linear(8, 1)
    opt = torch.optim.SGD(model.parameters(), lr=0.4)
    sched = AdaptiveWarmup(
        opt, total_steps=steps, target_loss=0.0, delta_star=4.0, div_factor=10.0, smoothing=0.0
    )
    model, opt, loader, acc_sched = accelerator.prepare(model, opt, loader, sched)
    record = {"lr": [], "losses": [], "rank": rank, "world": world}
    micro = []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for xb, yb in loader:
            with accelerator.accumulate(model):
                loss = torch.nn.functional.mse_loss(model(xb), yb)
                accelerator.backward(loss)
                sched.observe(loss)  # every micro-batch, on the scheduler itself
                micro.append(loss.item())
                if accelerator.sync_gradients:
                    record["lr"].append(opt.param_groups[0]["lr"])
                    record["losses"].append(micro)
                    micro = []
                opt.step()
                acc_sched.step()  # accelerate calls sched.step() once per process per update
                opt.zero_grad()
    record["last_epoch"] = sched.last_epoch
    record["warmup_end_step"] = sched.warmup_end_step
    record["warnings"] = sorted({str(w.message)[:60] for w in caught})
    with open(f"{out_dir}/rank{rank}.json", "w") as f:
        json.dump(record, f)
    accelerator.wait_for_everyone()
    return record


if __name__ == "__main__":
    from worker_exit import shutdown  # the script's folder is on sys.path

    run(sys.argv[1])
    shutdown()
