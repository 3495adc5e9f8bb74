"""Truncated backpropagation through time: a batch cut along time into chunks, one optimizer step
per chunk, the recurrent state carried from chunk to chunk and detached at each boundary.

Lightning 2 dropped its `truncated_bptt_steps`; `SequenceModule` runs this under manual
optimization when a task is built with `tbptt_steps`, honouring what the automatic path does: the
task's gradient clipping, mixed precision (`manual_backward` and Lightning's optimizer wrapper),
and the schedulers' interval and frequency (`step_schedulers`, which mirrors Lightning's own
loop: manual optimization leaves schedulers to the module).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from typing import Any

import lightning as L
import torch

from seqnet.data import SeqBatch
from seqnet.errors import InputError


def chunk_sizes(total: int, steps: int, jitter: float = 0.0) -> list[int]:
    """Lengths of the chunks that cover `total` steps: `steps` each (the last shorter), or, with
    `jitter`, each drawn from a normal around `steps` with standard deviation `jitter * steps`
    (at least one step; torch's global generator, so a seed and a resumed run repeat them)."""
    sizes, covered = [], 0
    while covered < total:
        size = steps if not jitter else max(1, round(float(torch.normal(float(steps), jitter * steps, (1,)))))
        sizes.append(min(size, total - covered))
        covered += sizes[-1]
    return sizes


@contextmanager
def scaled_learning_rate(optimizer: Any, scale: float) -> Iterator[None]:
    """Every parameter group's learning rate times `scale` inside the block (a jittered chunk's
    step: a longer chunk, a larger step), restored after it."""
    rates = [group["lr"] for group in optimizer.param_groups]
    for group in optimizer.param_groups:
        group["lr"] *= scale
    try:
        yield
    finally:
        for group, rate in zip(optimizer.param_groups, rates, strict=True):
            group["lr"] = rate


def time_chunks(batch: SeqBatch, sizes: list[int]) -> list[SeqBatch]:
    """An aligned batch (one target per input step) cut along time into chunks of `sizes` steps
    (`chunk_sizes`): each holds its steps of inputs and targets, with each row's lengths within
    it. A row that ended in an earlier chunk reads one padding step there (the encoder takes no
    empty rows) with no valid target, so it adds nothing to the loss."""
    if batch.target_lengths is None or batch.targets.shape[1] != batch.inputs.shape[1]:
        raise ValueError("truncated BPTT cuts batches with one target per input step")
    chunks, start = [], 0
    for width in sizes:
        chunks.append(
            replace(
                batch,
                inputs=batch.inputs[:, start : start + width],  # (B, K[, F])
                targets=batch.targets[:, start : start + width],  # (B, K[, C])
                lengths=(batch.lengths - start).clamp(1, width),
                target_lengths=(batch.target_lengths - start).clamp(0, width),
            )
        )
        start += width
    return chunks


def step_schedulers(module: L.LightningModule, interval: str) -> None:
    """Step the schedulers whose `interval` ("step" or "epoch") has come, as Lightning's automatic
    loop does: every `frequency` optimizer steps or epochs, `ReduceLROnPlateau` with its monitored
    value (an error when that value is missing, or a skip where the scheduler says strict=False)."""
    trainer = module.trainer
    count = trainer.global_step if interval == "step" else trainer.current_epoch + 1
    for config in trainer.lr_scheduler_configs:
        if config.interval != interval or count % config.frequency:
            continue
        value: Any = None
        if config.reduce_on_plateau:
            value = trainer.callback_metrics.get(config.monitor)
            if value is None and config.strict:
                raise InputError(
                    f"ReduceLROnPlateau follows {config.monitor!r}, which no epoch has logged yet "
                    f"(logged: {sorted(trainer.callback_metrics)}); set model.monitor to one of them"
                )
            if value is None:
                continue
        module.lr_scheduler_step(config.scheduler, value)
