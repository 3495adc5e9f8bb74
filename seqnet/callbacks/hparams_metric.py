"""Fill TensorBoard's HPARAMS tab once per run, with `hp_metric` as its metric.

Lightning's TensorBoardLogger writes the hparams summary with `hp_metric = -1` at every stage it
starts (fit, then test), and the late -1 would overwrite the best validation value the task logs.
Configure the logger with `default_hp_metric: false` and let this callback write the summary once,
when fitting starts; the task then logs `hp_metric` (best monitored validation value) every epoch.
"""

from __future__ import annotations

import lightning as L
from lightning.pytorch.loggers import TensorBoardLogger


class HparamsMetric(L.Callback):
    """Write the settings a user compares with an `hp_metric` placeholder to TensorBoard loggers.

    The settings are the task's `hparams_summary()` (cell, sizes, layers, directions, optimizer,
    learning rate, data set, ...; never vocabularies or the data spec) plus the batch size.
    """

    def on_fit_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        summary = getattr(pl_module, "hparams_summary", None)
        hparams = dict(summary()) if summary else dict(pl_module.hparams_initial)
        batch_size = getattr(trainer.datamodule, "batch_size", None)
        if batch_size is not None:
            hparams["batch_size"] = batch_size
        for logger in trainer.loggers:
            if isinstance(logger, TensorBoardLogger):
                logger.log_hyperparams(hparams, metrics={"hp_metric": float("nan")})
