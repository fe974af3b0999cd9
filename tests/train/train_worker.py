"""Subprocess worker of the training tests.

``python train_worker.py CONFIG.json [--kill-at STEP]``: run ``autowarm.train.train`` on the
config; with ``--kill-at`` the process SIGKILLs itself right after that optimizer step (a real
crash: no cleanup, no final checkpoint). Under ``torchrun`` every rank writes
``OUT/rank{r}.json`` with its final parameters' checksum and results. ``train`` destroys the
process group before it returns; the worker then flushes its output and leaves with ``os._exit``,
so no C++ static destructor runs beside a gloo thread at interpreter shutdown.
"""

import hashlib
import json
import os
import signal
import sys
from pathlib import Path

import torch

from autowarm.train import RunConfig, train


class KillAt:
    def __init__(self, step: int) -> None:
        self.step = step

    def on_step(self, ctx) -> None:
        if ctx.step == self.step:
            os.kill(os.getpid(), signal.SIGKILL)


class ParamDigest:
    def on_train_end(self, ctx, results) -> None:
        h = hashlib.sha256()
        for name, p in sorted(ctx.model.state_dict().items()):
            h.update(name.encode() + p.detach().cpu().numpy().tobytes())
        rank = ctx.dist.rank
        record = {"rank": rank, "world": ctx.dist.world_size, "params": h.hexdigest(), **results}
        with open(os.path.join(ctx.cfg.out, f"rank{rank}.json"), "w") as f:
            json.dump(record, f)


def main(argv: list[str]) -> None:
    torch.set_num_threads(1)
    cfg = RunConfig.from_dict(json.loads(Path(argv[0]).read_text()))
    callbacks = [ParamDigest()]
    if "--kill-at" in argv:
        callbacks.append(KillAt(int(argv[argv.index("--kill-at") + 1])))
    train(cfg, callbacks=callbacks, progress=False)


if __name__ == "__main__":
    main(sys.argv[1:])
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)
