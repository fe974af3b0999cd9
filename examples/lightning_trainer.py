"""The adaptive warm-up in PyTorch Lightning: a small MLP fits a noisy function on the CPU.

    python examples/lightning_trainer.py [--steps 60]     # needs pip install 'autowarm[lightning]'

The autowarm part: ``configure`` in ``configure_optimizers`` (the scheduler stepped every update)
and ``AdaptiveWarmupCallback`` (it feeds each update's mean loss under ``accumulate_grad_batches``).
(The file is not named ``lightning.py``: that would shadow the ``lightning`` package when run.)
"""

import argparse

import lightning.pytorch as L
import torch

from autowarm.integrations.lightning import AdaptiveWarmupCallback, configure


class MLP(L.LightningModule):
    def __init__(self):
        super().__init__()
        self.net = torch.nn.Sequential(
            torch.nn.Linear(4, 64), torch.nn.GELU(), torch.nn.Linear(64, 1)
        )

    def training_step(self, batch, batch_idx):
        x, y = batch
        loss = torch.nn.functional.mse_loss(self.net(x), y)
        self.log("train_loss", loss, prog_bar=False)
        return loss

    def configure_optimizers(self):
        opt = torch.optim.AdamW(self.parameters(), lr=3e-2)
        return configure(
            opt, total_steps=self.trainer.estimated_stepping_batches, target_loss=0.1,
            div_factor=10.0,
        )  # fmt: skip


def main(steps: int) -> None:
    torch.set_num_threads(1)
    L.seed_everything(0, verbose=False)
    x = torch.randn(1024, 4)
    y = (
        x @ torch.tensor([[1.0], [-2.0], [0.5], [1.5]])
        + 0.5 * torch.sin(3 * x[:, :1])
        + 0.1 * torch.randn(1024, 1)
    )
    data = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x, y), batch_size=32)
    trainer = L.Trainer(
        max_steps=steps, accumulate_grad_batches=2, accelerator="cpu", devices=1,
        logger=False, enable_checkpointing=False, enable_progress_bar=False,
        enable_model_summary=False, callbacks=[AdaptiveWarmupCallback()],
    )  # fmt: skip
    model = MLP()
    trainer.fit(model, data)
    sched = trainer.lr_scheduler_configs[0].scheduler
    print(f"updates {sched.last_epoch}, phase {sched.phase}, warm-up ended at update "
          f"{sched.warmup_end_step}, D* {sched.delta_star:.3f}, "
          f"last loss {trainer.callback_metrics['train_loss']:.3f}")  # fmt: skip


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=60, help="optimizer updates")
    main(parser.parse_args().steps)
