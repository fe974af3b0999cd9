"""`autowarm plan transfer | extend | refine | predict` end to end (in process and as a module)."""

import json
import subprocess
import sys

import numpy as np
import pytest

from autowarm.cli import main
from autowarm.schedules import from_spec, sample
from autowarm.theory import bound, extend_wsd, predict_loss, refine

MPL = dict(L0=2.375, A=0.654, alpha=0.429, B=523.0, C=2.03, beta=0.594, gamma=0.635)


def run_json(capsys, argv):
    assert main(argv) == 0
    return json.loads(capsys.readouterr().out)


def is_png(path):
    return path.stat().st_size > 1000 and path.read_bytes()[:4] == b"\x89PNG"


def test_transfer_documented_example(capsys):
    argv = ["plan", "transfer", "--from", "wsd:cooldown_frac=0.2", "--to", "linear"]
    argv += ["--lr", "1e-3", "--steps", "50000"]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "linear" in out and "0.5427" in out  # wsd's default cooldown is 1-sqrt
    got = run_json(capsys, [*argv, "--json"])
    T = 50_000
    a = bound(sample(from_spec("wsd:warmup_steps=0,cooldown_frac=0.2", T), T))
    b = bound(sample(from_spec("linear", T), T))
    (row,) = got["to"]
    assert row["factor"] == pytest.approx(b.gamma_star / a.gamma_star, rel=1e-12)
    assert row["lr"] == pytest.approx(1e-3 * row["factor"])


def test_transfer_linear_cooldown_several_targets_and_plot(tmp_path, capsys):
    png = tmp_path / "t.png"
    argv = ["plan", "transfer", "--from", "wsd:cooldown_frac=0.2,cooldown=linear"]
    argv += ["--to", "linear", "--to", "cosine", "--lr", "1e-3", "--steps", "20000"]
    got = run_json(capsys, [*argv, "--json", "--plot", str(png)])
    assert got["from"]["gamma_star_sqrt_T"] == pytest.approx(0.514, abs=0.002)
    factors = {r["schedule"]: r["factor"] for r in got["to"]}
    assert factors["linear"] == pytest.approx(1.95, abs=0.01)
    assert factors["cosine"] == pytest.approx(1.89, abs=0.01)
    assert is_png(png)


def test_transfer_across_horizons(capsys):
    argv = ["plan", "transfer", "--from", "linear", "--to", "linear", "--lr", "2e-3"]
    got = run_json(capsys, [*argv, "--steps", "10000", "--to-steps", "40000", "--json"])
    assert got["to"][0]["lr"] == pytest.approx(1e-3, rel=1e-3)


def test_extend(tmp_path, capsys):
    png, csv = tmp_path / "e.png", tmp_path / "e.csv"
    argv = ["plan", "extend", "--lr", "1e-3", "--steps", "4000", "--to-steps", "8000"]
    assert main([*argv, "--plot", str(png), "--out", str(csv)]) == 0
    text = capsys.readouterr().out
    assert "rho = 0.53" in text and "linear cooldown" in text and is_png(png)
    got = run_json(capsys, [*argv, "--json"])
    ref = extend_wsd(1e-3, 4000, 8000, 0.2)
    assert got["rho"] == pytest.approx(ref.rho) and got["hold_steps"] == 3200
    table = np.loadtxt(csv, delimiter=",", skiprows=1)
    np.testing.assert_allclose(table[:, 1], ref.multipliers, atol=1e-8)


def test_refine(tmp_path, capsys):
    g = 1.0 + 4.0 * np.exp(-np.arange(3000) / 300)
    f = tmp_path / "norms.txt"
    np.savetxt(f, g)
    png, out = tmp_path / "r.png", tmp_path / "r.csv"
    argv = ["plan", "refine", "--grad-norms", str(f)]
    assert main([*argv, "--plot", str(png), "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "implied warm-up" in text and is_png(png)
    got = run_json(capsys, [*argv, "--steps", "1000", "--json"])
    np.testing.assert_allclose(got["multipliers"], refine(g, 1000))
    assert 0 < got["peak_step"] < 500
    csv_col = tmp_path / "m.csv"
    csv_col.write_text("step,grad_norm\n" + "".join(f"{k},2.0\n" for k in range(100)))
    got = run_json(capsys, ["plan", "refine", "--grad-norms", str(csv_col), "--json"])
    np.testing.assert_allclose(got["multipliers"], np.linspace(1, 0, 100), atol=1e-12)


def write_curve(path, spec, T=2000, peak=3e-4, every=40):
    lrs = peak * sample(from_spec(spec, T), T)
    loss = predict_loss("mpl", MPL, lrs)
    cell = [repr(float(x)) if (k + 1) % every == 0 else "" for k, x in enumerate(loss)]
    rows = [f"{k + 1},{float(lrs[k])!r},{cell[k]}" for k in range(T)]
    path.write_text("step,lr,loss\n" + "\n".join(rows) + "\n")
    return path


def test_predict_recovers_the_generating_law(tmp_path, capsys):
    a = write_curve(tmp_path / "const.csv", "constant:warmup_steps=100")
    b = write_curve(tmp_path / "cos.csv", "cosine:warmup_steps=100")
    target = write_curve(tmp_path / "wsd.csv", "wsd:warmup_steps=100,cooldown_frac=0.2")
    png = tmp_path / "p.png"
    argv = ["plan", "predict", "--fit", str(a), str(b), "--target", str(target)]
    got = run_json(capsys, [*argv, "--json", "--plot", str(png)])
    assert got["law"] == "multi-power" and got["fit_points"] == 100
    assert got["params"]["alpha"] == pytest.approx(MPL["alpha"], rel=1e-3)
    assert got["prediction_error"]["max_abs_error"] < 1e-5 and is_png(png)
    # the same target given as a spec
    argv = ["plan", "predict", "--law", "annealing", "--fit", str(a), str(b)]
    argv += ["--schedule", "wsd:cooldown_frac=0.2", "--warmup-steps", "100"]
    assert main([*argv, "--lr", "3e-4", "--steps", "2000"]) == 0
    text = capsys.readouterr().out
    assert "annealing law fitted to 2 run(s), 100 losses" in text and "after 2000 steps" in text


def test_predict_reads_metrics_jsonl(tmp_path, capsys):
    T, lrs = 600, 3e-4 * sample(from_spec("cosine:warmup_steps=30", 600), 600)
    loss = predict_loss("annealing", dict(L0=3.0, A=0.5, alpha=0.5, C=2.0), lrs)
    rows = [{"step": k + 1, "lr": [lrs[k], lrs[k]], "train_loss": 9.0} for k in range(T)]
    rows += [{"step": s, "val_loss": loss[s - 1]} for s in range(20, T + 1, 20)]
    f = tmp_path / "metrics.jsonl"
    f.write_text("\n".join(json.dumps(r) for r in rows))
    argv = ["plan", "predict", "--law", "tissue", "--fit", str(f), "--target", str(f), "--json"]
    got = run_json(capsys, argv)
    assert got["params"]["C"] == pytest.approx(2.0, rel=1e-6)
    assert got["prediction_error"]["rmse"] < 1e-9


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (
            ["transfer", "--from", "nope", "--to", "linear", "--lr", "1", "--steps", "9"],
            "unknown schedule",
        ),
        (
            ["transfer", "--from", "linear", "--to", "linear", "--lr", "0", "--steps", "9"],
            "lr must be",
        ),
        (["extend", "--lr", "1e-3", "--steps", "100", "--to-steps", "50"], "new_total_steps"),
        (["refine", "--grad-norms", "/nonexistent/norms.txt"], "file not found"),
        (["predict", "--fit", "/nonexistent.csv"], "file not found"),
    ],
)
def test_errors(argv, message, capsys):
    assert main(["plan", *argv]) == 2
    assert message in capsys.readouterr().err


def test_bad_curve_files(tmp_path, capsys):
    f = tmp_path / "c.csv"
    f.write_text("step,loss\n1,3.0\n")
    assert main(["plan", "predict", "--fit", str(f), "--schedule", "linear"]) == 2
    assert "'lr' and 'loss'" in capsys.readouterr().err
    f.write_text("step,lr,loss\n1,0.001,3.0\n3,0.001,2.0\n")
    assert main(["plan", "predict", "--fit", str(f), "--target", str(f)]) == 2
    assert "every update" in capsys.readouterr().err
    ok = write_curve(tmp_path / "ok.csv", "constant:warmup_steps=10", T=200, every=20)
    assert main(["plan", "predict", "--fit", str(ok)]) == 2
    assert "--schedule SPEC" in capsys.readouterr().err


def test_plan_without_subcommand_prints_help(capsys):
    assert main(["plan"]) == 2
    assert "transfer" in capsys.readouterr().out


def test_python_dash_m_transfer():
    argv = ["plan", "transfer", "--from", "wsd:cooldown_frac=0.2", "--to", "linear"]
    argv += ["--lr", "1e-3", "--steps", "50000", "--json"]
    proc = subprocess.run(
        [sys.executable, "-m", "autowarm", *argv], capture_output=True, text=True, check=True
    )
    assert json.loads(proc.stdout)["to"][0]["factor"] == pytest.approx(1.843, abs=1e-3)
