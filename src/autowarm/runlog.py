"""The run log: ``metrics.jsonl`` (one JSON object a line) and the run directory's JSON documents.

This module is the one owner of the format of the files a training run writes beside its
checkpoint, so every reader (plots, the bench store, the CLI) parses them the same way:

- ``metrics.jsonl``: one record per line, a JSON object with at least ``step`` (optimizer updates
  done). A training row holds ``train_loss``, ``lr_mult``, ``lr`` (per group), ``grad_norm``,
  ``tok_per_s`` and ``phase``; an evaluation row ``val_loss``; the last row ``final_val_loss``.
  Rows are appended and flushed, so a reader sees whole rows, except after a kill in the middle
  of a write: then the *last* line may be torn. :func:`read_metrics` drops such a line with a
  warning naming the file (it holds nothing a resumed run does not rewrite); an unreadable line
  anywhere else is corruption, reported with the file and line number.
- ``config.json`` / ``final.json``: written whole by :func:`write_json` through a temporary file,
  ``fsync`` and ``os.replace`` (see :func:`atomic_write`), so a reader sees the old or the new
  document, never a mix, even after a power loss.

Non-finite floats are written as ``NaN`` / ``Infinity`` (Python's ``json`` default) and read back.
It imports neither torch nor any other autowarm module: a results reader can use it alone.

>>> import tempfile, pathlib
>>> path = pathlib.Path(tempfile.mkdtemp()) / "metrics.jsonl"
>>> append_records(path, [{"step": 1, "train_loss": 5.5}, {"step": 2, "train_loss": 5.0}])
>>> append_records(path, [{"step": 2, "val_loss": 5.2}])
>>> read_series(path, "train_loss")
([1, 2], [5.5, 5.0])
>>> truncate_to_step(path, 1)
1
>>> read_metrics(path)
[{'step': 1, 'train_loss': 5.5}]
"""

from __future__ import annotations

import json
import os
import tempfile
import warnings
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import IO, Any

METRICS_FILE = "metrics.jsonl"


def metrics_path(path: str | os.PathLike) -> Path:
    """``path`` itself, or ``path/metrics.jsonl`` when ``path`` is a run directory."""
    p = Path(path)
    return p / METRICS_FILE if p.is_dir() else p


def append_records(path: str | os.PathLike, records: Iterable[Mapping[str, Any]]) -> None:
    """Append ``records`` to a JSONL file, one JSON object a line, in one write, then flush.

    Args:
        path: the file (created if missing; its directory must exist).
        records: mappings of JSON-able values (floats may be non-finite).

    Raises:
        TypeError: a record that is not a mapping (nothing is written then).
    """
    lines = []
    for i, rec in enumerate(records):
        if not isinstance(rec, Mapping):
            raise TypeError(f"records[{i}] must be a mapping (a JSON object); got {rec!r}")
        lines.append(json.dumps(dict(rec)) + "\n")
    if not lines:
        return
    with open(path, "a", encoding="utf-8") as f:
        f.write("".join(lines))
        f.flush()


def read_metrics(path: str | os.PathLike) -> list[dict]:
    """All records of a JSONL file (or of ``metrics.jsonl`` in a run directory), in file order.

    Blank lines are skipped. A last line that is not a whole JSON object (a write cut short by a
    kill) is dropped with a ``RuntimeWarning`` naming the file.

    Raises:
        FileNotFoundError: no such file.
        ValueError: a line other than the last is not a JSON object (names file and line number).
    """
    records, _ = _read(metrics_path(path))
    return records


def read_column(path: str | os.PathLike, key: str) -> list:
    """The values of ``key`` in the records that have it, in file order.

    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "m.jsonl"
    >>> append_records(p, [{"step": 1, "train_loss": 3.0}, {"step": 1, "val_loss": 3.1}])
    >>> read_column(p, "val_loss")
    [3.1]
    """
    return [r[key] for r in read_metrics(path) if key in r]


def read_series(path: str | os.PathLike, key: str) -> tuple[list[int], list]:
    """``(steps, values)`` of the records that have ``key`` (e.g. the train losses and their steps).

    Raises:
        ValueError: a record with ``key`` but no integer ``step`` (names the file).
    """
    file = metrics_path(path)
    steps, values = [], []
    for r in read_metrics(file):
        if key in r:
            step = r.get("step")
            if isinstance(step, bool) or not isinstance(step, int):
                raise ValueError(f"{file}: a record with {key!r} has no integer 'step': {r}")
            steps.append(step)
            values.append(r[key])
    return steps, values


def truncate_to_step(
    path: str | os.PathLike, step: int, *, drop_keys: Iterable[str] = ("final_val_loss",)
) -> int:
    """Keep only the records with ``step <= step`` and none of ``drop_keys``; return how many.

    Used when a run resumes from the checkpoint of update ``step``: the killed session may have
    logged rows past it (and a torn last line), which the resumed session writes again. The file
    is rewritten atomically (:func:`atomic_write`); a missing file is left missing (returns 0).

    Raises:
        ValueError: a corrupt line before the last, or a record without an integer ``step``.
    """
    if isinstance(step, bool) or not isinstance(step, int) or step < 0:
        raise ValueError(f"step must be an integer >= 0; got {step!r}")
    file = Path(path)
    if not file.exists():
        return 0
    records, torn = _read(file, warn=False)
    torn = torn or not _ends_with_newline(file)
    drop = tuple(drop_keys)
    keep = []
    for r in records:
        s = r.get("step")
        if isinstance(s, bool) or not isinstance(s, int):
            raise ValueError(f"{file}: a record has no integer 'step': {r}")
        if s <= step and not any(k in r for k in drop):
            keep.append(r)
    if torn or len(keep) != len(records):
        text = "".join(json.dumps(r) + "\n" for r in keep)
        atomic_write(file, lambda f: f.write(text.encode("utf-8")))
    return len(keep)


def write_json(path: str | os.PathLike, obj: Mapping) -> None:
    """Write ``obj`` as indented JSON (values JSON cannot hold are written as ``str``) atomically."""
    text = json.dumps(obj, indent=1, default=str) + "\n"
    atomic_write(path, lambda f: f.write(text.encode("utf-8")))


def atomic_write(path: str | os.PathLike, write: Callable[[IO[bytes]], object]) -> None:
    """Create or replace ``path`` so that a kill or power loss leaves the old or the new content.

    ``write(f)`` fills a temporary file ``.<name>.<random>.tmp`` beside ``path``; the file is then
    flushed and ``fsync``-ed, renamed over ``path`` (``os.replace``) and the directory ``fsync``-ed
    so that the rename itself is durable. On an error the temporary file is removed; after a kill
    it stays behind and :func:`remove_stale_temporaries` removes it on the next start.
    """
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    fsync_dir(path.parent)


def fsync_dir(directory: str | os.PathLike) -> None:
    """``fsync`` a directory (makes a rename in it durable); a no-op where that is unsupported."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:  # e.g. Windows cannot open a directory
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def remove_stale_temporaries(directory: str | os.PathLike, names: Iterable[str]) -> list[Path]:
    """Delete the temporaries :func:`atomic_write` left for ``names`` in ``directory``.

    Only files named ``.<name>.<anything>.tmp`` or ``.<name>.tmp`` are touched. Call it when no
    other process writes to ``directory`` (a run owns its directory).

    Returns:
        The removed paths, sorted.
    """
    d = Path(directory)
    removed = []
    for name in names:
        for p in [*d.glob(f".{name}.*.tmp"), d / f".{name}.tmp"]:
            if p.is_file() or p.is_symlink():
                p.unlink(missing_ok=True)
                removed.append(p)
    return sorted(set(removed))


def _ends_with_newline(file: Path) -> bool:
    with open(file, "rb") as f:
        if f.seek(0, os.SEEK_END) == 0:
            return True
        f.seek(-1, os.SEEK_END)
        return f.read(1) == b"\n"


def _read(file: Path, *, warn: bool = True) -> tuple[list[dict], bool]:
    """Records of ``file`` and whether a torn last line was dropped."""
    if file.is_dir():
        raise ValueError(f"{file} is a directory, not a JSONL file")
    data = file.read_bytes()
    lines = data.split(b"\n")
    numbered = [(i + 1, ln) for i, ln in enumerate(lines) if ln.strip()]
    records: list[dict] = []
    torn = False
    for pos, (lineno, raw) in enumerate(numbered):
        rec = _parse(raw)
        if rec is None:
            if pos == len(numbered) - 1:
                torn = True
                if warn:
                    warnings.warn(
                        f"{file}: dropped a torn last line {lineno} (a write cut short by a kill)",
                        RuntimeWarning,
                        stacklevel=3,
                    )
                break
            raise ValueError(
                f"{file}: line {lineno} is not a JSON object: {raw[:80].decode('utf-8', 'replace')!r}"
            )
        records.append(rec)
    return records, torn


def _parse(raw: bytes) -> dict | None:
    try:
        rec = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        return None
    return rec if isinstance(rec, dict) else None


__all__ = [
    "METRICS_FILE",
    "append_records",
    "atomic_write",
    "fsync_dir",
    "metrics_path",
    "read_column",
    "read_metrics",
    "read_series",
    "remove_stale_temporaries",
    "truncate_to_step",
    "write_json",
]
