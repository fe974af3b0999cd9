"""HF Trainer with AdaptiveWarmupCallback on 2 gloo ranks (run by torchrun from test_hf_trainer).

``torchrun --nproc_per_node 2 hf_ddp_worker.py OUT_DIR`` writes ``OUT_DIR/rank{r}.json``: the LR of
every update on this rank and the Trainer's logged (all-rank mean) step losses.
"""

from __future__ import annotations

import json
import sys


def main(out_dir: str) -> None:
    import torch
    import transformers

    from autowarm.integrations.transformers import AdaptiveWarmupCallback, adaptive_optimizers

    torch.set_num_threads(1)
    g = torch.Generator().manual_seed(0)
    base = torch.randint(0, 24, (6, 16), generator=g)
    rows = base[torch.randint(0, 6, (64,), generator=g)]
    data = [{"input_ids": r, "labels": r} for r in rows]
    torch.manual_seed(0)
    cfg = transformers.GPT2Config(
        vocab_size=24, n_positions=16, n_embd=16, n_layer=2, n_head=2,
        resid_pdrop=0.0, embd_pdrop=0.0, attn_pdrop=0.0, bos_token_id=0, eos_token_id=0,
    )  # fmt: skip
    model = transformers.GPT2LMHeadModel(cfg)
    args = transformers.TrainingArguments(
        out_dir, max_steps=6, per_device_train_batch_size=2, gradient_accumulation_steps=2,
        learning_rate=1e-2, logging_steps=1, save_strategy="no", report_to=[], use_cpu=True,
        disable_tqdm=True, seed=0, dataloader_num_workers=0,
    )  # fmt: skip
    opt, sched = adaptive_optimizers(
        model, args, target_loss=2.0, delta_star=0.9, div_factor=10.0, smoothing=0.0
    )
    lrs = []

    class Recorder(transformers.TrainerCallback):
        def on_pre_optimizer_step(self, args, state, control, optimizer=None, **kwargs):
            lrs.append(optimizer.param_groups[0]["lr"])

    trainer = transformers.Trainer(
        model=model, args=args, train_dataset=data, optimizers=(opt, sched),
        callbacks=[AdaptiveWarmupCallback(), Recorder()],
    )  # fmt: skip
    trainer.train()
    rank = args.process_index
    record = {
        "world": args.world_size,
        "lr": lrs,
        "losses": [h["loss"] for h in trainer.state.log_history if "loss" in h],
        "last_epoch": sched.last_epoch,
        "local_gap": sched.gap,
    }
    with open(f"{out_dir}/rank{rank}.json", "w") as f:
        json.dump(record, f)


if __name__ == "__main__":
    from worker_exit import shutdown  # the script's folder is on sys.path

    main(sys.argv[1])
    shutdown()
