"""Shared fixtures of the training-harness tests."""

from pathlib import Path

import pytest
import torch

ASSETS = Path(__file__).resolve().parents[1] / "assets" / "text"


@pytest.fixture(autouse=True)
def _one_thread():
    torch.set_num_threads(1)


@pytest.fixture
def sample_dir() -> Path:
    """~57 KB of public-domain text in two files (KJV Genesis, Hamlet)."""
    return ASSETS
