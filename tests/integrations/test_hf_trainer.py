"""autowarm.integrations.transformers with the real HF Trainer: a 2-layer GPT-2 built locally."""

from __future__ import annotations

import pytest
import torch

transformers = pytest.importorskip("transformers")
pytest.importorskip("accelerate")

from integration_helpers import plain_loop_lrs, run_two_ranks  # noqa: E402

from autowarm import AdaptiveWarmup, FixedSchedule  # noqa: E402
from autowarm.integrations.transformers import (  # noqa: E402
    AdaptiveWarmupCallback,
    adaptive_optimizers,
)
from autowarm.schedules import from_spec  # noqa: E402

SEQ = 16
WARMUP = dict(target_loss=2.0, delta_star=0.9, div_factor=10.0, smoothing=0.0)


class Tokens(torch.utils.data.Dataset):
    """Short sequences of a few repeating patterns: the loss falls within tens of updates."""

    def __init__(self, n=96, vocab=24, seed=0):
        g = torch.Generator().manual_seed(seed)
        base = torch.randint(0, vocab, (6, SEQ), generator=g)
        self.rows = base[torch.randint(0, 6, (n,), generator=g)]

    def __len__(self):
        return len(self.rows)

    def __getitem__(self, i):
        return {"input_ids": self.rows[i], "labels": self.rows[i]}


def gpt2():
    torch.manual_seed(0)
    cfg = transformers.GPT2Config(
        vocab_size=24, n_positions=SEQ, n_embd=16, n_layer=2, n_head=2,
        resid_pdrop=0.0, embd_pdrop=0.0, attn_pdrop=0.0,
    )  # fmt: skip
    return transformers.GPT2LMHeadModel(cfg)


class LRRecorder(transformers.TrainerCallback):
    """The LR of every optimizer update, read just before the update (what it runs at)."""

    def __init__(self):
        self.lrs = []

    def on_pre_optimizer_step(self, args, state, control, optimizer=None, **kwargs):
        self.lrs.append(optimizer.param_groups[0]["lr"])


def train_args(tmp_path, steps, **kw):
    defaults = dict(
        output_dir=str(tmp_path),
        max_steps=steps,
        per_device_train_batch_size=4,
        gradient_accumulation_steps=2,
        learning_rate=1e-2,
        logging_steps=1,
        save_strategy="no",
        report_to=[],
        use_cpu=True,
        disable_tqdm=True,
        seed=0,
        dataloader_num_workers=0,
    )
    return transformers.TrainingArguments(**(defaults | kw))


def run(tmp_path, steps, model=None, resume=None, dataset=None, **kw):
    model = model or gpt2()
    args = train_args(tmp_path, steps, **kw)
    opt, sched = adaptive_optimizers(model, args, target_loss=WARMUP["target_loss"], **{
        k: v for k, v in WARMUP.items() if k != "target_loss"})  # fmt: skip
    rec = LRRecorder()
    trainer = transformers.Trainer(
        model=model,
        args=args,
        train_dataset=dataset or Tokens(),
        optimizers=(opt, sched),
        callbacks=[AdaptiveWarmupCallback(), rec],
    )
    trainer.train(resume_from_checkpoint=resume)
    losses = [h["loss"] for h in trainer.state.log_history if "loss" in h]
    return trainer, sched, rec.lrs, losses


def reference_lrs(losses, lr, total):
    """A plain loop: AdaptiveWarmup stepped with the Trainer's logged step losses."""
    return plain_loop_lrs(losses, lr=lr, total_steps=total, **WARMUP)


STEPS = 12


@pytest.fixture(scope="module")
def full_run(tmp_path_factory):
    """12 updates x 2 micro-batches, checkpoints every 4 updates."""
    out = tmp_path_factory.mktemp("hf-full")
    trainer, sched, lrs, losses = run(out, STEPS, save_strategy="steps", save_steps=4)
    return out, trainer, sched, lrs, losses


def test_trainer_lr_equals_autowarm_at_every_update_with_accumulation(full_run):
    _, trainer, sched, lrs, losses = full_run
    # gradient accumulation counts optimizer updates: 12 updates of 2 micro-batches each
    assert trainer.state.global_step == STEPS == sched.last_epoch == len(lrs) == len(losses)
    # the warm-up ended inside the run (so both phases are compared)
    assert sched.phase == "decay" and 4 < sched.warmup_end_step < 8
    ref, ref_sched = reference_lrs(losses, 1e-2, STEPS)
    assert lrs == pytest.approx(ref, rel=1e-5)
    assert sched.warmup_end_step == ref_sched.warmup_end_step
    assert lrs[0] == pytest.approx(1e-3)  # the first update runs at lr / div


@pytest.mark.slow
@pytest.mark.parametrize("ckpt", [4, 8], ids=["mid-warmup", "mid-decay"])
def test_resume_from_checkpoint_is_exact(full_run, tmp_path, ckpt):
    out, _, sched, lrs, _ = full_run
    path = out / f"checkpoint-{ckpt}"
    saved = torch.load(path / "scheduler.pt", weights_only=True)
    assert saved["last_epoch"] == ckpt
    assert saved["machine"]["phase"] == ("warmup" if ckpt == 4 else "decay")
    _, resumed, lrs2, _ = run(tmp_path, STEPS, resume=str(path))
    assert lrs2 == pytest.approx(lrs[ckpt:], rel=1e-5)
    assert resumed.last_epoch == STEPS
    assert resumed.warmup_end_step == sched.warmup_end_step
    assert resumed.smoothed_loss == pytest.approx(sched.smoothed_loss, rel=1e-5)


class MeanLossModel(torch.nn.Module):
    """A model whose forward takes no **kwargs: the Trainer divides its loss by the accumulation."""

    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.emb = torch.nn.Embedding(24, 8)
        self.out = torch.nn.Linear(8, 24)

    def forward(self, input_ids, labels=None):
        logits = self.out(self.emb(input_ids[:, :-1]))
        loss = None
        if labels is not None:
            loss = torch.nn.functional.cross_entropy(logits.flatten(0, 1), labels[:, 1:].flatten())
        return {"loss": loss, "logits": logits}


@pytest.mark.filterwarnings("ignore:AdaptiveWarmup is still in its warm-up")
def test_models_without_loss_kwargs_use_the_mean_of_the_micro_batches(tmp_path):
    model = MeanLossModel()
    trainer, sched, lrs, losses = run(
        tmp_path, 6, model=model, gradient_accumulation_steps=3, learning_rate=0.5
    )
    assert not trainer.model_accepts_loss_kwargs
    assert sched.last_epoch == trainer.state.global_step == 6
    ref, _ = reference_lrs(losses, 0.5, 6)
    assert lrs == pytest.approx(ref, rel=1e-5)


def test_fixed_schedule_needs_no_glue(tmp_path):
    model = gpt2()
    args = train_args(tmp_path, 6)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-2)
    sched = FixedSchedule(opt, from_spec("wsd:warmup_steps=2,cooldown_frac=0.5,cooldown=linear", 6))
    rec = LRRecorder()
    trainer = transformers.Trainer(
        model=model, args=args, train_dataset=Tokens(), optimizers=(opt, sched), callbacks=[rec]
    )
    trainer.train()
    assert rec.lrs == pytest.approx([5e-3, 1e-2, 1e-2, 1e-2 * 2 / 3, 1e-2 / 3, 0.0], abs=1e-12)
    assert sched.last_epoch == 6


def test_callback_refuses_what_it_cannot_drive(tmp_path):
    model = gpt2()
    args = train_args(tmp_path, 2)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    state = transformers.TrainerState(max_steps=2)
    cb = AdaptiveWarmupCallback()
    fixed = FixedSchedule(opt, from_spec("constant", 2))
    with pytest.raises(TypeError, match="FixedSchedule"):
        cb.on_train_begin(args, state, None, model=model, lr_scheduler=fixed, optimizer=opt)
    sched = AdaptiveWarmup(opt, total_steps=2, **WARMUP)
    smooth = train_args(tmp_path, 2, label_smoothing_factor=0.1)
    with pytest.raises(ValueError, match="label_smoothing_factor"):
        cb.on_train_begin(smooth, state, None, model=model, lr_scheduler=sched, optimizer=opt)
    with pytest.warns(UserWarning, match="max_steps=5"):
        cb.on_train_begin(
            args, transformers.TrainerState(max_steps=5), None, model=model, lr_scheduler=sched
        )
    cb.on_train_end(args, state, None)
    with pytest.raises(TypeError, match="check_total_steps"):
        AdaptiveWarmupCallback(check_total_steps="yes")
    with pytest.raises(ValueError, match="max_steps"):
        adaptive_optimizers(model, train_args(tmp_path, -1, num_train_epochs=1), target_loss=1.0)
    with pytest.raises(TypeError, match="optimizer must be"):
        adaptive_optimizers(model, args, target_loss=1.0, optimizer=3)


def test_a_loss_computed_outside_the_model_is_refused(tmp_path):
    """With compute_loss_func the model returns no loss: the callback says so at the update."""
    model = gpt2()
    args = train_args(tmp_path, 2)
    opt, sched = adaptive_optimizers(model, args, **WARMUP)

    def loss_func(outputs, labels, num_items_in_batch=None):
        logits = outputs.logits[:, :-1].flatten(0, 1)
        return torch.nn.functional.cross_entropy(logits, labels[:, 1:].flatten())

    trainer = transformers.Trainer(
        model=model, args=args, train_dataset=Tokens(), optimizers=(opt, sched),
        callbacks=[AdaptiveWarmupCallback()], compute_loss_func=loss_func,
    )  # fmt: skip
    with pytest.raises(ValueError, match="saw no loss"):
        trainer.train()
    assert sched.last_epoch == 0  # nothing was stepped


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore:AdaptiveWarmup is still in its warm-up")
def test_ddp_two_ranks_use_the_global_mean_loss(tmp_path):
    """2 gloo ranks, average_tokens_across_devices (the default): both ranks apply the LR that a
    plain loop fed the Trainer's logged loss (the mean over all tokens of both ranks) gives."""
    run_two_ranks("hf_ddp_worker.py", tmp_path)
    import json

    r0, r1 = (json.loads((tmp_path / f"rank{r}.json").read_text()) for r in (0, 1))
    assert r0["world"] == 2 and r0["last_epoch"] == r1["last_epoch"] == 6
    assert r0["lr"] == r1["lr"]
    p = torch.nn.Parameter(torch.zeros(1))
    opt = torch.optim.SGD([p], lr=1e-2)
    ref = AdaptiveWarmup(opt, total_steps=6, **WARMUP)
    want = []
    for loss in r0["losses"]:
        want.append(opt.param_groups[0]["lr"])
        opt.step()
        ref.step(loss)
    assert r0["lr"] == pytest.approx(want, rel=1e-5)
    assert r0["local_gap"] == pytest.approx(ref.gap, rel=1e-5)
