"""A confusion-matrix image of the validation split in TensorBoard (classification and tagging)."""

from __future__ import annotations

from typing import Any

import lightning as L
import torch
from lightning.pytorch.loggers import TensorBoardLogger
from matplotlib.figure import Figure
from torchmetrics.classification import MulticlassConfusionMatrix

from seqnet.data import IGNORE_INDEX


class ConfusionMatrixFigure(L.Callback):
    """After each validation epoch, draw the confusion matrix (rows: true class, normalised per row).

    Reads the class ids that a task's validation step returns (`StepOutput.preds/targets`) when its
    output has `class_names` (classes and tags); other tasks are left alone. Switch it off with
    `callbacks.confusion_matrix=null`. Matrices over `max_classes` classes are skipped (unreadable).
    """

    def __init__(self, max_classes: int = 40, tag: str = "val/confusion_matrix") -> None:
        self.max_classes = max_classes
        self.tag = tag
        self.matrix: MulticlassConfusionMatrix | None = None

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
        loggers = [logger for logger in trainer.loggers if isinstance(logger, TensorBoardLogger)]
        if self.matrix is None or not loggers:
            return
        counts = self.matrix.compute().cpu()  # (C, C), synchronised across processes
        if trainer.is_global_zero:
            figure = draw_confusion_matrix(counts, self._names(pl_module))
            for logger in loggers:
                logger.experiment.add_figure(self.tag, figure, global_step=trainer.global_step)


def draw_confusion_matrix(counts: torch.Tensor, names: list[str]) -> Figure:
    """counts (C, C), rows = true class -> a figure of row-normalised rates with the class names."""
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
