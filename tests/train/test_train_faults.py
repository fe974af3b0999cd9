"""Crash residue and resume: faults injected for real into a tiny run, and train/eval-mode
optimizers (Schedule-Free) resumed exactly."""

import json
from pathlib import Path

import pytest
import torch

from autowarm import runlog
from autowarm.train import DataConfig, RunConfig, train
from autowarm.train.checkpoint import load_checkpoint

TIMING = ("wall_time_s", "train_time_s", "tokens_per_s", "steps_this_session")


class Crash(Exception):
    pass


class CrashAt:
    """Raise right after optimizer update ``step`` (the run stops without a final checkpoint)."""

    def __init__(self, step):
        self.step = step

    def on_step(self, ctx):
        if ctx.step == self.step:
            raise Crash(f"crash after update {self.step}")


def cfg(sample_dir, tmp_path, name="run", **kw):
    base = dict(model="tiny", optimizer="adamw", lr=3e-3, schedule="warmup_cosine:warmup_steps=2",
                steps=6, batch_size=4, seq_len=32, eval_every=3, eval_batches=1, log_every=2,
                threads=1, device="cpu", checkpoint_every=2, final_eval=True,
                data=DataConfig(source=str(sample_dir), cache_dir=str(tmp_path / "cache")),
                out=str(tmp_path / name), resume=True)  # fmt: skip
    base.update(kw)
    return RunConfig(**base)


def train_rows(run_dir):
    return [(r["step"], r.get("train_loss"), r.get("val_loss"), r.get("final_val_loss"))
            for r in runlog.read_metrics(run_dir)]  # fmt: skip


def same_results(a, b):
    return {k: v for k, v in a.items() if k not in TIMING} == {
        k: v for k, v in b.items() if k not in TIMING
    }


@pytest.mark.slow
def test_stale_temporaries_go_and_a_torn_metrics_line_does_not_block_resume(sample_dir, tmp_path):
    whole = train(cfg(sample_dir, tmp_path, "whole"), progress=False)
    c = cfg(sample_dir, tmp_path, "killed")
    with pytest.raises(Crash):
        train(c, callbacks=[CrashAt(5)], progress=False)  # checkpoint at 4, rows up to 4
    out = Path(c.out)
    with open(out / "metrics.jsonl", "a") as f:
        f.write('{"step": 5, "train_loss": 4.1')  # the kill tore this write
    for name in (".checkpoint.pt.k1ll3d.tmp", ".final.json.tmp", ".config.json.x.tmp"):
        (out / name).write_bytes(b"half a file")  # a kill during a save leaves these
    (out / ".mine.tmp").write_text("not the run's")
    resumed = train(c, progress=False)
    assert train_rows(out) == train_rows(tmp_path / "whole")  # exact, torn row gone
    assert same_results(resumed, whole)
    assert sorted(p.name for p in out.iterdir()) == [
        ".mine.tmp", "checkpoint.pt", "config.json", "final.json", "metrics.jsonl"
    ]  # fmt: skip


@pytest.mark.slow
def test_a_kill_between_the_final_checkpoint_and_final_json(sample_dir, tmp_path):
    c = cfg(sample_dir, tmp_path, checkpoint_every=0)
    first = train(c, progress=False)
    (Path(c.out) / "final.json").unlink()  # the state a kill after the last checkpoint leaves
    again = train(c, progress=False)
    assert same_results(again, first)
    assert again["last_train_loss"] == first["last_train_loss"] is not None
    assert again["train_time_s"] == pytest.approx(first["train_time_s"], rel=1e-9)
    assert again["tokens_per_s"] == pytest.approx(first["tokens_per_s"], rel=1e-9)
    assert again["tokens_per_s"] > 0
    assert again["steps_this_session"] == 0
    assert [r for r in runlog.read_metrics(c.out) if "final_val_loss" in r] == [
        {"step": 6, "final_val_loss": first["final_val_loss"]}
    ]


@pytest.mark.slow
def test_bad_checkpoints_are_one_line_errors_naming_the_file(sample_dir, tmp_path):
    c = cfg(
        sample_dir,
        tmp_path,
        steps=2,
        checkpoint_every=0,
        eval_every=0,
        final_eval=False,
        schedule="constant",
    )
    train(c, progress=False)
    ckpt = Path(c.out) / "checkpoint.pt"
    good = load_checkpoint(ckpt)
    # A wrong-shaped model tensor: refused before anything is loaded.
    bad = dict(good, model=dict(good["model"]))
    name = next(k for k, v in bad["model"].items() if v.dim() == 2)
    bad["model"][name] = torch.zeros(3, 3)
    torch.save(bad, ckpt)
    with pytest.raises(ValueError, match=rf"{ckpt} does not fit the 'tiny' model: {name} has "
                                         rf"shape \(3, 3\), expected"):  # fmt: skip
        train(c, progress=False)
    # A valid torch file of other content.
    torch.save(torch.ones(3), ckpt)
    with pytest.raises(ValueError, match=r"is not an autowarm checkpoint: it holds a Tensor"):
        train(c, progress=False)
    torch.save({"step": 1}, ckpt)
    with pytest.raises(ValueError, match=r"is not an autowarm checkpoint: it lacks config, model"):
        train(c, progress=False)
    torch.save(dict(good, step=99), ckpt)
    with pytest.raises(ValueError, match=r"'step' must be an integer in \[0, 2\]; got 99"):
        train(c, progress=False)
    ckpt.write_bytes(b"not a torch file")
    with pytest.raises(ValueError, match="is not a readable checkpoint"):
        train(c, progress=False)
    # A directory where the checkpoint goes: with and without --resume.
    ckpt.unlink()
    ckpt.mkdir()
    for resume in (True, False):
        with pytest.raises(ValueError, match=r"checkpoint.pt is a directory"):
            train(c.replace(resume=resume), progress=False)
    assert ckpt.is_dir()  # nothing was deleted


def test_optimizer_factory_must_return_an_optimizer(sample_dir, tmp_path):
    c = cfg(sample_dir, tmp_path, steps=1, schedule="constant")
    with pytest.raises(TypeError, match="optimizer_factory must be callable"):
        train(c, optimizer_factory="adamw", progress=False)
    with pytest.raises(TypeError, match=r"optimizer_factory must return a torch\.optim\.Optimizer"):
        train(c, optimizer_factory=lambda model, lr: None, progress=False)


class ModeProbe:
    """Records the Schedule-Free mode seen by each hook."""

    def __init__(self):
        self.seen = []

    def before_update(self, ctx):
        self.seen.append(("update", ctx.optimizer.param_groups[0]["train_mode"]))

    def on_eval(self, ctx, loss):
        self.seen.append(("eval", ctx.optimizer.param_groups[0]["train_mode"]))


def schedulefree_adamw(model, lr, **kw):
    import schedulefree

    return schedulefree.AdamWScheduleFree(model.parameters(), lr=lr, warmup_steps=2, **kw)


@pytest.mark.slow
def test_schedule_free_evaluates_averaged_weights_and_resumes_exactly(sample_dir, tmp_path):
    pytest.importorskip("schedulefree")
    kw = dict(optimizer="schedulefree-adamw", schedule="constant", steps=8, checkpoint_every=4,
              eval_every=2, lr=1e-2)  # fmt: skip
    probe = ModeProbe()
    whole = train(cfg(sample_dir, tmp_path, "whole", **kw), callbacks=[probe],
                  optimizer_factory=schedulefree_adamw, progress=False)  # fmt: skip
    # Every update runs in train mode, every evaluation on the averaged (eval-mode) weights.
    assert probe.seen[:3] == [("update", True), ("update", True), ("eval", False)]
    assert {m for k, m in probe.seen if k == "update"} == {True}
    assert {m for k, m in probe.seen if k == "eval"} == {False}
    c = cfg(sample_dir, tmp_path, "killed", **kw)
    with pytest.raises(Crash):
        train(c, callbacks=[CrashAt(6)], optimizer_factory=schedulefree_adamw, progress=False)
    saved = load_checkpoint(Path(c.out) / "checkpoint.pt")
    assert saved["step"] == 4 and saved["optimizer"]["param_groups"][0]["train_mode"] is False
    resumed = train(c, optimizer_factory=schedulefree_adamw, progress=False)
    assert train_rows(c.out) == train_rows(tmp_path / "whole")  # bit-for-bit
    assert same_results(resumed, whole)
    final = json.loads((Path(c.out) / "final.json").read_text())
    assert same_results(final, json.loads((tmp_path / "whole" / "final.json").read_text()))


@pytest.mark.slow
@pytest.mark.parametrize("name", ["schedulefree-adamw", "prodigy", "dadapt-adam", "radam"])
def test_each_baseline_resumes_exactly_from_a_mid_run_checkpoint(sample_dir, tmp_path, name):
    # The LR-free and warm-up-free baselines, built by the registry from their own packages,
    # killed after their update 6 and resumed from the checkpoint of update 4.
    from autowarm.optim import spec

    lr = 1.0 if spec(name).lr_free else 1e-2
    kw = dict(optimizer=name, schedule="cosine", steps=8, checkpoint_every=4, eval_every=4, lr=lr)
    whole = train(cfg(sample_dir, tmp_path, "whole", **kw), progress=False)
    c = cfg(sample_dir, tmp_path, "killed", **kw)
    with pytest.raises(Crash):
        train(c, callbacks=[CrashAt(6)], progress=False)
    assert load_checkpoint(Path(c.out) / "checkpoint.pt")["step"] == 4
    resumed = train(c, progress=False)
    assert train_rows(c.out) == train_rows(tmp_path / "whole")  # bit-for-bit
    assert same_results(resumed, whole)
