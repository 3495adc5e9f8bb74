"""A callback that slows training down, so a test can kill a run between two checkpoints."""

import time

import lightning as L


class SlowSteps(L.Callback):
    def __init__(self, seconds: float = 0.2) -> None:
        self.seconds = seconds

    def on_train_batch_end(self, *args: object) -> None:
        time.sleep(self.seconds)
