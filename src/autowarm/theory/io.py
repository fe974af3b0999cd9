"""Readers of recorded runs for the theory tools: gradient norms and loss curves, in pure numpy.

- :func:`read_column`: a sequence of numbers (gradient norms) from a ``.npy``, a ``.json`` list, a
  ``metrics.jsonl`` (one key), a CSV with a named column, or a text file of one number a line.
- :func:`read_curve`: a run's per-update LRs and its measured losses as a
  :class:`~autowarm.theory.LossCurve`, from a CSV (``step,lr,loss``) or a ``metrics.jsonl``.

``metrics.jsonl`` (written by ``autowarm train``) is parsed in one place, :func:`read_jsonl`. A
missing file is a ``FileNotFoundError``; a malformed one a one-line ``ValueError`` naming the
file (and the line, where there is one).

>>> import pathlib, tempfile
>>> d = pathlib.Path(tempfile.mkdtemp())
>>> _ = (d / "norms.txt").write_text("3.0\\n2.0\\n1.0\\n")
>>> read_column(str(d / "norms.txt"), "grad_norm").tolist()
[3.0, 2.0, 1.0]
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np


def _existing(path: str) -> Path:
    file = Path(path)
    if not file.is_file():
        raise FileNotFoundError(f"file not found: {path}")
    return file


def read_jsonl(path: str) -> list[dict]:
    """The rows of a JSON-lines file such as ``metrics.jsonl`` (blank lines skipped).

    Each row must be a JSON object; a line that is not is a ``ValueError`` naming the file and line.
    """
    rows = []
    for i, line in enumerate(_existing(path).read_text().splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as err:
            raise ValueError(f"{path}: line {i} is not JSON ({err.msg})") from None
        if not isinstance(row, dict):
            raise ValueError(f"{path}: line {i} is not a JSON object; got {line.strip()[:40]!r}")
        rows.append(row)
    return rows


def _floats(path: str, values: list, what: str) -> np.ndarray:
    try:
        return np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(f"{path}: {what} must be numbers") from None


def read_column(path: str, column: str) -> np.ndarray:
    """Numbers from a .npy, a .json list, a .jsonl (key ``column``) or a CSV / text file.

    Args:
        path: the file; its suffix picks the format (``.npy``, ``.json``, ``.jsonl``, else text).
        column: the CSV column or JSON-lines key to read; a text file without that header is read
            as one number a line (the last field of each row).

    Returns:
        A 1-d float64 array (non-finite values are kept: callers decide what to drop).
    """
    file = _existing(path)
    if file.suffix == ".npy":
        return np.asarray(np.load(file), dtype=np.float64).ravel()
    if file.suffix == ".json":
        try:
            data = json.loads(file.read_text())
        except json.JSONDecodeError as err:
            raise ValueError(f"{path}: not JSON ({err.msg})") from None
        return _floats(path, data, "the values").ravel()
    if file.suffix == ".jsonl":
        vals = [r[column] for r in read_jsonl(path) if r.get(column) is not None]
        if not vals:
            raise ValueError(f"no {column!r} values in {path}")
        return _floats(path, vals, f"the {column!r} values")
    rows = list(csv.reader(line for line in file.read_text().splitlines() if line.strip()))
    header = [c.strip() for c in rows[0]] if rows else []
    if column in header:
        col = header.index(column)
        vals = [r[col] for r in rows[1:] if len(r) > col and r[col].strip()]
        return _floats(path, vals, f"the {column!r} column")
    try:
        return np.asarray([float(r[-1]) for r in rows])
    except ValueError:
        raise ValueError(f"{path}: no {column!r} column and not one number a line") from None


def _curve_from_jsonl(path: str, loss_key: str) -> tuple[dict[int, float], dict[int, float]]:
    """LRs (first group) and losses by update from a ``metrics.jsonl`` of ``autowarm train``."""
    lrs: dict[int, float] = {}
    losses: dict[int, float] = {}
    for row in read_jsonl(path):
        if "step" not in row:
            raise ValueError(f"{path}: a metrics row without 'step': {sorted(row)[:6]}")
        step = int(row["step"])
        if row.get("lr") is not None:
            lr = row["lr"]
            lrs[step] = float(lr[0] if isinstance(lr, list) else lr)
        if row.get(loss_key) is not None:
            at = step - 1 if loss_key == "train_loss" else step
            losses[at] = float(row[loss_key])
    return lrs, losses


def _curve_from_csv(path: str) -> tuple[dict[int, float], dict[int, float]]:
    lrs: dict[int, float] = {}
    losses: dict[int, float] = {}
    with open(path, newline="") as fh:
        reader = csv.DictReader(fh)
        fields = [f.strip() for f in reader.fieldnames or []]
        if "lr" not in fields or "loss" not in fields:
            raise ValueError(f"{path}: a curve CSV needs 'lr' and 'loss' columns; got {fields}")
        for i, row in enumerate(reader, start=1):
            row = {k.strip(): (v or "").strip() for k, v in row.items() if k is not None}
            try:
                step = int(row["step"]) if row.get("step") else i
                if row["lr"]:
                    lrs[step] = float(row["lr"])
                if row["loss"]:
                    losses[step] = float(row["loss"])
            except ValueError:
                raise ValueError(f"{path}: row {i} has a value that is not a number") from None
    return lrs, losses


def read_curve(path: str, loss_key: str = "val_loss"):
    """A recorded run as a :class:`~autowarm.theory.LossCurve`.

    CSV: a header with ``lr`` and ``loss`` (optional ``step`` = updates done, 1-based; default
    the row number); one row per update, ``loss`` measured after ``step`` updates (empty where
    not measured). ``metrics.jsonl`` of ``autowarm train``: ``lr`` (first group) of each update
    row, and ``loss_key`` (``val_loss``, measured after ``step`` updates, or ``train_loss``,
    measured before update ``step``, i.e. after ``step - 1``).

    Args:
        path: the CSV or ``.jsonl`` file.
        loss_key: the ``metrics.jsonl`` key of the loss (ignored for a CSV, whose column is
            ``loss``).
    """
    from autowarm.theory.laws import LossCurve

    file = _existing(path)
    if file.suffix == ".jsonl":
        lrs, losses = _curve_from_jsonl(path, loss_key)
    else:
        lrs, losses = _curve_from_csv(path)
    if not lrs:
        raise ValueError(f"no LRs in {path}")
    n = max(lrs)
    if sorted(lrs) != list(range(1, n + 1)):
        raise ValueError(f"{path}: the LR of every update 1..{n} is needed")
    steps = np.array(sorted(k for k in losses if 1 <= k <= n), dtype=np.int64)
    return LossCurve(
        np.array([lrs[k] for k in range(1, n + 1)]), steps, np.array([losses[k] for k in steps])
    )


__all__ = ["read_column", "read_curve", "read_jsonl"]
