"""The LR axis: run ids and configs per peak LR, LR sensitivity, and the report over LRs."""

import math

import pytest

from autowarm.bench import plan, preset
from autowarm.bench.report import lr_table, report
from autowarm.bench.stats import lr_sensitivity
from autowarm.bench.store import ResultStore

L0 = math.log(256)


def test_lr_sensitivity_value_table():
    assert lr_sensitivity({1: 2.0}, L0) == 0.0  # one LR: nothing to lose
    assert lr_sensitivity({1: 2.0, 2: 1.0}, 5.0) == pytest.approx(0.5)
    # seeds are averaged first; a diverged seed counts at L0, as does a loss above L0
    assert lr_sensitivity({1: [1.0, float("nan")], 2: [1.0, 1.0]}, 5.0) == pytest.approx(1.0)
    assert lr_sensitivity({1: 9.0, 2: 1.0}, 5.0) == pytest.approx(2.0)
    assert lr_sensitivity({1: float("inf"), 2: float("nan")}, 5.0) == 0.0  # all diverged alike


@pytest.mark.parametrize(
    ("losses", "l0", "err", "match"),
    [({}, 5.0, ValueError, "empty"), ({1: []}, 5.0, ValueError, "no losses at LR 1"),
     ({1: 1.0}, float("nan"), ValueError, "initial_loss must be finite"),
     ({1: 1.0}, "5", TypeError, "initial_loss must be a number")],
)  # fmt: skip
def test_lr_sensitivity_bad_input(losses, l0, err, match):
    with pytest.raises(err, match=match):
        lr_sensitivity(losses, l0)


def test_lr_factors_scale_the_lr_and_name_the_run(tmp_path):
    bench = preset("cpu")
    specs = plan(bench, tmp_path, optimizers=["adamw"], seeds=1, lr_factors=[1, 2, 0.5])
    base = plan(bench, tmp_path, optimizers=["adamw"], seeds=1)
    at1 = [s for s in specs if s.lr_factor == 1.0]
    assert [s.run_id for s in at1] == [s.run_id for s in base]  # factor 1: today's run ids
    assert [s.config for s in at1] == [s.config for s in base]
    x2 = [s for s in specs if s.lr_factor == 2.0]
    assert {s.config.lr for s in x2} == {2 * bench.optimizers["adamw"].lr}
    assert "adamw__grid-w30-lrx2__s0" in {s.run_id for s in x2}
    assert "adamw__adaptive-auto-lrx0.5__s0" in {s.run_id for s in specs}
    assert len({s.run_id for s in specs}) == len(specs) == 3 * len(base)
    for bad in ([], [0], [-1.0], [float("inf")], [True]):
        with pytest.raises(ValueError, match="lr_factors must be finite numbers > 0"):
            plan(bench, tmp_path, lr_factors=bad)


def _r(arm, seed, factor, loss, w=None):
    return {
        "optimizer": "adamw", "arm": arm, "seed": seed, "warmup_steps": w, "target_loss": 1.3,
        "lr_factor": factor, "vocab_size": 256, "config": {"lr": 1e-3 * factor},
        "final_val_loss": loss, "warmup_end_step": 4 if arm != "grid" else None,
        "steps": [0, 1], "train_loss": [5.0, 4.0], "lr_multiplier": [0.1, 1.0],
    }  # fmt: skip


@pytest.fixture
def lr_results():
    # grid w=0 is best at x1 and diverges at x4; w=5 is best at x2 (the best cell);
    # adaptive is best at x2, 0.01 below the best grid cell on every seed.
    table = {
        (0, 1): 2.0, (0, 2): 2.5, (0, 4): float("nan"),
        (5, 1): 2.1, (5, 2): 1.8, (5, 4): 2.2,
        ("adaptive", 1): 2.05, ("adaptive", 2): 1.79, ("adaptive", 4): 2.0,
    }  # fmt: skip
    rs = []
    for seed in range(3):
        for (arm, factor), loss in table.items():
            loss = loss + 0.01 * seed
            if arm == "adaptive":
                rs.append(_r("adaptive", seed, factor, loss))
            else:
                rs.append(_r("grid", seed, factor, loss, w=arm))
    return rs


def test_lr_table_tuned_over_lr_and_sensitivity(lr_results):
    lt = lr_table(lr_results)
    assert lt["lrs"] == {1.0: 1e-3, 2.0: 2e-3, 4.0: 4e-3}
    bg = lt["best_grid"]
    assert (bg["arm"], bg["factor"], bg["runs"]) == ("grid w=5", 2.0, 18)
    ad = lt["tuned"]["adaptive"]
    assert ad["factor"] == 2.0 and ad["runs"] == 9
    assert ad["vs_best_grid"].mean == pytest.approx(-0.01) and ad["vs_best_grid"].n == 3
    # sensitivities (seed means are 0.01 above the table): w=0 is (0, 0.5, L0 - 2.01) / 3
    # with L0 = ln 256, at which the diverged x4 runs count
    s = lt["sensitivity"]
    assert s["grid w=0"] == pytest.approx((0.5 + (L0 - 2.01)) / 3)
    assert s["grid w=5"] == pytest.approx((0.3 + 0.4) / 3)
    assert s["adaptive"] == pytest.approx((0.26 + 0.21) / 3)


def test_report_over_lrs(tmp_path, lr_results):
    store = ResultStore(tmp_path)
    for r in lr_results:
        store.save(f"{r['arm']}-{r['warmup_steps']}-{r['lr_factor']}-{r['seed']}", r)
    text = report(tmp_path, plots=False).read_text()
    for lr in ("0.001 (x1)", "0.002 (x2)", "0.004 (x4)"):
        assert f"## adamw at peak LR {lr}" in text  # the per-LR tables
    section = text.split("## adamw over peak learning rates")[1]
    assert "| grid best (w=5) | 0.002 (x2) | 1.8100 ± 0.0100 | – | 18 |" in section
    assert "| adaptive | 0.002 (x2) | 1.8000 ± 0.0100 | -0.0100 ± 0.0000 (better) | 9 |" in section
    assert "| grid w=0 | 2.0100 ± 0.0100 | 2.5100 ± 0.0100 | diverged |" in section
    assert f"ln(vocabulary size) = {L0:.4f}" in section
    rows = [ln for ln in section.splitlines() if ln.startswith("| ") and ln.endswith("| 3 |")]
    assert [r.split(" | ")[0] for r in rows] == ["| adaptive", "| grid w=5", "| grid w=0"]
    report(tmp_path)
    assert (tmp_path / "final_loss_vs_lr.png").stat().st_size > 1000
    assert "](final_loss_vs_lr.png)" in (tmp_path / "report.md").read_text()


def test_stored_results_of_one_lr_render_as_before(tmp_path, lr_results):
    store = ResultStore(tmp_path)
    for r in lr_results:
        if r["lr_factor"] == 1:
            r = {k: v for k, v in r.items() if k not in ("lr_factor", "vocab_size")}
            store.save(f"{r['arm']}-{r['warmup_steps']}-{r['seed']}", r)
    text = report(tmp_path, plots=False).read_text()
    assert "## adamw\n" in text and "over peak learning rates" not in text


def test_div_factors_replace_the_warmup_start_of_one_optimizer(tmp_path):
    from autowarm.adaptive import AdaptiveConfig
    from autowarm.schedules.registry import from_spec

    bench = preset("cpu")
    base = plan(bench, tmp_path, optimizers=["adamw", "lion"], seeds=1)
    specs = plan(bench, tmp_path, optimizers=["adamw", "lion"], seeds=1, div_factors={"lion": 10})
    assert [s.run_id for s in specs] == [s.run_id for s in base]
    for new, old in zip(specs, base):
        if new.optimizer == "adamw":
            assert new.config == old.config  # the other optimizer is untouched
            continue
        assert "div_factor=10.0" in new.config.schedule and new.config.lr == old.config.lr
        assert new.config.schedule != old.config.schedule
        if new.arm == "grid":  # the fixed warm-up starts at lr / 10
            start = from_spec(new.config.schedule, 600)(0)
            assert start == pytest.approx(0.1 if new.warmup_steps else 1.0, rel=1e-4)
        else:
            cfg = AdaptiveConfig.from_spec(new.config.schedule, total_steps=600, target_loss=1.0)
            assert cfg.div_factor == 10.0
    # one number: every optimizer run
    every = plan(bench, tmp_path, optimizers=["adamw", "lion"], seeds=1, div_factors=30)
    assert all("div_factor=30.0" in s.config.schedule for s in every)


@pytest.mark.parametrize(
    ("divs", "match"),
    [({"muon": 3}, "div_factor given for 'muon', which this benchmark does not run"),
     ({"lion": 0.5}, r"div_factor of lion must be a finite number >= 1 .*got 0.5"),
     ({"lion": float("inf")}, "div_factor of lion must be a finite number >= 1"),
     ({"lion": True}, "div_factor of lion must be a finite number >= 1"),
     ("3", "div_factor of adamw must be a finite number >= 1")],
)  # fmt: skip
def test_div_factors_bad_input(tmp_path, divs, match):
    with pytest.raises(ValueError, match=match):
        plan(preset("cpu"), tmp_path, optimizers=["adamw", "lion"], div_factors=divs)
