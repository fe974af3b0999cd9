"""The LLaMA model: shapes, parameter counts of the presets, causality, initialisation."""

import math

import pytest
import torch

from autowarm.train.model import MODEL_PRESETS, LLaMA, ModelConfig, model_config


def test_forward_shapes_and_loss():
    torch.manual_seed(0)
    model = LLaMA(model_config("tiny"))
    idx = torch.randint(0, 256, (3, 17))
    assert model(idx).shape == (3, 17, 256)
    loss = model(idx, torch.randint(0, 256, (3, 17)))
    assert loss.shape == () and abs(loss.item() - math.log(256)) < 0.2


@pytest.mark.parametrize(
    ("name", "params"),
    [
        ("cpu", 836_736),  # ~0.84 M (the reference doc's benchmark model)
        ("cpu-large", 4_885_760),
        ("llama-30m", 30_565_888),  # benchmarks/gpu_check.sh, with the 4096-token BPE
        ("llama-124m", 123_587_328),  # the paper's "124M": 123.6 M
        ("llama-210m", 208_540_416),  # the paper's "210M": 208.5 M
    ],
)
def test_preset_parameter_counts(name, params):
    with torch.device("meta"):
        model = LLaMA(model_config(name))
    assert model.num_params() == params


def test_paper_presets_match_the_reference():
    for name, layers in (("llama-124m", 12), ("llama-210m", 24)):
        c = model_config(name)
        assert (c.d_model, c.n_layers, c.n_heads, c.d_ff, c.vocab_size, c.context) == (
            768,
            layers,
            12,
            2048,
            50304,
            512,
        )
        assert c.tie_embeddings


def test_module_names_the_optimizer_engineer_relies_on():
    tied = LLaMA(model_config("tiny"))
    assert isinstance(tied.embed, torch.nn.Embedding) and not hasattr(tied, "lm_head")
    untied = LLaMA(model_config("tiny").replace(tie_embeddings=False))
    assert isinstance(untied.lm_head, torch.nn.Linear) and untied.lm_head.bias is None
    assert all(m.bias is None for m in untied.modules() if isinstance(m, torch.nn.Linear))
    assert untied.num_params() == tied.num_params() + 256 * 32


def test_causality_future_tokens_do_not_change_past_logits():
    torch.manual_seed(1)
    model = LLaMA(model_config("tiny")).eval()
    idx = torch.randint(0, 256, (2, 40))
    changed = idx.clone()
    changed[:, 25:] = torch.randint(0, 256, (2, 15))
    with torch.no_grad():
        a, b = model(idx), model(changed)
    assert torch.equal(a[:, :25], b[:, :25])
    assert not torch.allclose(a[:, 25:], b[:, 25:])


def test_init_statistics():
    torch.manual_seed(0)
    cfg = model_config("cpu")
    model = LLaMA(cfg)
    resid = 0.02 / math.sqrt(2 * cfg.n_layers)
    for name, p in model.named_parameters():
        if name.endswith(("attn.proj.weight", "mlp.w2.weight")):
            assert p.std().item() == pytest.approx(resid, rel=0.05), name
        elif p.ndim == 2:
            assert p.std().item() == pytest.approx(0.02, rel=0.05), name
            assert abs(p.mean().item()) < 2e-3
        else:
            assert torch.equal(p, torch.ones_like(p)), name  # RMSNorm gains


def test_rope_makes_attention_depend_on_relative_position():
    # Shifting every position by the same offset leaves q.k unchanged.
    from autowarm.train.model import apply_rope, rope_table

    cos, sin = rope_table(8, 64, 10_000.0)
    q, k = torch.randn(1, 1, 1, 8), torch.randn(1, 1, 1, 8)

    def score(i, j):
        return (
            apply_rope(q, cos[i : i + 1], sin[i : i + 1])
            * apply_rope(k, cos[j : j + 1], sin[j : j + 1])
        ).sum()

    assert score(5, 2).item() == pytest.approx(score(40, 37).item(), rel=1e-5)


def test_sequence_longer_than_context_is_rejected():
    model = LLaMA(model_config("tiny"))
    with pytest.raises(ValueError, match="exceeds the model context 64"):
        model(torch.zeros(1, 65, dtype=torch.long))


def test_bad_configs_and_names():
    with pytest.raises(ValueError, match="unknown model preset 'gpt'; valid: tiny, cpu"):
        model_config("gpt")
    with pytest.raises(ValueError, match="divisible by n_heads"):
        ModelConfig(vocab_size=256, d_model=30, n_layers=1, n_heads=4, d_ff=64, context=8)
    with pytest.raises(ValueError, match="n_layers must be an integer >= 1"):
        ModelConfig(vocab_size=256, d_model=32, n_layers=0, n_heads=4, d_ff=64, context=8)
    assert set(MODEL_PRESETS) == {
        "tiny",
        "cpu",
        "cpu-large",
        "llama-30m",
        "llama-124m",
        "llama-210m",
    }
