"""`SequenceDataModule`: turns any source's splits into tensors, a `DataSpec` and DataLoaders."""

from __future__ import annotations

import logging
from dataclasses import replace
from functools import partial

import lightning as L
import numpy as np
import torch
from torch import Tensor
from torch.utils.data import DataLoader

from seqnet.data.batch import collate_sequences
from seqnet.data.sampler import BucketBatchSampler
from seqnet.data.sources.base import SequenceExample, SequenceSource, SequenceSplits
from seqnet.data.spec import DataSpec
from seqnet.data.splits import hold_out

log = logging.getLogger(__name__)

Encoded = list[tuple[Tensor, Tensor]]


class SequenceDataModule(L.LightningDataModule):
    """Batches of padded variable-length sequences from a `SequenceSource`.

    Splits: the source's official train/test (and val, when it has one); otherwise validation is
    carved from train with `split_seed` (stratified by class for classification), so every run and
    `seqnet-eval` see the same split. Scaling statistics come from the training part only and travel
    in `spec`, so the task normalises raw inputs itself and a checkpoint predicts on raw data.

    Args:
        source: where the examples come from (see `seqnet.data.sources`).
        batch_size: training batch size; `eval_batch_size` (default: the same) for val/test.
        val_fraction: share of train held out for validation when the source has no val split.
        split_seed: seed of that hold-out.
        max_length: truncate longer sequences to this many steps (a count is logged); None keeps all.
        bucket: group sequences of similar length into batches (`BucketBatchSampler`, pools of
            `bucket_pool_factor` batches); less padding, so less wasted compute on long data.
        num_workers / pin_memory: passed to the DataLoaders.
    """

    def __init__(
        self,
        source: SequenceSource,
        batch_size: int = 32,
        eval_batch_size: int | None = None,
        val_fraction: float = 0.2,
        split_seed: int = 0,
        max_length: int | None = None,
        bucket: bool = False,
        bucket_pool_factor: int = 50,
        num_workers: int = 0,
        pin_memory: bool = False,
    ) -> None:
        super().__init__()
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, got {batch_size}")
        if not 0.0 < val_fraction < 1.0:
            raise ValueError(f"val_fraction must be in (0, 1), got {val_fraction}")
        if max_length is not None and max_length < 1:
            raise ValueError(f"max_length must be at least 1 or null, got {max_length}")
        self.source = source
        self.batch_size = batch_size
        self.eval_batch_size = eval_batch_size or batch_size
        self.val_fraction = val_fraction
        self.split_seed = split_seed
        self.max_length = max_length
        self.bucket = bucket
        self.bucket_pool_factor = bucket_pool_factor
        self.num_workers = num_workers
        self.pin_memory = pin_memory
        self.spec: DataSpec | None = None
        self.datasets: dict[str, Encoded] = {}

    def setup(self, stage: str | None = None) -> None:
        """Load, split and encode once; later calls (fit, then test) reuse the result."""
        if self.datasets:
            return
        splits = self.source.load()
        train, val = splits.train, splits.val
        if val is None:
            train, val = hold_out(train, self.val_fraction, self.split_seed, splits.target_kind)
        parts = {"train": train, "val": val, "test": splits.test}
        for name, examples in parts.items():
            if not examples:
                raise ValueError(f"the {name} split of {splits.name} is empty")
        self.spec = build_spec(splits, train)
        self.datasets = {name: self._encode(examples, name, splits.name) for name, examples in parts.items()}

    def _encode(self, examples: list[SequenceExample], split: str, name: str) -> Encoded:
        assert self.spec is not None
        classes = {c: i for i, c in enumerate(self.spec.class_names)}
        encoded: Encoded = []
        empty = truncated = 0
        for index, example in enumerate(examples):
            values = example.values
            if len(values) == 0:
                empty += 1
                continue
            if self.max_length and len(values) > self.max_length:
                values = values[: self.max_length]
                truncated += 1
            if self.spec.target_kind == "classes":
                if example.target not in classes:
                    raise ValueError(
                        f"{name} {split} example {index} has label {example.target!r}, which the "
                        f"training split does not contain (classes: {self.spec.class_names})"
                    )
                target = torch.tensor(classes[example.target], dtype=torch.int64)
            else:
                target = torch.as_tensor(np.atleast_1d(example.target), dtype=torch.float32)
            encoded.append((torch.from_numpy(np.ascontiguousarray(values)), target))
        if empty:
            log.warning("%s %s: skipped %d empty sequences", name, split, empty)
        if truncated:
            log.warning(
                "%s %s: truncated %d sequences to max_length=%d",
                name,
                split,
                truncated,
                self.max_length,
            )
        return encoded

    def _loader(self, split: str, shuffle: bool, group_lengths: bool) -> DataLoader:
        """Batches come from `BucketBatchSampler`, which also shards them under DDP (training like
        DistributedSampler, evaluation with every example exactly once); the Trainer therefore runs
        with `use_distributed_sampler=False` (set in configs/trainer/default.yaml)."""
        if not self.datasets:
            raise RuntimeError("call setup() before asking for DataLoaders")
        dataset = self.datasets[split]
        trainer = self.trainer
        sampler = BucketBatchSampler(
            [len(x) for x, _ in dataset],
            batch_size=self.batch_size if split == "train" else self.eval_batch_size,
            shuffle=shuffle,
            pool_factor=self.bucket_pool_factor if self.bucket and group_lengths else None,
            num_replicas=trainer.world_size if trainer else 1,
            rank=trainer.global_rank if trainer else 0,
            seed=torch.initial_seed() % 2**32,
        )
        return DataLoader(
            dataset,
            batch_sampler=sampler,
            collate_fn=partial(collate_sequences, pad_value=self.spec.pad_id),
            num_workers=self.num_workers,
            pin_memory=self.pin_memory,
            persistent_workers=self.num_workers > 0,
        )

    def train_dataloader(self) -> DataLoader:
        return self._loader("train", shuffle=True, group_lengths=True)

    def val_dataloader(self) -> DataLoader:
        return self._loader("val", shuffle=False, group_lengths=True)

    def test_dataloader(self) -> DataLoader:
        return self._loader("test", shuffle=False, group_lengths=True)

    def predict_dataloader(self) -> DataLoader:
        """The test split in its original order (predictions line up with the source)."""
        return self._loader("test", shuffle=False, group_lengths=False)


def build_spec(splits: SequenceSplits, train: list[SequenceExample]) -> DataSpec:
    """Sizes and training-split statistics that a task needs (see `DataSpec`)."""
    if splits.input_kind == "tokens":
        if not splits.vocab:
            raise ValueError(f"{splits.name}: a token source must provide its vocabulary")
        spec = DataSpec(
            input_kind="tokens",
            input_size=len(splits.vocab),
            target_kind="values",
            vocab=list(splits.vocab),
            pad_id=splits.pad_id,
            name=splits.name,
        )
    else:
        values = np.concatenate(
            [e.values.reshape(len(e.values), -1) for e in train if len(e.values)]
        )  # (sum T, F)
        spec = DataSpec(
            input_kind=splits.input_kind,
            input_size=values.shape[1],
            target_kind="values",
            feature_mean=values.mean(0).astype(np.float64).tolist(),
            feature_std=_safe_std(values).tolist(),
            name=splits.name,
        )
    if splits.target_kind == "classes":
        seen = sorted({str(e.target) for e in train})
        names = list(splits.class_names) if splits.class_names else seen
        unknown = sorted(set(seen) - set(names))
        if unknown:
            raise ValueError(
                f"{splits.name}: training labels {unknown} are not among the declared classes {names}"
            )
        return replace(spec, target_kind="classes", num_classes=len(names), class_names=names)
    targets = np.stack([np.atleast_1d(e.target) for e in train]).astype(np.float64)  # (N, K)
    return replace(
        spec,
        output_size=targets.shape[1],
        target_mean=targets.mean(0).tolist(),
        target_std=_safe_std(targets).tolist(),
    )


def _safe_std(values: np.ndarray) -> np.ndarray:
    std = values.astype(np.float64).std(0)
    return np.where(std > 1e-8, std, 1.0)
