"""Stateful streams: consecutive windows of a corpus laid out as parallel streams, so that row i of
batch k + 1 continues row i of batch k and a model can carry its state from batch to batch.

The windows of a split (each document cut into consecutive windows, in order) are divided into as
many contiguous runs as a batch has rows (AWD-LSTM's batchify over windows); batch k holds the
k-th window of every run. A window that begins a document does not continue the one before it in
its run: the batch marks it (`SeqBatch.continues` False there), and the task starts that row from
a fresh state. Runs are equally long (the remainder windows are left out); under DDP each process
owns its own runs in training; in evaluation the processes share one layout, each reading its
block of rows, so a DDP metric equals the single-process one.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence

import numpy as np
import torch
from torch.utils.data import Dataset, Sampler

from seqnet.data.batch import Item, SeqBatch
from seqnet.errors import InputError


class StreamBatchSampler(Sampler[list[int]]):
    """Batches of window indices in stream order, one window of each run per batch, the same order
    every epoch.

    Args:
        count: windows in the split.
        batch_size: rows per batch: with `split_rows` False (training), the streams of each
            process, which owns `batch_size` runs of its own; with `split_rows` True (evaluation),
            the streams of all processes together, each taking its block of rows, so that under
            DDP the windows and the context each is read with are those of one process.
        num_replicas / rank: DDP processes, and this one.
    """

    def __init__(
        self, count: int, batch_size: int, num_replicas: int = 1, rank: int = 0, split_rows: bool = False
    ) -> None:
        streams = batch_size if split_rows else batch_size * num_replicas
        if count < streams or (split_rows and batch_size < num_replicas):
            raise InputError(
                f"stateful streams need a window per stream and a stream per process: {count} windows "
                f"cannot make {streams} streams over {num_replicas} processes (batch_size {batch_size}); "
                "lower the batch size or data.source.seq_len"
            )
        self.run_length = count // streams
        if split_rows:
            share = [len(rows) for rows in np.array_split(np.arange(batch_size), num_replicas)]
            self.runs = range(sum(share[:rank]), sum(share[: rank + 1]))
        else:
            self.runs = range(rank * batch_size, (rank + 1) * batch_size)
        self.skip = 0
        self.seed = 0  # the order does not depend on it; kept for `ResumableDataLoader`'s state

    def start_at(self, batch: int) -> None:
        """Begin the next iteration at batch `batch` (a run resumed mid-epoch)."""
        self.skip = batch

    def set_epoch(self, epoch: int) -> None:
        """Called by Lightning every epoch: streams keep one order."""

    def __iter__(self) -> Iterator[list[int]]:
        skip, self.skip = self.skip, 0
        for step in range(skip, self.run_length):
            yield [run * self.run_length + step for run in self.runs]

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
