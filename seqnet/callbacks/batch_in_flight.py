"""Which batch a run was on when it failed, so an out-of-memory error can name its size."""

from __future__ import annotations

from typing import Any

import lightning as L

from seqnet.data import SeqBatch


class BatchInFlight(L.Callback):
    """Remember the stage and the (batch size, steps) of the batch being processed.

    `seqnet-train` turns a CUDA out-of-memory error into one message naming that batch and what
    shrinks it (`describe_out_of_memory`).
    """

    def __init__(self) -> None:
        self.stage: str | None = None
        self.shape: tuple[int, int] | None = None

    def _see(self, stage: str, batch: SeqBatch) -> None:
        self.stage = stage
        self.shape = tuple(batch.inputs.shape[:2])  # (B, T)

    def on_train_batch_start(
        self, trainer: L.Trainer, module: L.LightningModule, batch: Any, *_: Any
    ) -> None:
        self._see("training", batch)

    def on_validation_batch_start(
        self, trainer: L.Trainer, module: L.LightningModule, batch: Any, *_: Any
    ) -> None:
        self._see("validation", batch)

    def on_test_batch_start(self, _: L.Trainer, __: L.LightningModule, batch: Any, *___: Any) -> None:
        self._see("testing", batch)

    def describe_out_of_memory(self, error: BaseException, batch_size: int) -> str:
        """One message for an out-of-memory `error`: the batch, and the settings that shrink it."""
        where = f" during {self.stage}" if self.stage else ""
        if self.shape is not None:
            where += f" on a batch of {self.shape[0]} sequences of {self.shape[1]} steps"
        first_line = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        return (
            f"out of GPU memory{where} ({first_line}); make the batches smaller: data.batch_size "
            f"(now {batch_size}), data.bucket=true (long sequences batched together, less padding), "
            "data.max_length=<steps> (cut longer sequences), or trainer.precision=bf16-mixed"
        )
