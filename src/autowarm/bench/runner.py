"""Run a benchmark's runs in parallel worker processes, resumably, with progress.

Each run trains in its own spawned process (``threads`` torch threads) through
:func:`autowarm.train.train`; up to ``jobs`` run at once and a run starts only when a slot is
free. Finished runs (a result file in the store) are skipped, partial runs (a checkpoint) resume
exactly, so re-running an interrupted benchmark with the same arguments continues where it
stopped. A result file that holds no result is moved aside and its run trained again (said on
stderr). A run that raises is reported and recorded under ``DIR/errors/`` and does not stop the
others.

Ctrl-C (SIGINT): the workers never act on it (they start with SIGINT blocked and ignore it once
they run, so a terminal's Ctrl-C, which reaches the whole process group, stops only the parent);
the parent saves every result that has arrived, stops the running workers (their last checkpoint
remains, so they resume), starts nothing more and raises :class:`BenchInterrupted`. A Ctrl-C that
arrives while a worker is being started is held and acted on once the worker is running.
"""

from __future__ import annotations

import contextlib
import multiprocessing as mp
import multiprocessing.connection as mpc
import os
import signal
import sys
import threading
import traceback
from pathlib import Path

from autowarm.bench.store import ResultStore, collect_result
from autowarm.runlog import metrics_path


class BenchInterrupted(KeyboardInterrupt):
    """The benchmark stopped on Ctrl-C; ``saved`` runs are stored, ``stopped`` will resume."""

    def __init__(self, saved: int, stopped: list[str], not_started: int) -> None:
        super().__init__(
            f"interrupted: {saved} runs done, {len(stopped)} stopped (they resume from their last "
            f"checkpoint), {not_started} not started"
        )
        self.saved = saved
        self.stopped = stopped
        self.not_started = not_started


def _train_one(spec, resume: bool) -> dict:
    """Train one run and assemble its result (runs in a child process)."""
    from autowarm.train import train

    probe = _SchedulerRecord()
    final = train(spec.config.replace(resume=resume), callbacks=[probe], progress=False)
    return collect_result(spec, {**final, **probe.record}, spec.config.out)


def _worker(spec, resume: bool, conn) -> None:
    """Child process: train, send ``("ok", result)`` or ``("error", traceback text)``."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        msg = ("ok", _train_one(spec, resume))
    except BaseException:  # every failure goes back to the parent as text
        msg = ("error", traceback.format_exc())
    conn.send(msg)
    conn.close()


class _SchedulerRecord:
    """Harness callback: keep what the adaptive schedule decided (D*, switch step)."""

    def __init__(self) -> None:
        self.record: dict = {}

    def on_train_end(self, ctx, results: dict) -> None:
        sched = ctx.scheduler
        self.record = {
            "delta_star": getattr(sched, "delta_star", None),
            "fstar": getattr(sched, "target_loss", None),  # the f* in force (estimated if auto)
            "phase": getattr(sched, "phase", None),
            # the updates at which the loss-rise guard backed the peak off (adaptive arms)
            "backoff_steps": list(getattr(sched, "backoff_steps", ()) or ()),
            "optimizer_class": type(ctx.optimizer).__module__ + "." + type(ctx.optimizer).__name__,
            "optimizer_hparams": _plain(ctx.optimizer.defaults),
        }


def _plain(defaults: dict) -> dict:
    """The optimizer's hyperparameters that are plain JSON values (numbers, strings, tuples)."""
    out = {}
    for key, value in sorted(defaults.items()):
        if isinstance(value, (bool, int, float, str)) or value is None:
            out[key] = value
        elif isinstance(value, (tuple, list)) and all(isinstance(v, (int, float)) for v in value):
            out[key] = list(value)
    return out


def _steps_done(run_dir: Path) -> int:
    """Updates a running run has logged so far (lines of its metrics file; a progress estimate).

    Counts lines without parsing them (this runs while the run is writing): the format belongs to
    :mod:`autowarm.runlog`, whose ``metrics_path`` names the file.
    """
    try:
        with open(metrics_path(run_dir), "rb") as f:
            return sum(1 for _ in f)
    except OSError:
        return 0


@contextlib.contextmanager
def _sigint_ignored():
    """Ignore SIGINT inside the block (main thread only; elsewhere signals cannot be set)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    old = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, old)


class _SigintGate:
    """:func:`run_all`'s SIGINT handler: a Ctrl-C while a worker starts is held, never lost.

    A worker must not see the Ctrl-C meant for the parent, so it starts with SIGINT blocked (the
    signal mask of the starting thread survives fork and exec; :func:`_worker` then ignores it).
    The parent's handler is this gate's for the whole benchmark. Python runs signal handlers in
    the main thread, whichever thread the kernel gave the signal to (torch's threads do not
    block it), so the handler itself can tell whether a start is under way: during one it only
    records the signal, which :meth:`deliver_held` acts on once the new worker is in the running
    list; at any other time it acts at once. Acting means calling the handler that was installed
    before (``KeyboardInterrupt`` for Python's default). A signal ignored when the gate opens
    (``cmd &``) stays ignored and the workers inherit that; off the main thread, where handlers
    cannot be set, the gate does nothing.
    """

    def __init__(self) -> None:
        self._active = False
        self._old = None
        self._starting = False
        self._held = False

    def __enter__(self) -> _SigintGate:
        self._active = (
            threading.current_thread() is threading.main_thread()
            and hasattr(signal, "pthread_sigmask")
            and signal.getsignal(signal.SIGINT) is not signal.SIG_IGN
        )
        if self._active:
            self._old = signal.signal(signal.SIGINT, self._on_sigint)
        return self

    def __exit__(self, *exc) -> None:
        if self._active:
            signal.signal(signal.SIGINT, self._old)
            self._active = False

    def _on_sigint(self, signum, frame) -> None:
        if self._starting:
            self._held = True
            return
        self._act(signum, frame)

    def _act(self, signum, frame) -> None:
        if callable(self._old):
            self._old(signum, frame)
        else:  # SIG_DFL or a handler not set from Python: Python's own reaction to a Ctrl-C
            raise KeyboardInterrupt

    @contextlib.contextmanager
    def starting(self):
        """Start a worker (and list it) inside: SIGINT blocked for it, a Ctrl-C meanwhile held."""
        if not self._active:
            yield
            return
        self._starting = True
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
        try:
            yield
        finally:
            signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})  # a pending one is held
            self._starting = False

    def deliver_held(self) -> None:
        """Act on a Ctrl-C held during a start (raises ``KeyboardInterrupt`` for the default)."""
        if self._held:
            self._held = False
            self._act(signal.SIGINT, None)


class _Slot:
    """One running worker: its spec, process and the read end of its pipe."""

    def __init__(self, ctx, spec, resume: bool) -> None:
        self.spec = spec
        self.conn, child = ctx.Pipe(duplex=False)
        self.proc = ctx.Process(target=_worker, args=(spec, resume, child), daemon=True)
        try:
            self.proc.start()  # inside _SigintGate.starting(): the worker inherits SIGINT blocked
        finally:
            child.close()

    def message(self) -> tuple[str, object] | None:
        """The worker's message once it has sent one or died (``None`` while it runs)."""
        if not self.conn.poll():
            if self.proc.is_alive():
                return None
            if not self.conn.poll():  # it may have sent just before exiting
                return self._died()
        try:
            msg = self.conn.recv()
        except EOFError:
            return self._died()
        self.proc.join(30)
        return msg

    def _died(self) -> tuple[str, str]:
        self.proc.join()
        return ("error", f"the worker process exited with code {self.proc.exitcode}\n")

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.join(10)
        if self.proc.is_alive():
            self.proc.kill()
            self.proc.join()
        self.conn.close()


def run_all(specs: list, store: ResultStore, *, jobs: int | None = None, progress: bool = True):
    """Train every run of ``specs`` not yet done; return ``(done, failed)`` run-id lists.

    Args:
        specs: :class:`autowarm.bench.sweep.RunSpec` list (the order is the start order).
        store: where results go.
        jobs: parallel processes (default: the number of CPU cores).
        progress: show a progress bar (terminal) or periodic lines over all runs' updates.

    Raises:
        BenchInterrupted: on Ctrl-C, after saving the results that arrived and stopping the
            running workers.
    """
    from autowarm.train.progress import Progress

    if jobs is None:
        jobs = os.cpu_count() or 1
    if isinstance(jobs, bool) or not isinstance(jobs, int) or jobs < 1:
        raise ValueError(f"jobs must be an integer >= 1; got {jobs!r}")
    for s in specs:
        if store.status(s.run_id) == "corrupt":
            dest = store.set_aside(s.run_id)
            print(
                f"[bench] result file of {s.run_id} holds no result; moved it to {dest} and "
                f"training the run again",
                file=sys.stderr,
                flush=True,
            )
    status = {s.run_id: store.status(s.run_id) for s in specs}
    todo = [s for s in specs if status[s.run_id] != "done"]
    done_ids = [s.run_id for s in specs if status[s.run_id] == "done"]
    failed: list[str] = []
    finished_steps = sum(s.config.steps for s in specs if status[s.run_id] == "done")
    bar = Progress(
        sum(s.config.steps for s in specs), start=finished_steps, enabled=progress, label="bench"
    )
    if progress and done_ids:
        print(f"[bench] {len(done_ids)} of {len(specs)} runs already done; {len(todo)} to run")
    ctx = mp.get_context("spawn")
    queue = list(reversed(todo))
    running: list[_Slot] = []

    def finish(slot: _Slot, msg: tuple[str, object]) -> None:
        kind, payload = msg
        s = slot.spec
        if kind == "ok":
            store.save(s.run_id, payload)
            done_ids.append(s.run_id)
        else:
            failed.append(s.run_id)
            err = store.root / "errors" / f"{s.run_id}.txt"
            err.parent.mkdir(parents=True, exist_ok=True)
            err.write_text(str(payload))
            print(f"[bench] run {s.run_id} failed; see {err}", file=sys.stderr, flush=True)

    with _SigintGate() as gate:
        try:
            while queue or running:
                while queue and len(running) < jobs:
                    s = queue.pop()
                    with gate.starting():  # until the worker is listed, so the clean-up stops it
                        running.append(_Slot(ctx, s, resume=status[s.run_id] == "partial"))
                    gate.deliver_held()  # a Ctrl-C during that start
                mpc.wait(
                    [x.conn for x in running] + [x.proc.sentinel for x in running], timeout=2.0
                )
                for slot in list(running):
                    msg = slot.message()
                    if msg is not None:
                        running.remove(slot)
                        finish(slot, msg)
                        finished_steps += slot.spec.config.steps
                active = sum(
                    min(_steps_done(Path(x.spec.config.out)), x.spec.config.steps) for x in running
                )
                bar.update(finished_steps + active, runs=f"{len(done_ids)}/{len(specs)}")
        except KeyboardInterrupt:
            with _sigint_ignored():  # a second Ctrl-C must not cut the clean-up short
                stopped = []
                for slot in running:
                    msg = slot.message() if slot.conn.poll() else None
                    if msg is not None:
                        finish(slot, msg)  # it finished just now: keep its result
                    else:
                        slot.stop()
                        stopped.append(slot.spec.run_id)
                bar.close()
            raise BenchInterrupted(len(done_ids), stopped, len(queue)) from None
    bar.close()
    return done_ids, failed
