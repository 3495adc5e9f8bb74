"""Show the run's resolved config as text in TensorBoard."""

from __future__ import annotations

import lightning as L

from seqnet.callbacks.tensorboard import tensorboard_writers


class ConfigText(L.Callback):
    """Write `text` (the resolved YAML config) to the TEXT tab of every TensorBoard logger."""

    def __init__(self, text: str, tag: str = "config") -> None:
        self.text = text
        self.tag = tag

    def on_fit_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        block = "\n".join("    " + line for line in self.text.splitlines())  # markdown code block
        for writer in tensorboard_writers(trainer):
            writer.add_text(self.tag, block, global_step=0)
