"""Pretraining harness: a LLaMA-style model, offline text data, a resumable torchrun-ready loop."""

from autowarm.train.model import MODEL_PRESETS, LLaMA, ModelConfig, model_config

__all__ = ["MODEL_PRESETS", "LLaMA", "ModelConfig", "model_config"]
