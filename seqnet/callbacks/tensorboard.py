"""The TensorBoard writers of a run, for callbacks that add text and figures."""

from __future__ import annotations

import lightning as L
from lightning.pytorch.loggers import TensorBoardLogger
from torch.utils.tensorboard import SummaryWriter


def tensorboard_writers(trainer: L.Trainer) -> list[SummaryWriter]:
    """The `SummaryWriter` of every TensorBoard logger of `trainer` (none with logger=False)."""
    return [logger.experiment for logger in trainer.loggers if isinstance(logger, TensorBoardLogger)]
