"""A checkpoint every N training steps that a run can always be continued from exactly."""

from __future__ import annotations

from typing import Any

import lightning as L
from lightning.pytorch.callbacks import ModelCheckpoint


class StepCheckpoint(ModelCheckpoint):
    """Lightning's `ModelCheckpoint(every_n_train_steps=N)`, except at an epoch's last training
    batch.

    A checkpoint taken there is written before that epoch's validation. Lightning, continuing from
    it, ends the epoch without validating: early stopping then fails for want of its metric, and
    the run would differ from one never stopped (no validation scores or best checkpoint for that
    epoch). The epoch-end checkpoints (`last.ckpt`, written after validation) hold that step.

    A task that steps its optimizer itself (truncated BPTT: one step per chunk) can step past a
    multiple of N within one batch; the checkpoint is then written after the batch that crossed
    it, with the state after its steps (the state a run continues from).
    """

    _steps_before_batch = 0

    def on_train_batch_start(
        self, trainer: L.Trainer, pl_module: L.LightningModule, batch: Any, batch_idx: int
    ) -> None:
        self._steps_before_batch = trainer.global_step

    def on_train_batch_end(
        self, trainer: L.Trainer, pl_module: L.LightningModule, outputs: Any, batch: Any, batch_idx: int
    ) -> None:
        if trainer.fit_loop.epoch_loop.batch_progress.is_last_batch:
            return
        if pl_module.automatic_optimization:
            super().on_train_batch_end(trainer, pl_module, outputs, batch, batch_idx)
            return
        every = self._every_n_train_steps
        crossed = every >= 1 and trainer.global_step // every > self._steps_before_batch // every
        if crossed and not self._should_skip_saving_checkpoint(trainer):
            candidates = self._monitor_candidates(trainer)
            self._save_topk_checkpoint(trainer, candidates)
            self._save_last_checkpoint(trainer, candidates)
