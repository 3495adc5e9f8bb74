"""`BucketBatchSampler`: batches of similar-length sequences, so little of each batch is padding."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import numpy as np
import torch.distributed as dist
from torch.utils.data import Sampler

from seqnet.errors import InputError


class BucketBatchSampler(Sampler[list[int]]):
    """Yield lists of dataset indices whose sequences have similar lengths.

    Training (`shuffle=True`): every epoch draws a new permutation (seeded by `seed` and the epoch
    that Lightning passes to `set_epoch`), splits it into pools of `batch_size * pool_factor`
    examples, sorts each pool by length (each length scaled by a random factor within
    1 +- `length_noise`, so that a small data set, one pool, still mixes its batches from epoch to
    epoch), cuts it into batches and shuffles the batch order. Evaluation sorts by exact length.

    Distributed (`num_replicas > 1`; both default to the running process group, if any):

    - training shards the way `torch.utils.data.DistributedSampler` does: the permutation is padded
      by wrap-around to a multiple of `num_replicas` and rank r takes every `num_replicas`-th index
      from r, so every rank runs the same number of batches (a few examples repeat per epoch);
    - evaluation (`shuffle=False`) gives each rank a disjoint contiguous block with no padding, so
      every example is counted exactly once and a DDP validation metric equals the single-process
      one (ranks may then run a different number of batches).

    Args:
        lengths: sequence length of every dataset example.
        batch_size: examples per batch; `drop_last` drops each rank's last short batch.
        pool_factor: pool size in batches; larger pools pad less but shuffle less. None turns
            length grouping off: plain (distributed) batches in permutation or dataset order.
        length_noise: relative noise on the training sort key (AllenNLP's `padding_noise`).
    """

    def __init__(
        self,
        lengths: Sequence[int],
        batch_size: int,
        shuffle: bool = True,
        drop_last: bool = False,
        pool_factor: int | None = 50,
        length_noise: float = 0.05,
        num_replicas: int | None = None,
        rank: int | None = None,
        seed: int = 0,
    ) -> None:
        if batch_size < 1:
            raise InputError(f"batch_size must be at least 1, got {batch_size}")
        if pool_factor is not None and pool_factor < 1:
            raise InputError(f"pool_factor must be at least 1, got {pool_factor}")
        distributed = dist.is_available() and dist.is_initialized()
        self.num_replicas = num_replicas or (dist.get_world_size() if distributed else 1)
        self.rank = rank if rank is not None else (dist.get_rank() if distributed else 0)
        if not 0 <= self.rank < self.num_replicas:
            raise InputError(f"rank must be in [0, {self.num_replicas}), got {self.rank}")
        self.lengths = np.asarray(lengths)
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.drop_last = drop_last
        self.pool_factor = pool_factor
        self.length_noise = length_noise
        self.seed = seed
        self.epoch = 0
        self.skip = 0

    def start_at(self, batch: int) -> None:
        """Begin the next iteration at batch `batch` of this epoch's order: a run resumed in the
        middle of an epoch goes on with exactly the batches the uninterrupted run would see."""
        self.skip = batch

    def set_epoch(self, epoch: int) -> None:
        """Called by Lightning at the start of every epoch: a new order each epoch."""
        self.epoch = epoch

    def shard(self) -> np.ndarray:
        """This rank's dataset indices for the current epoch (before bucketing)."""
        total = len(self.lengths)
        if not self.shuffle:
            return np.arange(*self._evaluation_block())
        order = np.random.default_rng([self.seed, self.epoch]).permutation(total)
        per_rank = -(-total // self.num_replicas)  # ceil
        padded = np.resize(order, per_rank * self.num_replicas)  # wrap-around padding
        return padded[self.rank :: self.num_replicas]

    def __iter__(self) -> Iterator[list[int]]:
        indices = self.shard()
        if self.pool_factor is not None and len(indices):
            pool_size = self.batch_size * self.pool_factor if self.shuffle else len(indices)
            keys = self.lengths[indices].astype(float)
            if self.shuffle and self.length_noise:
                noise = np.random.default_rng([self.seed, self.epoch, self.rank, 1])
                keys *= noise.uniform(1 - self.length_noise, 1 + self.length_noise, size=len(keys))
            indices = np.concatenate(
                [
                    indices[i : i + pool_size][np.argsort(keys[i : i + pool_size], kind="stable")]
                    for i in range(0, len(indices), pool_size)
                ]
            )
        batches = [indices[i : i + self.batch_size] for i in range(0, len(indices), self.batch_size)]
        if self.drop_last and batches and len(batches[-1]) < self.batch_size:
            batches.pop()
        if self.shuffle and self.pool_factor is not None:  # sorted pools: shuffle the batch order
            rng = np.random.default_rng([self.seed, self.epoch, self.rank])
            batches = [batches[i] for i in rng.permutation(len(batches))]
        skip, self.skip = self.skip, 0
        return iter([batch.tolist() for batch in batches[skip:]])

    def __len__(self) -> int:
        """Batches this rank yields, computed without drawing the epoch's permutation."""
        if self.shuffle:
            size = -(-len(self.lengths) // self.num_replicas)
        else:
            start, stop = self._evaluation_block()
            size = stop - start
        return size // self.batch_size if self.drop_last else -(-size // self.batch_size)

    def _evaluation_block(self) -> tuple[int, int]:
        """[start, stop) of this rank's contiguous, unpadded evaluation block."""
        bounds = np.linspace(0, len(self.lengths), self.num_replicas + 1).round().astype(int)
        return int(bounds[self.rank]), int(bounds[self.rank + 1])


def random_batch_padding(lengths: Sequence[int], batch_size: int, seed: int = 0) -> float:
    """Share of the steps in randomly drawn batches that would be padding: 1 - sum(lengths) /
    sum(batch size x longest in batch), over one shuffled epoch."""
    shuffled = np.random.default_rng(seed).permutation(np.asarray(lengths))
    padded = sum(
        len(shuffled[i : i + batch_size]) * shuffled[i : i + batch_size].max()
        for i in range(0, len(shuffled), batch_size)
    )
    return 1.0 - float(shuffled.sum()) / padded if padded else 0.0
