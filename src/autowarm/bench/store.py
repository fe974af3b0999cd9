"""The benchmark's result store: one JSON file per finished run, written atomically.

Layout of a results directory ``DIR``::

    DIR/bench.json              what was asked (preset, optimizers, seeds, steps, flags)
    DIR/runs/<run_id>/          the harness's run directory (config, metrics, checkpoint)
    DIR/results/<run_id>.json   the run's result, written once the run has finished

A run is *done* when its result file holds a result, *corrupt* when the file exists but is not
a result (a re-run moves it aside to ``<run_id>.json.bad[-N]`` and trains the run again),
*partial* when its run directory holds a checkpoint (a re-run resumes it exactly), and *todo*
otherwise. Result files are written to a temporary name and renamed, so an interrupted benchmark
never leaves a half-written result.

A result records the run's training config, and the store refuses to reuse it for a run whose
config differs (:meth:`ResultStore.check`): re-running into a directory with, say, another
``--steps`` raises a one-line error naming the field instead of mixing runs of two lengths.
Settings that do not change what a run computes (:data:`EXECUTION_FIELDS`: where it writes, how
many threads, how often it checkpoints) are not compared. Nor are runs of one directory allowed to
differ in their workload (:data:`WORKLOAD_FIELDS`: model, data, budget, batch, evaluation), so
a report never mixes runs on different data or of different lengths.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import math
import os
from pathlib import Path

from autowarm.runlog import atomic_write, metrics_path, read_metrics

# RunConfig fields that say how a run executes, not what it computes: never compared.
EXECUTION_FIELDS = ("out", "resume", "threads", "log_every", "checkpoint_every", "device")
# DataConfig fields that say where caches live, not which tokens: never compared.
DATA_EXECUTION_FIELDS = ("cache_dir",)
# RunConfig fields every run of one results directory shares (the workload the arms compete on).
WORKLOAD_FIELDS = (
    "model",
    "steps",
    "batch_size",
    "seq_len",
    "grad_accum",
    "grad_clip",
    "data",
    "eval_every",
    "eval_batches",
    "final_eval",
    "dtype",
)


def write_json_atomic(path: str | Path, data: object) -> None:
    """Write ``data`` as JSON to ``path`` through a temporary file and an atomic rename."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(data, indent=1, default=_jsonable)  # a value JSON cannot hold fails here
    atomic_write(path, lambda f: f.write(text.encode("utf-8")))


def _jsonable(obj: object) -> object:
    if isinstance(obj, (set, tuple)):
        return list(obj)
    if hasattr(obj, "item"):
        return obj.item()
    raise TypeError(f"not JSON-serialisable: {type(obj).__name__}")


class ResultStore:
    """Read and write the results of one benchmark directory."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)
        self.results_dir = self.root / "results"
        self.runs_dir = self.root / "runs"

    def result_path(self, run_id: str) -> Path:
        """Where the result of ``run_id`` lives."""
        return self.results_dir / f"{run_id}.json"

    def status(self, run_id: str) -> str:
        """``"done"``, ``"corrupt"`` (a result file that holds no result), ``"partial"`` (a
        checkpoint to resume from) or ``"todo"``."""
        path = self.result_path(run_id)
        if path.exists():
            try:
                read_result(path)
            except ValueError:
                return "corrupt"
            return "done"
        run_dir = self.runs_dir / run_id
        if run_dir.is_dir() and any(run_dir.glob("checkpoint*")):
            return "partial"
        return "todo"

    def set_aside(self, run_id: str) -> Path:
        """Move a corrupt result file to ``<run_id>.json.bad`` (``.bad-2``, ... if taken)."""
        path = self.result_path(run_id)
        dest = path.with_name(path.name + ".bad")
        n = 1
        while dest.exists():
            n += 1
            dest = path.with_name(f"{path.name}.bad-{n}")
        os.replace(path, dest)
        return dest

    def check(self, specs: list) -> None:
        """Refuse (``ValueError``) runs whose stored result or checkpoint has another config.

        Compares each run's config with its stored result (or, for a partial run, the config
        its run directory recorded), and the workload (:data:`WORKLOAD_FIELDS`) of every run
        with that of the results already in the directory. Reads only; changes nothing.
        """
        stored_workload = None
        for path in sorted(self.results_dir.glob("*.json")) if self.results_dir.is_dir() else []:
            try:
                cfg = read_result(path).get("config")
            except ValueError:
                continue
            if isinstance(cfg, dict):
                stored_workload = (path, cfg)
                break
        for spec in specs:  # the same run id with another config: the most specific error
            old, where = self._stored_config(spec.run_id)
            diff = config_differences(old, spec.config.to_dict()) if old is not None else []
            if diff:
                key, was, now = diff[0]
                raise ValueError(
                    f"run {spec.run_id} in {self.root} was trained with {key}={was!r}; this "
                    f"command asks for {key}={now!r}: use another --out, or delete {where} to "
                    f"re-run it"
                )
        if stored_workload is None:
            return
        path, old = stored_workload
        for spec in specs:
            diff = config_differences(old, spec.config.to_dict(), fields=WORKLOAD_FIELDS)
            if diff:
                key, was, now = diff[0]
                raise ValueError(
                    f"{self.root} holds runs with {key}={was!r} (e.g. {path.name}); this "
                    f"command asks for {key}={now!r}: use another --out"
                )

    def _stored_config(self, run_id: str) -> tuple[dict | None, Path | None]:
        """The config a done (result file) or partial (run directory) run was started with."""
        path = self.result_path(run_id)
        if path.exists():
            try:
                cfg = read_result(path).get("config")
            except ValueError:
                return None, None  # corrupt: it is recomputed
            return (cfg, path) if isinstance(cfg, dict) else (None, None)
        run_dir = self.runs_dir / run_id
        if run_dir.is_dir() and any(run_dir.glob("checkpoint*")):
            try:
                cfg = json.loads((run_dir / "config.json").read_text()).get("config")
            except (OSError, ValueError, AttributeError):
                return None, None  # the harness checks the checkpoint's own config on resume
            return (cfg, run_dir) if isinstance(cfg, dict) else (None, None)
        return None, None

    def save(self, run_id: str, result: dict) -> None:
        """Store a finished run's result."""
        write_json_atomic(self.result_path(run_id), {"run_id": run_id, **result})

    def load(self, require: tuple[str, ...] = ()) -> list[dict]:
        """Every stored result, sorted by run id; each must hold the ``require`` fields.

        A corrupt file (not a JSON object, or lacking a required field) raises ``ValueError``
        naming the file.
        """
        if not self.results_dir.is_dir():
            return []
        return [read_result(p, require) for p in sorted(self.results_dir.glob("*.json"))]

    def write_meta(self, meta: dict) -> None:
        """Record what the benchmark was asked to do (``bench.json``)."""
        write_json_atomic(self.root / "bench.json", meta)

    def read_meta(self) -> dict:
        """The benchmark's ``bench.json`` (empty when missing)."""
        path = self.root / "bench.json"
        return json.loads(path.read_text()) if path.is_file() else {}


# The fields the report reads from every result.
RESULT_FIELDS = ("optimizer", "arm", "seed", "final_val_loss")


def read_result(path: str | Path, require: tuple[str, ...] = ()) -> dict:
    """One result file: a JSON object holding the ``require`` fields; else ``ValueError``.

    The error names the file and says how to recompute it.
    """
    path = Path(path)
    fix = "delete it and re-run `autowarm bench` with the same options to recompute it"
    try:
        data = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise ValueError(f"corrupt result file {path}: {err}; {fix}") from err
    if not isinstance(data, dict):
        raise ValueError(
            f"corrupt result file {path}: a JSON {type(data).__name__}, not an object; {fix}"
        )
    missing = [k for k in require if k not in data]
    if missing:
        raise ValueError(
            f"corrupt result file {path}: no {', '.join(map(repr, missing))} field; {fix}"
        )
    return data


def config_differences(
    old: dict, new: dict, fields: tuple[str, ...] | None = None
) -> list[tuple[str, object, object]]:
    """``(field, old, new)`` for each RunConfig field that differs between two config dicts.

    Ignores :data:`EXECUTION_FIELDS` and :data:`DATA_EXECUTION_FIELDS`; compares only ``fields`` when given. A field missing from
    ``old`` (a result stored by an older version) counts as its default. Nested ``data`` fields
    are named ``data.<field>``.

    >>> config_differences({"steps": 120, "out": "a"}, {"steps": 60, "out": "b", "lr": 3e-3})
    [('steps', 120, 60)]
    """
    from autowarm.train import DataConfig, RunConfig

    defaults = {f.name: f for f in dataclasses.fields(RunConfig)}
    data_defaults = dataclasses.asdict(DataConfig())
    out = []
    for key in fields or tuple(new):
        if key in EXECUTION_FIELDS or key not in new:
            continue
        if key in old:
            was = old[key]
        elif key in defaults:
            was = _default(defaults[key])
        else:
            continue
        now = new[key]
        if key == "data" and isinstance(now, dict):
            was = was if isinstance(was, dict) else {}
            for sub, value in now.items():
                if sub in DATA_EXECUTION_FIELDS:
                    continue
                prev = was.get(sub, data_defaults.get(sub))
                if _canonical(prev) != _canonical(value):
                    out.append((f"data.{sub}", prev, value))
        elif _canonical(was) != _canonical(now):
            out.append((key, was, now))
    return out


def finished_run(run_dir: str | Path, config, marker: str = "final.json") -> bool:
    """Whether ``run_dir`` holds a finished run of ``config`` (a RunConfig), to be reused.

    Finished means that ``run_dir/marker`` reads as JSON (a run writes its marker last, atomically)
    and that the stored ``config.json`` has no :func:`config_differences` with ``config``. A
    missing or unreadable file means "not finished": the caller trains the run again.
    """
    run_dir = Path(run_dir)
    try:
        stored = json.loads((run_dir / "config.json").read_text())["config"]
        json.loads((run_dir / marker).read_text())
    except (OSError, UnicodeDecodeError, ValueError, KeyError, TypeError):
        return False
    if not isinstance(stored, dict):
        return False
    return not config_differences(stored, json.loads(json.dumps(config.to_dict())))


def _default(f: dataclasses.Field) -> object:
    if f.default is not dataclasses.MISSING:
        return f.default
    value = f.default_factory()  # type: ignore[misc]
    return dataclasses.asdict(value) if dataclasses.is_dataclass(value) else value


def _canonical(value: object) -> str:
    """A comparable spelling: JSON with sorted keys, tuples as lists, ints as floats."""

    def norm(v: object) -> object:
        if isinstance(v, bool) or v is None or isinstance(v, str):
            return v
        if isinstance(v, (int, float)):
            return float(v)
        if isinstance(v, dict):
            return {str(k): norm(x) for k, x in v.items()}
        if isinstance(v, (list, tuple)):
            return [norm(x) for x in v]
        return v

    return json.dumps(norm(value), sort_keys=True, default=_jsonable)


def machine_info(device: str | None = None) -> dict:
    """Where a run was computed: CPU model, torch's CPU kernel level, torch, Python, OS (and GPU).

    Runs of one config and seed are bit-identical on one machine, but need not be on another: on
    the CPU benchmark Lion's losses differed between two 2-core boxes from the second update.
    Each result records this so a report can say when its paired runs come from several machines.

    >>> sorted(machine_info())
    ['cpu', 'cpu_capability', 'platform', 'python', 'torch']
    """
    import platform

    import torch

    cpu = ""
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    info = {
        "cpu": cpu or platform.processor() or platform.machine(),
        "cpu_capability": torch.backends.cpu.get_cpu_capability(),
        "torch": torch.__version__,
        "python": platform.python_version(),
        "platform": platform.platform(terse=True),
    }
    if device is not None and str(device).startswith("cuda") and torch.cuda.is_available():
        info["gpu"] = torch.cuda.get_device_name(torch.device(device))
    return info


def machine_label(info: dict | None) -> str:
    """A short name of :func:`machine_info`'s record, for reports ("not recorded" for None).

    >>> machine_label({"cpu": "Intel Xeon", "cpu_capability": "AVX512", "torch": "2.13.0"})
    'Intel Xeon, AVX512, torch 2.13.0'
    >>> machine_label(None)
    'not recorded'
    """
    if not info:
        return "not recorded"
    parts = [info.get("gpu") or info.get("cpu") or "?", info.get("cpu_capability") or "?"]
    return ", ".join(parts) + f", torch {info.get('torch', '?')}"


def collect_result(spec, final: dict, run_dir: str | Path) -> dict:
    """Assemble the result file of a finished run from the harness's run directory.

    Holds the config, the LR factor, the model's vocabulary size (its initial loss is
    ``ln(vocab_size)``), the per-step train loss and LR multiplier, the eval losses, the final
    full-validation loss, the wall time, the warm-up end step the adaptive schedule chose and the
    machine that finished the run (:func:`machine_info`).
    """
    run_dir = Path(run_dir)
    steps, losses, mults = [], [], []
    if metrics_path(run_dir).is_file():
        for row in read_metrics(run_dir):
            if "train_loss" in row:
                steps.append(int(row["step"]))
                losses.append(_num(row["train_loss"]))
                mults.append(_num(row.get("lr_mult", math.nan)))
    vocab_size = None  # if the run directory does not say, the report infers it
    with contextlib.suppress(OSError, ValueError, KeyError, TypeError):
        vocab_size = json.loads((run_dir / "config.json").read_text())["model"]["vocab_size"]
    return {
        "optimizer": spec.optimizer,
        "arm": spec.arm,
        "seed": spec.seed,
        "warmup_steps": spec.warmup_steps,
        "target_loss": spec.target_loss,
        "lr_factor": getattr(spec, "lr_factor", 1.0),
        # the mode an f* sweep's run used (absent from results written before sweeps had a mode)
        **({"fstar_mode": spec.fstar_mode} if spec.arm == "fstar" else {}),
        "vocab_size": vocab_size,
        "config": spec.config.to_dict(),
        "final_val_loss": _num(final.get("final_val_loss", math.nan)),
        "evals": final.get("evals", []),
        "wall_time_s": _num(final.get("wall_time_s", math.nan)),
        "warmup_end_step": final.get("warmup_end_step"),
        "delta_star": final.get("delta_star"),
        "fstar": final.get("fstar"),
        "backoff_steps": final.get("backoff_steps"),
        "optimizer_class": final.get("optimizer_class"),
        "optimizer_hparams": final.get("optimizer_hparams"),
        "steps": steps,
        "train_loss": losses,
        "lr_multiplier": mults,
        # the machine that finished the run (a resumed run may have started on another)
        "machine": machine_info(getattr(spec.config, "device", None)),
    }


def _num(x) -> float:
    try:
        return float(x)
    except (TypeError, ValueError):
        return math.nan
