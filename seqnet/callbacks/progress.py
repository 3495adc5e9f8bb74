"""Progress for a person at a terminal (a bar), and for a log file (a line per epoch)."""

from __future__ import annotations

import sys
import time
from typing import Any

import lightning as L
from lightning.pytorch.callbacks import ProgressBar, TQDMProgressBar


def progress_bar(refresh_rate: int = 10, every_seconds: float = 60.0) -> ProgressBar:
    """Lightning's bar where standard error is a terminal; elsewhere (output redirected to a file,
    a batch job) `EpochLines`, which writes no carriage-return redraws into the log."""
    if sys.stderr.isatty():
        return TQDMProgressBar(refresh_rate=refresh_rate)
    return EpochLines(every_seconds=every_seconds)


class EpochLines(ProgressBar):
    """One line per epoch with the epoch's logged metrics, and, inside an epoch that runs longer than
    `every_seconds`, a line that often with the step reached:

        epoch 3/60  train/loss 0.412  val/loss 0.380  val/acc 0.951  (1.2 s)
    """

    def __init__(self, every_seconds: float = 60.0) -> None:
        super().__init__()
        self.every_seconds = every_seconds
        self._enabled = True
        self._epoch_start = self._last_line = 0.0
        self._ended: tuple[int, float] | None = None  # (epoch, seconds) of the epoch not yet printed

    def disable(self) -> None:
        self._enabled = False

    def enable(self) -> None:
        self._enabled = True

    def on_train_epoch_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._print_ended(trainer)
        self._epoch_start = self._last_line = time.monotonic()

    def on_train_batch_end(
        self, trainer: L.Trainer, pl_module: L.LightningModule, outputs: Any, batch: Any, batch_idx: int
    ) -> None:
        now = time.monotonic()
        if self._enabled and now - self._last_line >= self.every_seconds:
            self._last_line = now
            steps = (
                f"{batch_idx + 1}/{self.total_train_batches}" if self.total_train_batches else batch_idx + 1
            )
            self._print(f"{self._epoch(trainer)}  step {steps}{self._metrics(trainer, 'train/')}")

    def on_train_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        # The task logs the epoch's training metrics after this hook: the line waits for them.
        self._ended = (trainer.current_epoch, time.monotonic() - self._epoch_start)

    def on_train_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._print_ended(trainer)

    def _print_ended(self, trainer: L.Trainer) -> None:
        if self._ended is not None and self._enabled:
            epoch, seconds = self._ended
            self._print(f"{self._epoch(trainer, epoch)}{self._metrics(trainer, '')}  ({seconds:.1f} s)")
        self._ended = None

    def _epoch(self, trainer: L.Trainer, epoch: int | None = None) -> str:
        last = f"/{trainer.max_epochs}" if trainer.max_epochs and trainer.max_epochs > 0 else ""
        return f"epoch {(trainer.current_epoch if epoch is None else epoch) + 1}{last}"

    def _metrics(self, trainer: L.Trainer, prefix: str) -> str:
        """The logged training and validation scalars whose names start with `prefix`."""
        shown = {
            name: float(value)
            for name, value in trainer.callback_metrics.items()
            if name.startswith(prefix) and name.startswith(("train/", "val/")) and value.numel() == 1
        }
        return "".join(f"  {name} {value:.4g}" for name, value in sorted(shown.items()))

    def _print(self, line: str) -> None:
        print(line, file=sys.stderr, flush=True)
