"""Regenerate ``loss_curve.csv``: the per-update training loss of a real small run.

A 2-layer MLP fitted to a noisy random linear map with AdamW (lr 1e-2) under a fixed
warm-up + cosine schedule (50 warm-up steps of 1000); one row per optimizer update.
``autowarm simulate`` replays the adaptive warm-up over it (README main job, CLI tests).

    python tests/assets/make_loss_curve.py > tests/assets/loss_curve.csv
"""

import torch

from autowarm import FixedSchedule, schedules

torch.manual_seed(0)
torch.set_num_threads(1)
model = torch.nn.Sequential(torch.nn.Linear(32, 128), torch.nn.GELU(), torch.nn.Linear(128, 1))
opt = torch.optim.AdamW(model.parameters(), lr=1e-2)
sched = FixedSchedule(opt, schedules.warmup_cosine(total_steps=1000, warmup_steps=50))
w = torch.randn(32, 1)
print("step,loss")
for step in range(1000):
    x = torch.randn(64, 32)
    y = x @ w + 0.5 * torch.randn(64, 1)
    loss = torch.nn.functional.mse_loss(model(x), y)
    loss.backward()
    opt.step()
    opt.zero_grad()
    sched.step()
    print(f"{step},{loss.item():.6f}")
