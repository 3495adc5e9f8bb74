"""`debug=overfit`'s verdict: did the model fit the one batch it trained on?"""

from __future__ import annotations

from typing import Any

import lightning as L
import torch


class OverfitCheck(L.Callback):
    """Record the training loss of the first and the last step and, when fitting ends, print them
    and the verdict: the loss fell to `ratio` of its first value (or below `floor`), or it did not,
    which on one batch means a bug or a model too small for it.

        debug=overfit: training loss 2.2 -> 0.0031 in 200 steps: it overfit the batch
    """

    def __init__(self, ratio: float = 0.05, floor: float = 0.01) -> None:
        self.ratio, self.floor = ratio, floor
        self.first: float | None = None
        self.last: float | None = None
        self.steps = 0

    def on_train_batch_end(
        self, trainer: L.Trainer, pl_module: L.LightningModule, outputs: Any, batch: Any, batch_idx: int
    ) -> None:
        loss = outputs["loss"] if isinstance(outputs, dict) else outputs
        if isinstance(loss, torch.Tensor):
            self.last = float(loss.detach())
            self.first = self.last if self.first is None else self.first
            self.steps += 1

    @property
    def overfit(self) -> bool:
        return self.last is not None and self.last <= max(self.floor, self.ratio * self.first)

    def on_train_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if self.last is None or not trainer.is_global_zero:
            return
        target = max(self.floor, self.ratio * self.first)
        verdict = (
            "it overfit the batch"
            if self.overfit
            else f"it did NOT overfit the batch (the loss should fall below {target:.3g}): a model that "
            "cannot fit one batch has a bug, or too little capacity or learning rate for it"
        )
        losses = f"training loss {self.first:.3g} -> {self.last:.3g} in {self.steps} steps"
        print(f"debug=overfit: {losses}: {verdict}")
