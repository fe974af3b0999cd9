"""kappa(norm, shapes): the values for the paper's models (their matrix shapes, by hand)."""

import pytest

from autowarm.schedules import kappa, per_matrix_kappa


def llama_shapes(layers, include_embedding=True):
    d, ff, vocab = 768, 2048, 50304
    per_layer = [(2304, d), (d, d), (ff, d), (d, ff), (ff, d)]
    shapes = per_layer * layers
    return [(vocab, d), *shapes] if include_embedding else shapes


@pytest.mark.parametrize(
    ("layers", "norm", "expected"),
    [
        (12, "spectral", 46848),
        (24, "spectral", 92928),
        (12, "sign", 1.236e8),
        (24, "sign", 2.085e8),
        (12, "frobenius", 61),
        (24, "frobenius", 121),
    ],
)
def test_paper_kappas(layers, norm, expected):
    # Digest, section 2: kappa over all 2-D params of LLaMA-124M/210M incl. the tied embedding.
    assert kappa(norm, llama_shapes(layers)) == pytest.approx(expected, rel=1e-3)


def test_per_matrix_and_errors():
    assert per_matrix_kappa("spectral", (3, 5)) == 3.0
    assert per_matrix_kappa("sign", (3, 5)) == 15.0
    assert per_matrix_kappa("frobenius", (3, 5)) == 1.0
    with pytest.raises(ValueError, match="unknown norm"):
        kappa("l2", [(2, 2)])
    with pytest.raises(ValueError, match="at least one"):
        kappa("sign", [])
    with pytest.raises(ValueError, match="2-D shapes"):
        kappa("sign", [(2, 2, 2)])
    with pytest.raises(ValueError, match="2-D shapes"):
        kappa("spectral", [(0, 3)])
