"""Pretraining harness: a LLaMA-style model, offline text data, a resumable torchrun-ready loop."""

from autowarm.train.data import Batches, DataConfig, TokenData, load_data
from autowarm.train.loop import StepContext, train
from autowarm.train.model import MODEL_PRESETS, LLaMA, ModelConfig, model_config
from autowarm.train.run_config import RunConfig, build_scheduler

__all__ = [
    "MODEL_PRESETS",
    "Batches",
    "DataConfig",
    "LLaMA",
    "ModelConfig",
    "RunConfig",
    "StepContext",
    "TokenData",
    "build_scheduler",
    "load_data",
    "model_config",
    "train",
]
