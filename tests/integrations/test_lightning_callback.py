"""autowarm.integrations.lightning with a real Lightning Trainer and a tiny module on CPU."""

from __future__ import annotations

import pytest
import torch

L = pytest.importorskip("lightning.pytorch")

from integration_helpers import plain_loop_lrs  # noqa: E402

from autowarm.integrations.lightning import AdaptiveWarmupCallback, configure  # noqa: E402

WARMUP = dict(target_loss=0.0, delta_star=2.0, div_factor=10.0, smoothing=0.0)
BATCHES, ACCUM, EPOCHS = 5, 2, 4  # 3 updates per epoch (the last one of a single micro-batch)
STEPS = EPOCHS * 3


class Regression(L.LightningModule):
    def __init__(self, interval="step", plateau=False):
        super().__init__()
        torch.manual_seed(0)
        self.net = torch.nn.Linear(8, 1)
        self.losses = []  # every micro-batch's loss, as training_step returns it
        self.interval, self.plateau = interval, plateau

    def training_step(self, batch, batch_idx):
        x, y = batch
        loss = torch.nn.functional.mse_loss(self.net(x), y)
        self.losses.append(loss.item())
        self.log("train_loss", loss)
        return loss

    def configure_optimizers(self):
        opt = torch.optim.SGD(self.parameters(), lr=0.3)
        cfg = configure(opt, total_steps=self.trainer.estimated_stepping_batches, **WARMUP)
        cfg["lr_scheduler"]["interval"] = self.interval
        if self.plateau:
            cfg["lr_scheduler"] |= {"reduce_on_plateau": True, "monitor": "train_loss"}
        return cfg


def loader():
    g = torch.Generator().manual_seed(0)
    x = torch.randn(BATCHES * 8, 8, generator=g)
    y = x @ torch.randn(8, 1, generator=g)
    return torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x, y), batch_size=8)


class Recorder(L.Callback):
    """The LR each update runs at and the micro-batch losses that went into it."""

    def __init__(self):
        self.lrs, self.windows, self._seen = [], [], 0

    def on_before_optimizer_step(self, trainer, pl_module, optimizer):
        self.lrs.append(optimizer.param_groups[0]["lr"])
        self.windows.append(pl_module.losses[self._seen :])
        self._seen = len(pl_module.losses)


def fit(tmp_path, module=None, ckpt_path=None, callbacks=()):
    module = module or Regression()
    rec = Recorder()
    trainer = L.Trainer(
        max_epochs=EPOCHS, accumulate_grad_batches=ACCUM, accelerator="cpu", devices=1,
        logger=False, enable_progress_bar=False, enable_model_summary=False,
        default_root_dir=str(tmp_path), callbacks=[AdaptiveWarmupCallback(), rec, *callbacks],
        enable_checkpointing=bool(callbacks),
    )  # fmt: skip
    trainer.fit(module, loader(), ckpt_path=ckpt_path)
    sched = trainer.lr_scheduler_configs[0].scheduler
    return trainer, sched, rec


def reference_lrs(step_losses):
    return plain_loop_lrs(step_losses, lr=0.3, total_steps=STEPS, **WARMUP)


@pytest.fixture(scope="module")
def full_fit(tmp_path_factory):
    out = tmp_path_factory.mktemp("pl-full")
    by_step = L.callbacks.ModelCheckpoint(
        dirpath=out / "steps", filename="{step}", every_n_train_steps=1, save_top_k=-1
    )
    by_epoch = L.callbacks.ModelCheckpoint(
        dirpath=out / "epochs", filename="{epoch}", every_n_epochs=1, save_top_k=-1,
        save_on_train_epoch_end=True,
    )  # fmt: skip
    trainer, sched, rec = fit(out, callbacks=[by_step, by_epoch])
    return out, trainer, sched, rec


def test_lr_equals_autowarm_with_the_mean_loss_of_each_update(full_fit):
    _, trainer, sched, rec = full_fit
    assert trainer.global_step == STEPS == sched.last_epoch == len(rec.lrs)
    # accumulate_grad_batches=2 over 5 batches per epoch: updates of 2, 2 and 1 micro-batches
    assert [len(w) for w in rec.windows] == [2, 2, 1] * EPOCHS
    ref, ref_sched = reference_lrs([sum(w) / len(w) for w in rec.windows])
    assert rec.lrs == pytest.approx(ref, rel=1e-6)
    assert 3 < sched.warmup_end_step < 9 and sched.warmup_end_step == ref_sched.warmup_end_step


@pytest.mark.parametrize(
    "ckpt, updates",
    [("steps/step=3.ckpt", 3), ("steps/step=7.ckpt", 7), ("epochs/epoch=2.ckpt", 9)],
    ids=["step-based-mid-warmup", "step-based-mid-epoch-mid-decay", "epoch-based-mid-decay"],
)
@pytest.mark.filterwarnings("ignore:You're resuming from a checkpoint that ended before")
def test_resume_from_model_checkpoint_is_exact(full_fit, tmp_path, ckpt, updates):
    """The checkpoint holds the scheduler of its own update, so the run continues exactly.

    (A checkpoint saved mid-epoch resumes the schedule exactly, but Lightning restarts a plain
    DataLoader's epoch, as it warns, so the losses, and a warm-up's LRs, differ after it: the
    mid-epoch case is checked in the decay, which no longer reads the loss.)
    """
    out, _, sched, rec = full_fit
    assert sched.warmup_end_step < 7
    state = torch.load(out / ckpt, weights_only=False)
    assert state["global_step"] == updates
    assert state["lr_schedulers"][0]["last_epoch"] == updates  # saved with its own update
    trainer, resumed, rec2 = fit(tmp_path, ckpt_path=str(out / ckpt))
    assert trainer.global_step == STEPS == resumed.last_epoch
    assert rec2.lrs == pytest.approx(rec.lrs[updates:], rel=1e-6)
    assert resumed.warmup_end_step == sched.warmup_end_step


def test_routes_that_would_go_wrong_are_refused(tmp_path):
    with pytest.raises(ValueError, match="reduce_on_plateau"):
        fit(tmp_path, Regression(plateau=True))
    with pytest.raises(ValueError, match="interval='step'"):
        fit(tmp_path, Regression(interval="epoch"))

    class Plain(Regression):
        def configure_optimizers(self):
            return torch.optim.SGD(self.parameters(), lr=0.1)

    with pytest.raises(TypeError, match="AdaptiveWarmup"):
        fit(tmp_path, Plain())
    with pytest.raises(TypeError, match="check_total_steps"):
        AdaptiveWarmupCallback(check_total_steps=1)
