"""Tokenizers for the harness: bytes (default), a locally trained byte-level BPE, GPT-2 BPE.

All three map text to a 1-D ``numpy`` array of ids and back. ``byte`` needs nothing and is exact;
``bpe`` trains a byte-level BPE with Hugging Face ``tokenizers`` on the training documents (offline,
a few seconds for 10 MB; ``pip install autowarm[bpe]``); ``gpt2`` is tiktoken's r50k encoding for the
paper presets (``pip install autowarm[gpt2]``; it needs its BPE file, which tiktoken downloads once
or finds in ``TIKTOKEN_CACHE_DIR``).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from autowarm._extras import require

TOKENIZERS = ("byte", "bpe", "gpt2")
_CHUNK_CHARS = 100_000  # encode in ~100 kB pieces: one huge encode() call is much slower


class ByteTokenizer:
    """UTF-8 bytes as tokens (vocabulary 256).

    >>> tok = ByteTokenizer()
    >>> tok.encode("hé").tolist(), tok.decode(tok.encode("hé"))
    ([104, 195, 169], 'hé')
    """

    name = "byte"
    vocab_size = 256
    eot: int | None = None  # documents are joined by a blank line instead of an end token

    def encode(self, text: str) -> np.ndarray:
        """Token ids of ``text`` as ``uint8``."""
        return np.frombuffer(text.encode("utf-8"), dtype=np.uint8).copy()

    def decode(self, ids: Sequence[int] | np.ndarray) -> str:
        """Text of ``ids`` (invalid UTF-8 sequences are replaced)."""
        return bytes(np.asarray(ids, dtype=np.uint8).tolist()).decode("utf-8", errors="replace")


class BPETokenizer:
    """Byte-level BPE from Hugging Face ``tokenizers``, trained here or loaded from its JSON.

    Args:
        tokenizer: a ``tokenizers.Tokenizer``.
    """

    name = "bpe"
    eot: int | None = None

    def __init__(self, tokenizer) -> None:
        self._tok = tokenizer
        self.vocab_size = int(tokenizer.get_vocab_size())

    @classmethod
    def train(cls, documents: Sequence[str], vocab_size: int) -> BPETokenizer:
        """Train a byte-level BPE of ``vocab_size`` tokens (>= 257) on ``documents``."""
        if vocab_size <= 256:
            raise ValueError(f"BPE vocab_size must be > 256 (the byte alphabet); got {vocab_size}")
        tk = _import_tokenizers()
        tok = tk.Tokenizer(tk.models.BPE())
        tok.pre_tokenizer = tk.pre_tokenizers.ByteLevel(add_prefix_space=False)
        tok.decoder = tk.decoders.ByteLevel()
        trainer = tk.trainers.BpeTrainer(
            vocab_size=vocab_size,
            initial_alphabet=tk.pre_tokenizers.ByteLevel.alphabet(),
            show_progress=False,
        )
        tok.train_from_iterator(_chunks(documents), trainer=trainer)
        return cls(tok)

    @classmethod
    def load(cls, path: str | Path) -> BPETokenizer:
        """Load a tokenizer saved by :meth:`save`."""
        return cls(_import_tokenizers().Tokenizer.from_file(str(path)))

    def save(self, path: str | Path) -> None:
        """Write the tokenizer as JSON."""
        self._tok.save(str(path))

    def encode(self, text: str) -> np.ndarray:
        """Token ids of ``text`` (encoded in ~100 kB pieces, split at line ends)."""
        pieces = list(_chunks([text]))
        ids = [np.asarray(e.ids, dtype=np.int64) for e in self._tok.encode_batch(pieces)]
        return np.concatenate(ids) if ids else np.zeros(0, dtype=np.int64)

    def decode(self, ids: Sequence[int] | np.ndarray) -> str:
        """Text of ``ids``."""
        return self._tok.decode([int(i) for i in ids])


class GPT2Tokenizer:
    """GPT-2's BPE (tiktoken ``gpt2``/r50k, 50257 tokens, ``<|endoftext|>`` = 50256)."""

    name = "gpt2"
    vocab_size = 50257
    eot = 50256

    def __init__(self) -> None:
        tiktoken = require("tiktoken", "gpt2", "the gpt2 tokenizer")
        try:
            self._enc = tiktoken.get_encoding("gpt2")
        except Exception as err:  # tiktoken raises requests' errors when offline
            raise ConnectionError(
                "tiktoken could not load the gpt2 BPE file (it downloads it once from "
                "openaipublic.blob.core.windows.net). Connect once, or put the cached file in "
                f"TIKTOKEN_CACHE_DIR, or use --tokenizer byte/bpe. ({type(err).__name__}: {err})"
            ) from err

    def encode(self, text: str) -> np.ndarray:
        """Token ids of ``text``."""
        return np.asarray(self._enc.encode_ordinary(text), dtype=np.int64)

    def decode(self, ids: Sequence[int] | np.ndarray) -> str:
        """Text of ``ids``."""
        return self._enc.decode([int(i) for i in ids])


def get_tokenizer(
    name: str,
    documents: Sequence[str] | None = None,
    *,
    vocab_size: int = 4096,
    path: str | Path | None = None,
):
    """A tokenizer by name; ``bpe`` loads ``path`` when it exists, else trains on ``documents``.

    >>> get_tokenizer("byte").vocab_size
    256
    """
    if name == "byte":
        return ByteTokenizer()
    if name == "gpt2":
        return GPT2Tokenizer()
    if name == "bpe":
        if path is not None and Path(path).is_file():
            return BPETokenizer.load(path)
        if documents is None:
            raise ValueError("training a BPE tokenizer needs documents")
        tok = BPETokenizer.train(documents, vocab_size)
        if path is not None:
            tok.save(path)
        return tok
    raise ValueError(f"unknown tokenizer {name!r}; valid: {', '.join(TOKENIZERS)}")


def token_dtype(vocab_size: int) -> np.dtype:
    """The smallest unsigned dtype that holds ids below ``vocab_size``.

    >>> str(token_dtype(256)), str(token_dtype(50257)), str(token_dtype(100_000))
    ('uint8', 'uint16', 'uint32')
    """
    for dt in (np.uint8, np.uint16, np.uint32):
        if vocab_size - 1 <= np.iinfo(dt).max:
            return np.dtype(dt)
    raise ValueError(f"vocab_size {vocab_size} does not fit in uint32")


def _chunks(texts: Sequence[str]):
    """Yield pieces of about ``_CHUNK_CHARS`` characters, cut after a newline when possible."""
    for text in texts:
        start = 0
        while start < len(text):
            end = min(len(text), start + _CHUNK_CHARS)
            if end < len(text):
                cut = text.rfind("\n", start, end)
                end = cut + 1 if cut > start else end
            yield text[start:end]
            start = end


def _import_tokenizers():
    return require("tokenizers", "bpe", "the bpe tokenizer")
