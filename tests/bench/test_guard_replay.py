"""benchmarks/guard_replay.py: the guard over recorded curves finds the spike, not the smooth run."""

import json
from pathlib import Path

from benchmark_scripts import load

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "guard_replay.py"


def _load():
    return load("guard_replay")


def test_replay_flags_the_spiking_run_only(tmp_path, capsys):
    smooth = [5.0 * 0.99**k for k in range(200)]
    spiky = list(smooth)
    spiky[100] = 3 * smooth[100]
    (tmp_path / "results").mkdir()
    for name, losses in (("smooth", smooth), ("spiky", spiky)):
        result = {"run_id": name, "train_loss": losses, "final_val_loss": losses[-1]}
        (tmp_path / "results" / f"{name}.json").write_text(json.dumps(result))
    metrics = tmp_path / "run" / "metrics.jsonl"
    metrics.parent.mkdir()
    metrics.write_text(
        "\n".join(json.dumps({"step": k + 1, "train_loss": x}) for k, x in enumerate(smooth))
    )
    out = tmp_path / "replay.json"
    assert _load().main([str(tmp_path), str(metrics), "--json", str(out)]) == 0
    runs = {Path(r["run"]).name: r["backoff_steps"] for r in json.loads(out.read_text())["runs"]}
    assert runs == {"smooth": [], "spiky": [101], "run": []}
    assert "1 of 3 recorded runs would back off" in capsys.readouterr().out
