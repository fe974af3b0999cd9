"""Progress display for long runs: a rich bar on a terminal, plain log lines otherwise."""

from __future__ import annotations

import sys
import time


class Progress:
    """Show ``step/total`` with a few fields; ``rich`` on a TTY, a line every ``every`` steps else.

    Args:
        total: steps of the run.
        start: the first step (after a resume).
        enabled: False silences it (non-main ranks, tests).
        every: plain mode prints every this many steps (default: about 20 lines per run).
        label: a prefix naming the run.
    """

    def __init__(
        self,
        total: int,
        *,
        start: int = 0,
        enabled: bool = True,
        every: int | None = None,
        label: str = "train",
    ) -> None:
        self.total = total
        self.enabled = enabled
        self.label = label
        self.every = every or max(1, total // 20)
        self._t0 = time.perf_counter()
        self._start = start
        self._printed = start  # the last step a plain line was printed for
        self._bar = None
        self._task = None
        if enabled and sys.stdout.isatty():
            try:
                from rich.progress import (
                    BarColumn,
                    MofNCompleteColumn,
                    TextColumn,
                    TimeRemainingColumn,
                )
                from rich.progress import Progress as RichProgress
            except ImportError:
                return
            self._bar = RichProgress(
                TextColumn("[bold]{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeRemainingColumn(),
                TextColumn("{task.fields[info]}"),
            )
            self._bar.start()
            self._task = self._bar.add_task(label, total=total, completed=start, info="")

    def update(self, step: int, **fields: float | str | None) -> None:
        """Report that ``step`` updates are done, with fields such as loss, lr, tok/s."""
        if not self.enabled:
            return
        info = "  ".join(_fmt(k, v) for k, v in fields.items() if v is not None)
        if self._bar is not None:
            self._bar.update(self._task, completed=step, info=info)
        elif step - self._printed >= self.every or step == self.total or "val_loss" in fields:
            self._printed = step - step % self.every
            elapsed = time.perf_counter() - self._t0
            print(f"[{self.label}] {step}/{self.total}  {info}  ({elapsed:.0f}s)", flush=True)

    def close(self) -> None:
        """Stop the bar."""
        if self._bar is not None:
            self._bar.stop()
            self._bar = None


def _fmt(key: str, value: float | str) -> str:
    if isinstance(value, float):
        return f"{key} {value:.4g}"
    return f"{key} {value}"
