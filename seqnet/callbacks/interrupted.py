"""Stop a run from outside (Ctrl-C, or SIGTERM from a scheduler) at a point it can continue from
exactly, with a checkpoint of that point."""

from __future__ import annotations

import signal
import sys
import threading
from types import FrameType
from typing import Any

import lightning as L
from lightning.pytorch.callbacks import OnExceptionCheckpoint
from lightning.pytorch.utilities.exceptions import SIGTERMException

SIGNALS = {signal.SIGINT: "Ctrl-C", signal.SIGTERM: "SIGTERM"}


class InterruptedCheckpoint(OnExceptionCheckpoint):
    """Ctrl-C or SIGTERM during `fit` stops the run where it can be continued exactly.

    A signal can arrive anywhere: in an optimizer step, in the middle of validation, between an
    epoch's last batch and its checkpoint. A checkpoint of such a moment does not continue as the
    run would have (Lightning resumes a half-validated epoch without its validation, and early
    stopping then fails for want of its metric). So the first signal only asks to stop, and the run
    stops at the next of two points:

    - after a training step that is not the epoch's last: `<dirpath>/<filename>.ckpt` is written
      there (the state `step.ckpt` holds, which resumes exactly), and the run ends with
      `SIGTERMException` (SIGTERM) or `KeyboardInterrupt` (Ctrl-C), as Lightning's own handling does;
    - at the end of the epoch, when the signal came during its last step or its validation: the
      epoch ends as usual (validation, `last.ckpt`, early stopping) and `fit` returns with
      `requested` set; `seqnet-train` then skips testing and prints how to continue.

    A second Ctrl-C stops at once without a checkpoint (the run continues from its newest one).
    An error in the run (bad data, a NaN loss) writes none either: its weights are not worth
    continuing from, and the checkpoints written before it stay.
    """

    def __init__(self, dirpath: str, filename: str = "interrupted") -> None:
        super().__init__(dirpath=dirpath, filename=filename)
        self.requested: str | None = None  # "Ctrl-C" or "SIGTERM" once a stop was asked for
        self._stopping = False  # True while the exception raised at a safe point travels
        self._previous: dict[int, Any] = {}

    def on_fit_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self.requested, self._stopping = None, False
        if threading.current_thread() is threading.main_thread():
            # a signal the process ignores (a job started with nohup or in the background) stays ignored
            heeded = [number for number in SIGNALS if signal.getsignal(number) is not signal.SIG_IGN]
            self._previous = {number: signal.signal(number, self._ask) for number in heeded}

    def _ask(self, number: int, frame: FrameType | None) -> None:
        if self.requested == "Ctrl-C" and number == signal.SIGINT:
            self._restore()
            raise KeyboardInterrupt  # the second Ctrl-C: at once
        self.requested = SIGNALS[number]
        again = "; press Ctrl-C again to stop at once, with no checkpoint" if number == signal.SIGINT else ""
        print(f"\n{self.requested}: stopping after this step{again}", file=sys.stderr, flush=True)

    def _restore(self) -> None:
        for number, handler in self._previous.items():
            signal.signal(number, handler)
        self._previous = {}

    def _agreed(self, trainer: L.Trainer) -> bool:
        """Whether any process was asked to stop (under DDP every rank must stop at the same step)."""
        if trainer.world_size == 1:
            return self.requested is not None
        return trainer.strategy.reduce_boolean_decision(self.requested is not None, all=False)

    def on_train_batch_end(
        self, trainer: L.Trainer, pl_module: L.LightningModule, outputs: Any, batch: Any, batch_idx: int
    ) -> None:
        if not self._agreed(trainer):
            return
        self.requested = self.requested or "SIGTERM"
        if trainer.fit_loop.epoch_loop.batch_progress.is_last_batch:
            trainer.should_stop = True  # after this epoch's validation and checkpoints
            return
        self._stopping = True
        raise KeyboardInterrupt if self.requested == "Ctrl-C" else SIGTERMException()

    def on_validation_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        # a validation inside the epoch (val_check_interval < 1): the next training step stops
        if trainer.fit_loop.epoch_loop.batch_progress.is_last_batch:
            self.on_train_epoch_end(trainer, pl_module)

    def on_train_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if not trainer.sanity_checking and self._agreed(trainer):
            self.requested = self.requested or "SIGTERM"
            trainer.should_stop = True  # the epoch ends as usual, then fit returns

    def on_fit_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._restore()

    def on_exception(
        self, trainer: L.Trainer, pl_module: L.LightningModule, exception: BaseException
    ) -> None:
        self._restore()
        if self._stopping:
            super().on_exception(trainer, pl_module, exception)
