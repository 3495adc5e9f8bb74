"""Store the run's resolved config inside every checkpoint, so evaluation needs only the file."""

from __future__ import annotations

from typing import Any

import lightning as L


class CheckpointConfig(L.Callback):
    """Add `config` (plain dict) under checkpoint["seqnet"]["config"].

    `seqnet-eval` reads the data section from there; the model itself never needs it (its
    hyperparameters are saved by the task).
    """

    def __init__(self, config: dict[str, Any]) -> None:
        self.config = config

    def on_save_checkpoint(
        self, trainer: L.Trainer, pl_module: L.LightningModule, checkpoint: dict[str, Any]
    ) -> None:
        checkpoint.setdefault("seqnet", {})["config"] = self.config
