"""Report rendering and result storage on a small synthetic result set."""

import json
import math

import pytest

from autowarm.bench.report import optimizer_table, report
from autowarm.bench.store import ResultStore, write_json_atomic


def _result(opt, arm, seed, loss, w=None, end=None, f=None):
    steps = list(range(20))
    return {
        "optimizer": opt,
        "arm": arm,
        "seed": seed,
        "warmup_steps": w,
        "target_loss": f,
        "final_val_loss": loss,
        "warmup_end_step": end,
        "steps": steps,
        "train_loss": [3.0 - 0.05 * s for s in steps],
        "lr_multiplier": [min(1.0, (s + 1) / 5) for s in steps],
    }


@pytest.fixture
def results():
    rs = []
    grid = {0: 2.00, 2: 1.90, 5: 1.80, 10: 1.85}
    for seed in range(3):
        noise = 0.01 * seed
        for w, loss in grid.items():
            rs.append(_result("adamw", "grid", seed, loss + noise, w=w))
        rs.append(_result("adamw", "adaptive", seed, 1.79 + noise, end=6 + seed))
        rs.append(_result("adamw", "adaptive-faithful", seed, 1.95 + noise, end=1))
    rs.append(_result("lion", "grid", 0, float("nan"), w=0))
    rs.append(_result("lion", "grid", 0, 2.5, w=5))
    rs.append(_result("lion", "adaptive", 0, 2.4, end=3))
    return rs


def test_table_best_median_and_paired_verdicts(results):
    t = optimizer_table([r for r in results if r["optimizer"] == "adamw"])
    # ranked 5, 10, 2, 0: the median point of an even grid is the better of the two middle ones
    assert t["best"] == 5 and t["median"] == 10
    assert t["grid_runs"] == 12
    ad = t["arms"]["adaptive"]
    assert ad["loss"].mean == pytest.approx(1.80)
    assert ad["vs_best"].mean == pytest.approx(-0.01)
    assert ad["vs_best"].verdict == "better"  # same offset on every seed: zero spread
    assert t["arms"]["adaptive-faithful"]["vs_best"].verdict == "worse"
    assert ad["warmup_end"].mean == pytest.approx(7.0)
    vs = t["default_vs"]["adaptive-faithful"]  # default minus faithful: -0.16 on every seed
    assert vs.mean == pytest.approx(-0.16) and vs.verdict == "better" and vs.n == 3
    assert set(t["default_vs"]) == {"adaptive-faithful"}


def test_diverged_grid_points_are_not_best(results):
    t = optimizer_table([r for r in results if r["optimizer"] == "lion"])
    assert t["best"] == 5
    assert t["grid"][0].n == 0 and math.isnan(t["grid"][0].mean)  # diverged: no finite loss


def test_report_writes_markdown_and_plots(tmp_path, results):
    store = ResultStore(tmp_path)
    for r in results:
        store.save(f"{r['optimizer']}__{r['arm']}-{r['warmup_steps']}__s{r['seed']}", r)
    store.write_meta({"preset": "synthetic", "steps": 20, "seeds": 3, "commands": ["test"]})
    path = report(tmp_path)
    text = path.read_text()
    assert "## adamw" in text and "## lion" in text
    assert "commands: `test`." in text
    assert "| 5 (best) | 1.8100 ± 0.0100 | 3 |" in text
    assert "better" in text and "worse" in text
    assert "minus each other adaptive arm, paired by seed: adaptive-faithful -0.1600" in text
    for png in ("final_loss_vs_warmup.png", "loss_curves.png", "lr_curves.png"):
        assert (tmp_path / png).stat().st_size > 1000
        assert f"]({png})" in text


def test_fstar_table(tmp_path):
    store = ResultStore(tmp_path)
    for f, loss in [(1.0, 2.2), (1.5, 1.9)]:
        store.save(f"adamw__fstar-{f}__s0", _result("adamw", "fstar", 0, loss, end=4, f=f))
    text = report(tmp_path, plots=False).read_text()
    assert "| adamw | adaptive-v1 | x1 | 1.5 | 1.9000 | 4 |" in text  # no mode stored: then's
    text = report(tmp_path).read_text()
    assert (tmp_path / "fstar_sweep.png").stat().st_size > 1000 and "](fstar_sweep.png)" in text


def test_fstar_runs_beside_a_grid_stay_out_of_its_table(tmp_path, results):
    store = ResultStore(tmp_path)
    for r in results:
        store.save(f"{r['optimizer']}__{r['arm']}-{r['warmup_steps']}__s{r['seed']}", r)
    for seed in range(3):
        r = _result("adamw", "fstar", seed, 2.5, end=4, f=1.2)
        store.save(f"adamw__fstar-1.2__s{seed}", r)
        store.save(f"lion__fstar-1.2__s{seed}", dict(r, optimizer="lion", final_val_loss=2.9))
    text = report(tmp_path, plots=False).read_text()
    adamw = text.split("## adamw")[1].split("## lion")[0]
    assert "fstar" not in adamw  # neither an arm row nor in the default-vs line
    assert "| adamw | adaptive-v1 | x1 | 1.2 | 2.5000 ± 0.0000 | 4, 4, 4 |" in text
    assert "| lion | adaptive-v1 | x1 | 1.2 | 2.9000 ± 0.0000 | 4, 4, 4 |" in text


def test_fstar_sweeps_of_other_modes_and_lrs_get_their_own_rows(tmp_path):
    """Two modes and two peak LRs at the same f* are four rows, never one pooled mean."""
    store = ResultStore(tmp_path)
    cases = [("adaptive-v1", 1.0, 2.0), ("adaptive-v1", 2.0, 2.4), ("adaptive", 1.0, 1.7),
             ("adaptive", 2.0, 1.8), ("adaptive-zero-spike", 1.0, 1.6)]  # fmt: skip
    for mode, factor, loss in cases:
        r = dict(_result("adamw", "fstar", 0, loss, end=9, f=0.5), lr_factor=factor)
        if mode != "adaptive-v1":  # results from before sweeps recorded a mode: then's default
            r["fstar_mode"] = mode
        store.save(f"adamw__fstar-0.5-{mode}-lrx{factor:g}__s0", r)
    text = report(tmp_path).read_text()
    for mode, factor, loss in cases:
        assert f"| adamw | {mode} | x{factor:g} | 0.5 | {loss:.4f} | 9 |" in text
    assert (tmp_path / "fstar_sweep.png").stat().st_size > 1000


def test_a_lone_grid_point_is_tabled_not_plotted(tmp_path):
    store = ResultStore(tmp_path)
    for seed in range(2):
        store.save(f"lionar__grid-w0__s{seed}", _result("lionar", "grid", seed, 1.9, w=0))
    text = report(tmp_path).read_text()
    assert "## lionar" in text and "| 0 (best) | 1.9000 ± 0.0000 | 2 |" in text
    assert not (tmp_path / "final_loss_vs_warmup.png").exists()
    assert "final_loss_vs_warmup" not in text and (tmp_path / "loss_curves.png").exists()


def test_empty_store_is_a_clear_error(tmp_path):
    with pytest.raises(ValueError, match="no results"):
        report(tmp_path)


def test_store_status_and_atomic_writes(tmp_path):
    store = ResultStore(tmp_path)
    assert store.status("a") == "todo"
    (tmp_path / "runs" / "a").mkdir(parents=True)
    (tmp_path / "runs" / "a" / "checkpoint.pt").write_bytes(b"x")
    assert store.status("a") == "partial"
    store.save("a", {"final_val_loss": 1.0})
    assert store.status("a") == "done"
    assert [r["run_id"] for r in store.load()] == ["a"]
    assert not list((tmp_path / "results").glob(".*tmp"))  # no temporary files left behind


def test_failed_write_leaves_no_file(tmp_path):
    with pytest.raises(TypeError):
        write_json_atomic(tmp_path / "x.json", {"bad": object()})
    assert list(tmp_path.iterdir()) == []


def test_corrupt_result_is_named(tmp_path):
    (tmp_path / "results").mkdir()
    (tmp_path / "results" / "bad.json").write_text("{")
    with pytest.raises(ValueError, match=r"bad\.json"):
        ResultStore(tmp_path).load()


def test_meta_round_trip(tmp_path):
    store = ResultStore(tmp_path)
    assert store.read_meta() == {}
    store.write_meta({"preset": "cpu"})
    assert json.loads((tmp_path / "bench.json").read_text()) == {"preset": "cpu"}


def test_adaptive_runs_that_never_reach_the_peak_say_how_high_they_went(tmp_path):
    # seed 0 hands over at 0.54 of the peak after a back-off at update 13; seed 1 reaches the peak
    # (0.996 rounds to 1.00: no note); seed 2's record has a NaN and no finite value above 0.5.
    rs = [_result("muon", "grid", s, 1.45, w=0) for s in range(3)]
    for seed, top in ((0, 0.54), (1, 0.996), (2, 0.5)):
        r = _result("muon", "adaptive", seed, 1.46, end=10)
        r["lr_multiplier"] = [0.01, top, float("nan"), top / 2] + [0.0] * 16
        if seed == 0:
            r["backoff_steps"] = [13]
        rs.append(r)
    t = optimizer_table(rs)
    assert t["arms"]["adaptive"]["max_multipliers"] == [0.54, 0.996, 0.5]
    store = ResultStore(tmp_path)
    for r in rs:
        store.save(f"{r['optimizer']}__{r['arm']}-{r['warmup_steps']}__s{r['seed']}", r)
    store.write_meta({"preset": "synthetic", "steps": 20, "seeds": 3, "commands": ["test"]})
    text = report(tmp_path).read_text()
    assert "| 10 (max x0.54; guard: 13), 10, 10 (max x0.50) |" in text
    assert "highest LR, if below the peak" in text


def test_a_result_without_a_multiplier_record_gets_no_note():
    r = _result("adamw", "adaptive", 0, 1.8, end=5)
    del r["lr_multiplier"]
    t = optimizer_table([_result("adamw", "grid", 0, 1.9, w=0), r])
    assert t["arms"]["adaptive"]["max_multipliers"] == [None]


def test_adaptive_auto_is_compared_with_the_best_swept_f_star_of_the_same_rules(tmp_path):
    """Target T3: auto minus the best swept f*, paired by seed; another mode's sweep is left out."""
    store = ResultStore(tmp_path)
    rules = "div_factor=100.0,smoothing=0.9,start_rate=0.1"
    auto = {0: 1.50, 1: 1.52, 2: 1.53}
    swept = {0.5: {0: 1.49, 1: 1.50, 2: 1.54}, 1.0: {0: 1.60, 1: 1.61, 2: 1.62}}
    for seed, loss in auto.items():
        r = dict(_result("adamw", "adaptive-auto", seed, loss, end=9))
        r["config"] = {"schedule": f"adaptive:{rules},target_loss=auto,fstar_rule=floor"}
        store.save(f"adamw__adaptive-auto__s{seed}", r)
    for f, losses in swept.items():
        for seed, loss in losses.items():
            r = dict(_result("adamw", "fstar", seed, loss, end=9, f=f), fstar_mode="adaptive")
            r["config"] = {"schedule": f"adaptive:{rules},target_loss={f}"}
            store.save(f"adamw__fstar-{f:g}__s{seed}", r)
            # the same f* with other rules (no hold): its own sweep, never compared with auto
            other = dict(r, fstar_mode="adaptive-v2", final_val_loss=loss - 0.3)
            other["config"] = {"schedule": f"adaptive:{rules[:-3]}0.0,target_loss={f}"}
            store.save(f"adamw__fstar-{f:g}-adaptive-v2__s{seed}", other)
    text = report(tmp_path).read_text()
    # best swept f* = 0.5 (mean 1.51); auto - it = +0.01, +0.02, -0.01 on seeds 0, 1, 2
    rows = [
        line
        for line in text.splitlines()
        if line.startswith("| adamw | adaptive") and "| 1.5167" in line
    ]
    assert rows == ["| adamw | adaptive | x1 | 1.5167 ± 0.0153 | 0.5 | +0.0067 ± 0.0379 (tie) |"]
    assert "the best swept f*, paired by seed" in text


def test_the_report_names_the_machines_and_warns_when_pairs_span_several(tmp_path, results):
    box = {"cpu": "Intel Xeon", "cpu_capability": "AVX512", "torch": "2.13.0"}
    store = ResultStore(tmp_path)
    for r in results:
        store.save(f"{r['optimizer']}__{r['arm']}-{r['warmup_steps']}__s{r['seed']}",
                   {**r, "machine": box})  # fmt: skip
    text = report(tmp_path, plots=False).read_text()
    assert f"Runs computed on Intel Xeon, AVX512, torch 2.13.0 ({len(results)} runs)." in text
    assert "two draws" not in text
    # one run from another box, one stored before results named their machine
    other = {**results[0], "machine": {**box, "cpu": "AMD EPYC", "cpu_capability": "AVX2"}}
    store.save("adamw__grid-0__s0", other)
    store.save("adamw__grid-2__s0", {k: v for k, v in results[1].items() if k != "machine"})
    text = report(tmp_path, plots=False).read_text()
    assert "Runs computed on 3 machines: Intel Xeon, AVX512, torch 2.13.0 (" in text
    assert "AMD EPYC, AVX2, torch 2.13.0 (1 run)" in text and "not recorded (1 run)" in text
    assert "a pair from two machines is two draws, not one change" in text
