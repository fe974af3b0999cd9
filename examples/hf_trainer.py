"""The adaptive warm-up in the Hugging Face Trainer: a tiny GPT-2 learns a short text on the CPU.

    python examples/hf_trainer.py [--steps 60]      # needs pip install 'autowarm[hf]'

The autowarm part is two lines: ``adaptive_optimizers`` builds the (optimizer, scheduler) pair for
``Trainer(optimizers=...)`` and ``AdaptiveWarmupCallback`` feeds it the training loss (gradient
accumulation, checkpoints and ``resume_from_checkpoint`` need nothing more).
"""

import argparse
import tempfile

import torch
import transformers

from autowarm.integrations.transformers import AdaptiveWarmupCallback, adaptive_optimizers

TEXT = (
    "Shall I compare thee to a summer's day? Thou art more lovely and more temperate: "
    "Rough winds do shake the darling buds of May, And summer's lease hath all too short a date. "
)


class Chars(torch.utils.data.Dataset):
    """Windows of 32 characters of TEXT, as token ids (the labels are the inputs)."""

    def __init__(self, seq=32):
        vocab = sorted(set(TEXT))
        ids = torch.tensor([vocab.index(c) for c in TEXT * 8])
        self.vocab_size, self.rows = len(vocab), ids.unfold(0, seq, 4)

    def __len__(self):
        return len(self.rows)

    def __getitem__(self, i):
        return {"input_ids": self.rows[i], "labels": self.rows[i]}


def main(steps: int) -> None:
    torch.set_num_threads(1)  # a tiny model: threads only add overhead
    torch.manual_seed(0)
    data = Chars()
    config = transformers.GPT2Config(
        vocab_size=data.vocab_size,
        n_positions=32,
        n_embd=32,
        n_layer=2,
        n_head=2,
        bos_token_id=0,
        eos_token_id=0,
    )
    model = transformers.GPT2LMHeadModel(config)
    with tempfile.TemporaryDirectory() as out:
        args = transformers.TrainingArguments(
            out, max_steps=steps, per_device_train_batch_size=8, gradient_accumulation_steps=2,
            learning_rate=1e-2, logging_steps=max(1, steps // 6), save_strategy="no", report_to=[],
            use_cpu=True, disable_tqdm=True,
        )  # fmt: skip
        opt, sched = adaptive_optimizers(model, args, target_loss=2.0, div_factor=10.0)
        trainer = transformers.Trainer(
            model=model, args=args, train_dataset=data,
            optimizers=(opt, sched), callbacks=[AdaptiveWarmupCallback()],
        )  # fmt: skip
        trainer.train()
    losses = [h["loss"] for h in trainer.state.log_history if "loss" in h]
    print(f"updates {sched.last_epoch}, phase {sched.phase}, warm-up ended at update "
          f"{sched.warmup_end_step}, D* {sched.delta_star:.3f}, last logged loss {losses[-1]:.3f}")  # fmt: skip


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=60, help="optimizer updates")
    main(parser.parse_args().steps)
