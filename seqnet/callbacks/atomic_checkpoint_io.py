"""Checkpoints written whole or not at all."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import torch
from lightning.fabric.utilities.types import _PATH
from lightning.pytorch.plugins.io import TorchCheckpointIO


class AtomicCheckpointIO(TorchCheckpointIO):
    """Lightning's checkpoint writer, made atomic on local disks: the checkpoint goes to
    `<name>.tmp` beside its target, is flushed to disk, then renamed over the target (a rename
    within one directory is atomic). A process killed while saving leaves the previous `last.ckpt`
    intact and at most a stray `.tmp`, which the next save replaces. (Lightning's own writer stages
    the file in the system's temporary directory and moves it, which on another file system is a
    copy that a kill can cut short.) Remote paths (`s3://...`) keep Lightning's writer."""

    def save_checkpoint(self, checkpoint: dict[str, Any], path: _PATH, storage_options: Any = None) -> None:
        if "://" in str(path) or storage_options is not None:
            super().save_checkpoint(checkpoint, path, storage_options)
            return
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_name(target.name + ".tmp")
        with open(partial, "wb") as file:
            torch.save(checkpoint, file)
            file.flush()
            os.fsync(file.fileno())
        os.replace(partial, target)
