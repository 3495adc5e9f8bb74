"""Callbacks that stage faults: a run slow enough to be killed between two checkpoints, a GPU
that runs out of memory."""

import os
import signal
import time
from pathlib import Path

import lightning as L
import torch


class SlowSteps(L.Callback):
    def __init__(self, seconds: float = 0.2) -> None:
        self.seconds = seconds

    def on_train_batch_end(self, *args: object) -> None:
        time.sleep(self.seconds)


class OutOfMemory(L.Callback):
    """Fail the first backward pass the way CUDA does when the batch does not fit."""

    def on_before_backward(self, *args: object) -> None:
        raise torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")


class CtrlC(L.Callback):
    """Press Ctrl-C (a real SIGINT to this process) once per run directory, at `hook` (a Lightning
    callback hook) of epoch `epoch` (any while testing), batch `batch` where the hook takes a
    batch; the file `marker` records the press, so the resumed run goes on unpressed."""

    def __init__(self, hook: str, marker: str, epoch: int = 0, batch: int = 0) -> None:
        self.hook, self.marker, self.epoch, self.batch = hook, Path(marker), epoch, batch

    def __getattribute__(self, name: str) -> object:
        if name.startswith("on_") and name == object.__getattribute__(self, "hook"):
            return object.__getattribute__(self, "press")
        return object.__getattribute__(self, name)

    def press(self, trainer: L.Trainer, *args: object) -> None:
        batch_idx = args[-1] if len(args) >= 3 and isinstance(args[-1], int) else 0
        epoch = self.epoch if trainer.testing else trainer.current_epoch
        if not self.marker.exists() and (epoch, batch_idx) == (self.epoch, self.batch):
            self.marker.touch()
            os.kill(os.getpid(), signal.SIGINT)
