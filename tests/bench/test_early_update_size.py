"""benchmarks/early_update_size.py: a real short run per optimizer, and one-line errors."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "early_update_size.py"
TEXT = Path(__file__).resolve().parents[1] / "assets" / "text"


def test_short_runs_record_the_update_size_of_every_update(tmp_path):
    cmd = [sys.executable, str(SCRIPT), "--runs", "adamw@1,muon@2", "--steps", "3",
           "--data", str(TEXT), "--out", str(tmp_path)]  # fmt: skip
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["steps"] == 3 and set(summary["runs"]) == {"adamw-lrx1", "muon-lrx2"}
    for row in summary["runs"].values():
        assert len(row["relative_update"]) == 3 and len(row["rrc"]) == 3
        assert all(0 < x < 100 for x in row["relative_update"] + row["rrc"])
    # Adam's bias correction makes its first update large against its next ones.
    adam = summary["runs"]["adamw-lrx1"]["relative_update"]
    assert adam[0] > adam[1]


@pytest.mark.parametrize(
    ("argv", "message"),
    [(["--runs", "sgd@1"], "unknown optimizer 'sgd'"), (["--steps", "0"], "--steps must be")],
)
def test_bad_arguments_are_one_line_errors(tmp_path, argv, message):
    res = subprocess.run([sys.executable, str(SCRIPT), *argv, "--out", str(tmp_path)],
                         capture_output=True, text=True, timeout=120)  # fmt: skip
    assert res.returncode == 2 and message in res.stderr
