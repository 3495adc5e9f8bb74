"""Stateful streams: consecutive windows of a corpus laid out as parallel streams, so that row i of
batch k + 1 continues row i of batch k and a model can carry its state from batch to batch.

The windows of a split (each document cut into consecutive windows, in order) are divided into as
many contiguous runs as a batch has rows (AWD-LSTM's batchify over windows); batch k holds the
k-th window of every run. A window that begins a document does not continue the one before it in
its run: the batch marks it (`SeqBatch.continues` False there), and the task starts that row from
a fresh state. Runs are equally long (the remainder windows are left out); under DDP each process
owns its own runs.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence

import torch
from torch.utils.data import Dataset, Sampler

from seqnet.data.batch import Item, SeqBatch
from seqnet.errors import InputError


class StreamBatchSampler(Sampler[list[int]]):
    """Batches of window indices in stream order: `batch_size` runs per process, one window of
    each per batch, the same order every epoch.

    Args:
        count: windows in the split.
        batch_size: rows per batch: streams per process.
        num_replicas / rank: DDP processes, and this one; each owns `batch_size` runs of its own.
    """

    def __init__(self, count: int, batch_size: int, num_replicas: int = 1, rank: int = 0) -> None:
        streams = batch_size * num_replicas
        if count < streams:
            raise InputError(
                f"stateful streams need a window per stream: {count} windows cannot make "
                f"{streams} streams (batch_size {batch_size} x {num_replicas} processes); lower the "
                "batch size or data.source.seq_len"
            )
        self.batch_size = batch_size
        self.run_length = count // streams
        self.first_run = rank * batch_size
        self.skip = 0
        self.seed = 0  # the order does not depend on it; kept for `ResumableDataLoader`'s state

    def start_at(self, batch: int) -> None:
        """Begin the next iteration at batch `batch` (a run resumed mid-epoch)."""
        self.skip = batch

    def set_epoch(self, epoch: int) -> None:
        """Called by Lightning every epoch: streams keep one order."""

    def __iter__(self) -> Iterator[list[int]]:
        skip, self.skip = self.skip, 0
        runs = range(self.first_run, self.first_run + self.batch_size)
        for step in range(skip, self.run_length):
            yield [run * self.run_length + step for run in runs]

    def __len__(self) -> int:
        return self.run_length


class StreamWindows(Dataset):
    """A split's encoded windows, each with whether it continues the row's previous batch: the
    window before it in its document, and not the first of its run (`run_length` windows each),
    which every epoch starts fresh."""

    def __init__(self, items: Sequence[Item], continues: Sequence[bool], run_length: int) -> None:
        self.items = items
        self.continues = continues
        self.run_length = run_length

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, index: int) -> tuple[Item, bool]:
        return self.items[index], self.continues[index] and index % self.run_length != 0


def continuing_windows(
    collate: Callable[[list[Item]], SeqBatch],
) -> Callable[[list[tuple[Item, bool]]], SeqBatch]:
    """A collate function for `StreamWindows`: `collate` over the windows, and the batch's
    `continues` (B,) bool from their flags."""

    def collate_windows(examples: list[tuple[Item, bool]]) -> SeqBatch:
        batch = collate([item for item, _ in examples])
        batch.continues = torch.tensor([flag for _, flag in examples], dtype=torch.bool)
        return batch

    return collate_windows
