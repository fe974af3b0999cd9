"""The library home of ``autowarm plan``'s readers and plots: autowarm.theory.io / .plots."""

from __future__ import annotations

import json
import sys

import numpy as np
import pytest

from autowarm import MissingExtraError
from autowarm.schedules import from_spec, sample
from autowarm.theory import bound
from autowarm.theory.io import read_column, read_curve, read_jsonl
from autowarm.theory.plots import curve_steps, plot_bounds, plot_multipliers, plot_refine


def test_read_column_every_format(tmp_path):
    want = [3.0, 2.5, 1.0]
    np.save(tmp_path / "g.npy", np.array(want))
    (tmp_path / "g.json").write_text(json.dumps(want))
    (tmp_path / "g.txt").write_text("".join(f"{x}\n" for x in want))
    (tmp_path / "g.csv").write_text(
        "step,grad_norm\n" + "".join(f"{i},{x}\n" for i, x in enumerate(want))
    )
    rows = [{"step": i + 1, "grad_norm": x} for i, x in enumerate(want)] + [
        {"step": 9, "val_loss": 1}
    ]
    (tmp_path / "metrics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows) + "\n")
    for name in ("g.npy", "g.json", "g.txt", "g.csv", "metrics.jsonl"):
        assert read_column(str(tmp_path / name), "grad_norm").tolist() == want, name


@pytest.mark.parametrize(
    ("name", "text", "match"),
    [
        ("m.jsonl", '{"step": 1}\n{"step": 2, "grad_n', r"m.jsonl: line 2 is not JSON"),
        ("m.jsonl", "[1, 2]\n", r"line 1 is not a JSON object"),
        ("m.jsonl", '{"step": 1}\n', r"no 'grad_norm' values in"),
        ("g.csv", "step,grad_norm\n1,abc\n", r"g.csv: the 'grad_norm' column must be numbers"),
        ("g.txt", "x y\nz\n", r"no 'grad_norm' column and not one number a line"),
        ("g.json", "{not json", r"g.json: not JSON"),
    ],
)
def test_read_column_bad_files_are_one_line_value_errors(tmp_path, name, text, match):
    (tmp_path / name).write_text(text)
    with pytest.raises(ValueError, match=match) as info:
        read_column(str(tmp_path / name), "grad_norm")
    assert "\n" not in str(info.value)


def test_missing_files_are_file_not_found(tmp_path):
    for reader in (lambda p: read_column(p, "x"), read_curve, read_jsonl):
        with pytest.raises(FileNotFoundError, match=r"nope\.csv"):
            reader(str(tmp_path / "nope.csv"))


def test_read_curve_csv_and_metrics_jsonl_agree(tmp_path):
    lrs = sample(from_spec("cosine:warmup_steps=2", 6), 6) * 1e-3
    losses = {2: 3.0, 4: 2.5, 6: 2.0}
    csv_text = "step,lr,loss\n" + "".join(
        f"{k},{lrs[k - 1]},{losses.get(k, '')}\n" for k in range(1, 7)
    )
    (tmp_path / "run.csv").write_text(csv_text)
    rows = [{"step": k, "lr": [lrs[k - 1], 2 * lrs[k - 1]]} for k in range(1, 7)]
    rows += [{"step": k, "val_loss": v} for k, v in losses.items()]
    (tmp_path / "metrics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    a = read_curve(str(tmp_path / "run.csv"))
    b = read_curve(str(tmp_path / "metrics.jsonl"))
    for c in (a, b):
        assert c.lrs.tolist() == pytest.approx(lrs.tolist())
        assert c.steps.tolist() == [2, 4, 6] and c.losses.tolist() == [3.0, 2.5, 2.0]
    # train_loss is measured before update `step`, i.e. after step - 1 updates.
    rows = [{"step": k, "lr": lrs[k - 1], "train_loss": 5.0 - k} for k in range(1, 7)]
    (tmp_path / "t.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    t = read_curve(str(tmp_path / "t.jsonl"), "train_loss")
    assert t.steps.tolist() == [1, 2, 3, 4, 5] and t.losses.tolist() == [3.0, 2.0, 1.0, 0.0, -1.0]


def test_read_curve_bad_files(tmp_path):
    (tmp_path / "a.csv").write_text("step,lr\n1,0.1\n")
    with pytest.raises(ValueError, match="needs 'lr' and 'loss' columns"):
        read_curve(str(tmp_path / "a.csv"))
    (tmp_path / "b.csv").write_text("step,lr,loss\n1,0.1,2\n3,0.1,1\n")
    with pytest.raises(ValueError, match=r"the LR of every update 1..3 is needed"):
        read_curve(str(tmp_path / "b.csv"))
    (tmp_path / "c.csv").write_text("step,lr,loss\n1,fast,2\n")
    with pytest.raises(ValueError, match="row 1 has a value that is not a number"):
        read_curve(str(tmp_path / "c.csv"))


def test_curve_steps():
    assert curve_steps(3).tolist() == [1, 2, 3]
    s = curve_steps(10_000, points=300, start=50)
    assert s[0] == 50 and s[-1] == 10_000 and s.size == 300 and np.all(np.diff(s) > 0)


def test_plots_write_pngs(tmp_path):
    etas = sample(from_spec("wsd:warmup_steps=0,decay_frac=0.2", 200), 200)
    plot_multipliers({"wsd": etas}, str(tmp_path / "m.png"), marks={"cooldown": 160})
    plot_bounds({"wsd": (etas, 1e-3, bound(etas).gamma_star)}, str(tmp_path / "b.png"))
    plot_refine(np.linspace(2, 1, 50), etas, str(tmp_path / "r.png"))
    for name in ("m.png", "b.png", "r.png"):
        data = (tmp_path / name).read_bytes()
        assert data[:4] == b"\x89PNG" and len(data) > 1000


def test_plot_without_matplotlib_names_the_extra(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import raises ModuleNotFoundError
    with pytest.raises(MissingExtraError, match=r"pip install 'autowarm\[plot\]'"):
        plot_multipliers({"c": [1.0]}, str(tmp_path / "x.png"))
    assert not (tmp_path / "x.png").exists()
