"""Callbacks that stage faults: a run slow enough to be killed between two checkpoints, a GPU
that runs out of memory."""

import time

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
