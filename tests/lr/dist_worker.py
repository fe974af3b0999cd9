"""Worker for the 2-process gloo test: each rank feeds a different local loss stream.

Run by ``torchrun --standalone --nproc_per_node 2 dist_worker.py OUT_DIR``; writes
``OUT_DIR/rank{r}.json``.

Shutdown is ordered so that no gloo thread outlives the interpreter: every rank writes its result,
meets the others at a barrier (no rank closes its connections while another still runs a
collective), destroys the process group, and leaves with ``os._exit`` after flushing its output,
so no C++ static destructor runs beside a live gloo thread (which aborted the process with
"terminate called without an active exception" on a loaded machine).
"""

import json
import os
import sys

import torch
import torch.distributed as dist

from autowarm import AdaptiveWarmup


def main(out_dir: str) -> None:
    dist.init_process_group("gloo")
    rank = dist.get_rank()
    torch.manual_seed(0)
    p = torch.nn.Parameter(torch.zeros(8, 4))
    opt = torch.optim.SGD([{"params": [p], "norm": "sign"}], lr=0.1)
    sched = AdaptiveWarmup(opt, total_steps=40, target_loss=1.0, div_factor=50.0, smoothing=0.5)
    record = {"lr": [], "phase": [], "warmup_end_step": None}
    for k in range(40):
        # Rank-local losses differ (rank 0 falls faster); only their mean may drive the LR.
        local = 6.0 * 0.9 ** (k * (1.5 if rank == 0 else 0.5)) + 1.2
        record["lr"].append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step(torch.tensor(local, dtype=torch.float64) if k % 2 else local)
        record["phase"].append(sched.phase)
    record["warmup_end_step"] = sched.warmup_end_step
    record["delta_star"] = sched.delta_star
    with open(f"{out_dir}/rank{rank}.json", "w") as f:
        json.dump(record, f)
    dist.barrier()
    dist.destroy_process_group()


if __name__ == "__main__":
    main(sys.argv[1])
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)
