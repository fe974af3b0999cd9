import dataclasses
import json

import pytest

from autowarm.bench.presets import PRESETS, preset
from autowarm.bench.sweep import ADAPTIVE_MODES, DEFAULT_MODES, adaptive_schedule, plan
from autowarm.schedules import from_spec


def test_cpu_plan_is_optimizers_x_arms_x_seeds(tmp_path):
    bench = preset("cpu")
    specs = plan(bench, tmp_path)
    arms = len(bench.grid_steps()) + len(DEFAULT_MODES)
    assert {s.optimizer for s in specs} == {"muon", "lion", "normsgd", "adamw"}
    assert len(specs) == 4 * arms * bench.seeds
    assert {s.optimizer for s in plan(bench, tmp_path, optimizers=["lionar"])} == {"lionar"}
    assert len({s.run_id for s in specs}) == len(specs)
    assert {s.config.out for s in specs} == {str(tmp_path / "runs" / s.run_id) for s in specs}


def test_arms_of_one_optimizer_differ_only_in_schedule(tmp_path):
    specs = [s for s in plan(preset("cpu"), tmp_path) if s.optimizer == "lion" and s.seed == 1]
    dicts = [s.config.to_dict() for s in specs]
    for d in dicts:
        for key in ("schedule", "target_loss", "out"):
            d.pop(key)
    assert all(d == dicts[0] for d in dicts)
    assert all(s.config.seed == 1 for s in specs)


def test_grid_schedules_are_onecycle_style(tmp_path):
    bench = preset("cpu")
    grid = [s for s in plan(bench, tmp_path, optimizers=["adamw"], seeds=1) if s.arm == "grid"]
    setup = bench.optimizers["adamw"]
    for s in grid:
        f = from_spec(s.config.schedule, s.config.steps)
        assert f(0) == pytest.approx(1 / setup.div_factor) or s.warmup_steps == 0
        assert f(s.config.steps - 1) == pytest.approx(
            1 / (setup.div_factor * bench.final_div_factor)
        )
        if s.warmup_steps:
            assert f(s.warmup_steps - 1) == pytest.approx(1.0)


def test_quick_subset_and_overrides(tmp_path):
    bench = preset("cpu")
    specs = plan(bench, tmp_path, quick=True, steps=100)
    assert {s.optimizer for s in specs} == set(bench.quick_optimizers)
    assert {s.config.steps for s in specs} == {100}
    assert {s.warmup_steps for s in specs if s.arm == "grid"} == set(
        bench.grid_steps(100, bench.quick_fracs)
    )
    assert {s.config.steps for s in plan(bench, tmp_path, quick=True)} == {bench.quick_steps}
    # the quick subset runs the preset's quick adaptive arms unless the modes are named
    assert bench.quick_modes
    assert {s.arm for s in specs if s.arm != "grid"} == set(bench.quick_modes)
    named = plan(bench, tmp_path, quick=True, adaptive_modes=["adaptive-faithful"])
    assert {s.arm for s in named if s.arm != "grid"} == {"adaptive-faithful"}
    assert {s.arm for s in plan(bench, tmp_path, quick=True, adaptive=False)} == {"grid"}
    full = plan(bench, tmp_path, optimizers=["adamw"], seeds=1)
    assert {s.arm for s in full if s.arm != "grid"} == set(DEFAULT_MODES)


def test_fstar_sweep(tmp_path):
    bench = preset("cpu")
    specs = plan(bench, tmp_path, optimizers=["muon"], fstar_sweep=True, seeds=2)
    assert {s.arm for s in specs} == {"fstar"}
    base = bench.optimizers["muon"].target_loss
    assert sorted({s.target_loss for s in specs}) == sorted(
        round(base + o, 6) for o in bench.fstar_offsets
    )
    with pytest.raises(ValueError, match="one optimizer"):
        plan(bench, tmp_path, optimizers=["muon", "lion"], fstar_sweep=True)
    specs = plan(bench, tmp_path, optimizers=["lion"], fstar_sweep=True, fstar_offsets=[0.5])
    assert [(s.run_id, s.target_loss) for s in specs] == [
        (f"lion__fstar-1.95__s{k}", 1.95) for k in range(bench.seeds)
    ]
    assert specs[0].config.target_loss == 1.95
    specs = plan(bench, tmp_path, optimizers=["lion"], fstar_sweep=True, seeds=1,
                 fstar_offsets=[0.5, 0.5000000001, 1])  # fmt: skip
    assert [s.target_loss for s in specs] == [1.95, 2.45]  # duplicates dropped
    for bad in ([True], ["1"], []):
        with pytest.raises(ValueError, match="fstar_offsets must be finite numbers"):
            plan(bench, tmp_path, optimizers=["lion"], fstar_sweep=True, fstar_offsets=bad)
    with pytest.raises(ValueError, match="needs fstar_sweep"):
        plan(bench, tmp_path, optimizers=["lion"], fstar_offsets=[0.5])
    with pytest.raises(ValueError, match=r"finite numbers, at least one; got \[nan\]"):
        plan(bench, tmp_path, optimizers=["lion"], fstar_sweep=True, fstar_offsets=[float("nan")])


def test_fstar_sweep_of_another_mode(tmp_path):
    """--fstar-sweep --adaptive-modes M: M's schedule with its own f* replaced by each value."""
    from autowarm.adaptive import AdaptiveConfig

    bench = preset("cpu")
    mode = "adaptive-zero-spike"
    specs = plan(bench, tmp_path, optimizers=["adamw"], fstar_sweep=True, seeds=1,
                 fstar_offsets=[-0.35, 0], adaptive_modes=[mode])  # fmt: skip
    assert [s.run_id for s in specs] == [
        f"adamw__fstar-1-{mode}__s0",
        f"adamw__fstar-1.35-{mode}__s0",
    ]
    for s in specs:
        assert "target_loss" not in s.config.schedule  # the swept f* is the run's, not the mode's
        cfg = AdaptiveConfig.from_spec(
            s.config.schedule, total_steps=600, target_loss=s.config.target_loss
        )
        mode_cfg = AdaptiveConfig.from_spec(
            adaptive_schedule(mode, bench.optimizers["adamw"]), total_steps=600
        )
        assert cfg.target_loss == s.target_loss and mode_cfg.target_loss == 0.0
        assert dataclasses.replace(cfg, target_loss=0.0) == mode_cfg  # nothing else differs
    # The default mode's sweep keeps the run ids (and so the stored results) it always had.
    default = plan(bench, tmp_path, optimizers=["adamw"], fstar_sweep=True, seeds=1,
                   fstar_offsets=[0], adaptive_modes=["adaptive"])  # fmt: skip
    assert [s.run_id for s in default] == ["adamw__fstar-1.35__s0"]
    assert default[0].config == plan(bench, tmp_path, optimizers=["adamw"], fstar_sweep=True,
                                     seeds=1, fstar_offsets=[0])[0].config  # fmt: skip
    for modes, match in ([["adaptive", "adaptive-auto"], "runs one adaptive mode"],
                         [["nope"], "runs one adaptive mode.*valid: adaptive-faithful"],
                         [["adaptive-progress"], "closed-loop ramp, which uses no f"]):  # fmt: skip
        with pytest.raises(ValueError, match=match):
            plan(bench, tmp_path, optimizers=["adamw"], fstar_sweep=True, adaptive_modes=modes)


def test_bad_input(tmp_path):
    with pytest.raises(ValueError, match="unknown benchmark preset 'nope'"):
        preset("nope")
    with pytest.raises(ValueError, match="sgd"):
        plan(preset("cpu"), tmp_path, optimizers=["sgd"])


def test_every_preset_plans(tmp_path):
    for name, bench in PRESETS.items():
        specs = plan(bench, tmp_path / name, seeds=1)
        assert specs, name


def test_explicit_grid_and_grid_only(tmp_path):
    bench = preset("cpu")
    specs = plan(bench, tmp_path, optimizers=["lionar"], warmup_steps=[0], adaptive=False)
    assert [(s.arm, s.warmup_steps) for s in specs] == [("grid", 0)] * bench.seeds
    specs = plan(bench, tmp_path, optimizers=["adamw"], warmup_steps=[], seeds=1)
    assert {s.arm for s in specs} == {"adaptive-auto", "adaptive-faithful"}
    with pytest.raises(ValueError, match=r"warmup_steps must be integers in \[0, 600\)"):
        plan(bench, tmp_path, warmup_steps=[600])
    with pytest.raises(ValueError, match="nothing to run"):
        plan(bench, tmp_path, warmup_steps=[], adaptive=False)


def test_adaptive_modes_select_arms_and_spell_out_their_schedule(tmp_path):
    bench = preset("cpu")
    specs = plan(bench, tmp_path, optimizers=["lion"], warmup_steps=[], seeds=1,
                 adaptive_modes=["adaptive-paper-ramp", "adaptive"])  # fmt: skip
    assert [s.arm for s in specs] == ["adaptive-paper-ramp", "adaptive"]
    for s in specs:  # every mode names smoothing and ramp: a stored result is unambiguous
        assert "ramp=" in s.config.schedule and "smoothing=" in s.config.schedule
    assert "ramp=linear" in specs[1].config.schedule
    assert set(DEFAULT_MODES) <= set(ADAPTIVE_MODES)
    with pytest.raises(
        ValueError, match=r"unknown adaptive mode.*'fast'.*valid: adaptive-faithful"
    ):
        plan(bench, tmp_path, adaptive_modes=["fast"])
    twice = plan(bench, tmp_path, optimizers=["lion"], warmup_steps=[], seeds=1,
                 adaptive_modes=["adaptive", "adaptive"])  # fmt: skip
    assert [s.run_id for s in twice] == ["lion__adaptive__s0"]  # one run per run id
    with pytest.raises(ValueError, match="adaptive_modes is empty"):
        plan(bench, tmp_path, adaptive_modes=[])
    with pytest.raises(ValueError, match="does not go with"):
        plan(bench, tmp_path, adaptive=False, adaptive_modes=["adaptive"])


def test_the_default_arm_is_the_library_default():
    from autowarm.schedules import AdaptiveWarmupSchedule

    for mode, fstar in (("adaptive", 0.0), ("adaptive-auto", "auto")):
        defaults = AdaptiveWarmupSchedule(total_steps=1, target_loss=fstar, delta_star=1.0)
        for key, value in ADAPTIVE_MODES[mode].items():
            # outlier_filter / guard / start_rate = None mean "on when the loss is smoothed (and
            # the ramp linear)": compare what they do
            done = {
                "outlier_filter": defaults.filters_outliers,
                "guard": defaults.guards,
                "start_rate": defaults.hold_rate,
            }
            assert done.get(key, getattr(defaults, key)) == value, (mode, key)


def test_calibrated_arm_uses_the_probe_constants(tmp_path):
    probe = {
        "optimizer": "adamw",
        "target_loss": 1.35,
        "K0": 40.0, "K1": -5.0, "K2": 10.0, "rho": 2.0,
        "fit_descent": {"K0": 40.0, "K1": -5.0, "K2": 10.0, "rho": 2.0, "spearman": 0.9},
    }  # fmt: skip
    path = tmp_path / "probe.json"
    path.write_text(json.dumps(probe))
    bench = preset("cpu")
    specs = plan(bench, tmp_path, optimizers=["adamw"], seeds=1, calibrations={"adamw": path})
    (cal,) = [s for s in specs if s.arm == "adaptive-calibrated"]
    assert cal.config.schedule == "adaptive:k_constants=40/-5/10,target_loss=1.35,div_factor=100.0"
    assert cal.target_loss == 1.35
