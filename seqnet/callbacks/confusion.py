"""A confusion-matrix image of the validation split in TensorBoard (classification and tagging)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import lightning as L
import torch
from torchmetrics.classification import MulticlassConfusionMatrix

from seqnet.callbacks.tensorboard import tensorboard_writers
from seqnet.data import IGNORE_INDEX
from seqnet.errors import InputError

if TYPE_CHECKING:
    from matplotlib.figure import Figure


class ConfusionMatrixFigure(L.Callback):
    """Draw the validation confusion matrix (rows: true class, normalised per row) every
    `every_n_epochs` epochs and after the last one (drawing costs ~0.2 s, too much for every epoch
    of a small model).

    Reads the class ids that a task's validation step returns (`StepOutput.preds/targets`) when its
    output has `class_names` (classes and tags); other tasks are left alone. Switch it off with
    `callbacks.confusion_matrix=null`. Matrices over `max_classes` classes are skipped (unreadable).
    """

    def __init__(
        self, max_classes: int = 40, every_n_epochs: int = 10, tag: str = "val/confusion_matrix"
    ) -> None:
        if every_n_epochs < 1:
            raise InputError(f"every_n_epochs must be at least 1, got {every_n_epochs}")
        self.max_classes = max_classes
        self.every_n_epochs = every_n_epochs
        self.tag = tag
        self.matrix: MulticlassConfusionMatrix | None = None
        self.pending: tuple[torch.Tensor, int] | None = None  # the latest matrix not drawn yet

    def _names(self, pl_module: L.LightningModule) -> list[str] | None:
        names = getattr(getattr(pl_module, "output", None), "class_names", None)
        return names if names and len(names) <= self.max_classes else None

    def on_validation_epoch_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        names = self._names(pl_module)
        self.matrix = None
        if names and not trainer.sanity_checking:
            self.matrix = MulticlassConfusionMatrix(len(names), ignore_index=IGNORE_INDEX).to(
                pl_module.device
            )

    def on_validation_batch_end(
        self,
        trainer: L.Trainer,
        pl_module: L.LightningModule,
        outputs: Any,
        batch: Any,
        batch_idx: int,
        dataloader_idx: int = 0,
    ) -> None:
        if self.matrix is not None and outputs is not None:
            self.matrix.update(outputs.preds, outputs.targets)

    def on_validation_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if self.matrix is None:
            return
        self.pending = (self.matrix.compute().cpu(), trainer.global_step)  # (C, C), synced across ranks
        if trainer.current_epoch % self.every_n_epochs == 0:
            self._draw(trainer, pl_module)

    def on_fit_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._draw(trainer, pl_module)

    def _draw(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        writers = tensorboard_writers(trainer)
        if self.pending is None or not writers or not trainer.is_global_zero:
            return
        counts, step = self.pending
        figure = draw_confusion_matrix(counts, self._names(pl_module))
        for writer in writers:
            writer.add_figure(self.tag, figure, global_step=step)
        self.pending = None


def draw_confusion_matrix(counts: torch.Tensor, names: list[str]) -> Figure:
    """counts (C, C), rows = true class -> a figure of row-normalised rates with the class names."""
    from matplotlib.figure import Figure  # imported here: a second of start-up most runs never need

    rates = counts.float() / counts.sum(dim=1, keepdim=True).clamp(min=1)
    size = max(4.0, 0.35 * len(names) + 2)
    figure = Figure(figsize=(size, size))
    axes = figure.add_subplot()
    image = axes.imshow(rates.numpy(), cmap="Blues", vmin=0, vmax=1)
    axes.set_xticks(range(len(names)), names, rotation=90, fontsize=7)
    axes.set_yticks(range(len(names)), names, fontsize=7)
    axes.set_xlabel("predicted")
    axes.set_ylabel("true")
    figure.colorbar(image, ax=axes, fraction=0.046)
    figure.tight_layout()
    return figure
