"""The result store refuses stored runs of another config and sets corrupt results aside."""

import json

import pytest

from autowarm.bench import plan, preset
from autowarm.bench.store import ResultStore, config_differences, read_result


def _specs(out, **kw):
    return plan(preset("tiny"), out, optimizers=["adamw"], warmup_steps=[0], adaptive=False, **kw)


def _save(store, spec, **changes):
    cfg = {**spec.config.to_dict(), **changes}
    store.save(spec.run_id, {"optimizer": "adamw", "arm": "grid", "seed": 0,
                             "final_val_loss": 1.0, "config": cfg})  # fmt: skip


def test_config_differences_value_table():
    new = {"steps": 60, "lr": 3e-3, "out": "b", "threads": 2, "data": {"source": "x.txt"}}
    assert config_differences({"steps": 60, "out": "a", "threads": 1}, new) == [
        ("data.source", "default", "x.txt")
    ]  # missing old fields count as their defaults; out and threads are never compared
    assert config_differences({"steps": 60.0, "lr": 0.003}, {"steps": 60, "lr": 3e-3}) == []
    assert config_differences({"grad_clip": None}, {"grad_clip": 1.0}) == [("grad_clip", None, 1.0)]
    assert config_differences({"lr": 1.0, "steps": 5}, {"lr": 2.0, "steps": 6}, ("steps",)) == [
        ("steps", 5, 6)
    ]


def test_same_run_id_with_other_config_is_refused(tmp_path):
    (spec,) = _specs(tmp_path)
    store = ResultStore(tmp_path)
    _save(store, spec)
    store.check([spec])  # the same config: accepted
    _save(store, spec, lr=1e-2)
    with pytest.raises(ValueError, match=r"adamw__grid-w0__s0 .* lr=0.01; .* lr=0.003: .*delete"):
        store.check([spec])


def test_partial_run_with_other_config_is_refused(tmp_path):
    (spec,) = _specs(tmp_path)
    run_dir = tmp_path / "runs" / spec.run_id
    run_dir.mkdir(parents=True)
    (run_dir / "checkpoint.pt").write_bytes(b"x")
    (run_dir / "config.json").write_text(
        json.dumps({"config": {**spec.config.to_dict(), "steps": 99}})
    )
    with pytest.raises(ValueError, match=r"steps=99; this command asks for steps=12"):
        ResultStore(tmp_path).check([spec])


def test_other_workload_in_the_same_directory_is_refused(tmp_path):
    (spec,) = _specs(tmp_path)
    store = ResultStore(tmp_path)
    _save(store, spec)
    (other,) = _specs(tmp_path, steps=6)
    other = type(other)("lion", "grid", 0, 0, None, other.config.replace(optimizer="lion"))
    with pytest.raises(ValueError, match=r"holds runs with steps=12 .*steps=6: use another --out"):
        store.check([other])


def test_corrupt_results_are_named_and_set_aside(tmp_path):
    store = ResultStore(tmp_path)
    (tmp_path / "results").mkdir()
    for name, text, status in [("a", "[1]", "corrupt"), ("b", "{", "corrupt"), ("c", "{}", "done")]:
        (tmp_path / "results" / f"{name}.json").write_text(text)
        assert store.status(name) == status
    with pytest.raises(ValueError, match=r"a\.json: a JSON list, not an object; delete it"):
        read_result(tmp_path / "results" / "a.json")
    with pytest.raises(ValueError, match=r"c\.json: no 'arm' field"):
        read_result(tmp_path / "results" / "c.json", require=("arm",))
    assert store.set_aside("a").name == "a.json.bad"
    (tmp_path / "results" / "a.json").write_text("[2]")
    assert store.set_aside("a").name == "a.json.bad-2"
    assert store.status("a") == "todo"
    assert {p.name for p in (tmp_path / "results").iterdir()} >= {"a.json.bad", "a.json.bad-2"}


def test_finished_run_needs_the_marker_and_the_same_config(tmp_path):
    from autowarm.bench.store import finished_run, write_json_atomic

    cfg = _specs(tmp_path)[0].config
    run = tmp_path / "run"
    assert not finished_run(run, cfg)  # no directory
    write_json_atomic(run / "config.json", {"config": cfg.to_dict()})
    assert not finished_run(run, cfg)  # no final.json: killed before the end
    (run / "final.json").write_text("{not json")
    assert not finished_run(run, cfg)  # a torn marker
    write_json_atomic(run / "final.json", {"final_val_loss": 1.0})
    assert finished_run(run, cfg)
    assert finished_run(run, cfg.replace(out="elsewhere", threads=2))  # execution fields
    assert not finished_run(run, cfg.replace(lr=cfg.lr * 2))
    assert not finished_run(run, cfg, marker="response.json")
    write_json_atomic(run / "config.json", {"config": None})
    assert not finished_run(run, cfg)  # a config.json without a config object
