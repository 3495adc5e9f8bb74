"""A checkpoint when a run is stopped from outside: SIGTERM (a scheduler's preemption) or Ctrl-C."""

from __future__ import annotations

import lightning as L
from lightning.pytorch.callbacks import OnExceptionCheckpoint
from lightning.pytorch.utilities.exceptions import SIGTERMException


class InterruptedCheckpoint(OnExceptionCheckpoint):
    """Lightning's `OnExceptionCheckpoint`, for interruptions only: `<dirpath>/<filename>.ckpt` is
    written when SIGTERM or Ctrl-C stops training, so the run can continue from there
    (`seqnet-train` prints the command). An error in the run (bad data, a NaN loss) writes none:
    its weights are not worth continuing from, and the checkpoints written before it stay."""

    def on_exception(
        self, trainer: L.Trainer, pl_module: L.LightningModule, exception: BaseException
    ) -> None:
        if isinstance(exception, SIGTERMException | KeyboardInterrupt):
            super().on_exception(trainer, pl_module, exception)
