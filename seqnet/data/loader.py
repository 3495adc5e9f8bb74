"""`ResumableDataLoader`: a training DataLoader whose place in the epoch goes into checkpoints."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from torch.utils.data import DataLoader

from seqnet.data.sampler import BucketBatchSampler
from seqnet.data.streams import StreamBatchSampler


class ResumableDataLoader(DataLoader):
    """A DataLoader over a `BucketBatchSampler` (or a `StreamBatchSampler`) that Lightning can
    checkpoint mid-epoch.

    Lightning saves `state_dict()` of a training loader that has one (its support for stateful
    loaders) in every checkpoint, and calls `load_state_dict` when a run resumes in the middle of
    an epoch, before it iterates. The state is how many batches of the current epoch the loader has
    handed out, and the sampler's seed. Resumed, the sampler draws the same epoch-seeded order and
    starts after those batches, so the run sees exactly the batches the uninterrupted run would.

    Iteration starts at the first `next()`, not at `iter()`: Lightning sets the sampler's epoch
    after it calls `iter()` on a resumed run, and the order must be that epoch's.
    """

    batch_sampler: BucketBatchSampler | StreamBatchSampler

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not isinstance(self.batch_sampler, BucketBatchSampler | StreamBatchSampler):
            raise TypeError("ResumableDataLoader needs a BucketBatchSampler or StreamBatchSampler")
        self.batches_returned = 0

    def __iter__(self) -> Iterator[Any]:
        self.batches_returned = self.batch_sampler.skip
        for batch in super().__iter__():
            self.batches_returned += 1
            yield batch

    def state_dict(self) -> dict[str, int]:
        return {"batches_returned": self.batches_returned, "seed": self.batch_sampler.seed}

    def load_state_dict(self, state_dict: dict[str, int]) -> None:
        self.batch_sampler.seed = state_dict["seed"]
        done = state_dict["batches_returned"]
        self.batch_sampler.start_at(done if done < len(self) else 0)
