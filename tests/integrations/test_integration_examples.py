"""Every examples/ script of an integration runs (in-process, with a tiny step count)."""

from __future__ import annotations

import runpy
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
SCRIPTS = {
    "hf_trainer.py": "transformers",
    "lightning_trainer.py": "lightning",
    "accelerate_loop.py": "accelerate",
    "optax_adaptive.py": "optax",
}


@pytest.fixture
def fresh_accelerate_state():
    yield
    if "accelerate" in sys.modules:
        from accelerate.state import AcceleratorState, GradientState

        AcceleratorState._reset_state(True)
        GradientState._reset_state()


@pytest.mark.slow
@pytest.mark.parametrize("script", sorted(SCRIPTS))
@pytest.mark.filterwarnings("ignore::UserWarning")
def test_example_runs(script, monkeypatch, capsys, fresh_accelerate_state):
    pytest.importorskip(SCRIPTS[script])
    monkeypatch.setattr(sys, "argv", [script, "--steps", "6"])
    runpy.run_path(str(EXAMPLES / script), run_name="__main__")
    out = capsys.readouterr().out
    assert "updates 6," in out or "warm-up ended at update" in out, out[-2000:]
