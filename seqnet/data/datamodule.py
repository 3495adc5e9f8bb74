"""`SequenceDataModule`: turns any source's splits into tensors, a `DataSpec` and DataLoaders."""

from __future__ import annotations

import inspect
import logging
from functools import partial
from typing import Any

import lightning as L
import numpy as np
import torch
from torch.utils.data import DataLoader

from seqnet.data.batch import Item, SeqBatch, collate_sequences
from seqnet.data.loader import ResumableDataLoader
from seqnet.data.sampler import BucketBatchSampler, random_batch_padding
from seqnet.data.sources.arrays import ArraySource, TextSource
from seqnet.data.sources.base import SequenceExample, SequenceSource
from seqnet.data.spec import DataSpec
from seqnet.data.splits import hold_out
from seqnet.data.streams import StreamBatchSampler, StreamWindows, continuing_windows
from seqnet.data.targets import TargetEncoder, build_spec, target_pad_value
from seqnet.errors import InputError

log = logging.getLogger(__name__)

# "auto" bucketing turns on at this share of padding in random batches (below it, equal-length data
# and mildly varying lengths keep plain batches), and only for at least this many training batches
# per epoch: a smaller set sorts into nearly the same batches every epoch, and where length goes
# with the class those batches are biased (JapaneseVowels: val loss 0.65 against 0.51 after 60
# steps; names, 236 batches: 0.429 against 0.426, tests/data/test_bucketing_training.py)
AUTO_BUCKET_PADDING = 0.2
AUTO_BUCKET_MIN_BATCHES = 50


class SequenceDataModule(L.LightningDataModule):
    """Batches of padded variable-length sequences from a `SequenceSource`.

    Splits: the source's official train/test (and val, when it has one); otherwise validation is
    carved from train with `split_seed` (stratified by class for classification), so every run and
    `seqnet-eval` see the same split. Scaling statistics come from the training part only and travel
    in `spec`, so the task normalises raw inputs itself and a checkpoint predicts on raw data.

    Args:
        source: where the examples come from (see `seqnet.data.sources`).
        batch_size: training batch size; `eval_batch_size` (default: the same) for val/test.
        val_fraction: share of train held out for validation when the source has no val split;
            0 holds nothing out: validation then reads the training split itself (in eval mode,
            without augmentation), so the best checkpoint is the one with the lowest training loss,
            as in the UCR deep-learning baselines (Wang et al. 2017) for sets of a few dozen series.
        split_seed: seed of that hold-out.
        max_length: truncate longer sequences to this many steps (a count is logged); None keeps all.
        bucket: group sequences of similar length into batches (`BucketBatchSampler`, pools of
            `bucket_pool_factor` batches); less padding, so less wasted compute. "auto" (the
            default) buckets when random training batches would be at least `AUTO_BUCKET_PADDING`
            padding and an epoch has at least `AUTO_BUCKET_MIN_BATCHES` batches; True or False
            decide for every data set.
        num_workers / pin_memory: passed to the DataLoaders.
        stateful: lay each split's consecutive windows (a corpus) out as `batch_size` parallel
            streams, row i of each batch continuing row i of the previous one
            (`seqnet.data.streams`), so a task carries its state from batch to batch, in
            training, validation and test; batches come in stream order, unbucketed. Without a
            validation split, the last `val_fraction` of the training windows validate.
    """

    def __init__(
        self,
        source: SequenceSource,
        batch_size: int = 32,
        eval_batch_size: int | None = None,
        val_fraction: float = 0.2,
        split_seed: int = 0,
        max_length: int | None = None,
        bucket: bool | str = "auto",
        bucket_pool_factor: int = 50,
        num_workers: int = 0,
        pin_memory: bool = False,
        stateful: bool = False,
    ) -> None:
        super().__init__()
        if batch_size < 1:
            raise InputError(f"batch_size must be at least 1, got {batch_size}")
        if not 0.0 <= val_fraction < 1.0:
            raise InputError(f"val_fraction must be in [0, 1), got {val_fraction}")
        if bucket not in (True, False, "auto"):
            raise InputError(f"bucket must be true, false or auto, got {bucket!r}")
        if max_length is not None and max_length < 1:
            raise InputError(f"max_length must be at least 1 or null, got {max_length}")
        if stateful and bucket is True:
            raise InputError(
                "stateful streams keep each batch row on one stream, in order; bucketing would regroup "
                "the windows by length: set data.bucket=auto or false"
            )
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
        self.stateful = stateful
        self.spec: DataSpec | None = None
        self.datasets: dict[str, list[Item]] = {}
        self.continues: dict[str, list[bool]] = {}  # per split: whether each example continues the last

    @classmethod
    def from_arrays(cls, x: Any, y: Any, **options: Any) -> SequenceDataModule:
        """Sequences already in memory: `x` (N, T, F) or a list of (T_i, F) arrays (numpy, torch or
        lists), `y` one class (int or str) or value (float) per sequence, or one tag or value per
        step. `options`: `ArraySource`'s (lengths, x_test, y_test, test_fraction, seed, name) and
        this class's (batch_size, val_fraction, bucket, ...); without `x_test`, a seeded fifth tests."""
        return cls._from_source(ArraySource, (x, y), options)

    @classmethod
    def from_texts(cls, texts: Any, labels: Any, **options: Any) -> SequenceDataModule:
        """Texts with one label each (classification), or token lists with one tag per token
        (tagging); the vocabulary comes from the training texts. `options`: `TextSource`'s
        (test_texts, test_labels, tokenizer, lowercase, ...) and this class's."""
        return cls._from_source(TextSource, (texts, labels), options)

    @classmethod
    def _from_source(cls, source_class: type, data: tuple, options: dict[str, Any]) -> SequenceDataModule:
        ours = inspect.signature(cls.__init__).parameters
        source = source_class(*data, **{k: v for k, v in options.items() if k not in ours})
        return cls(source, **{k: v for k, v in options.items() if k in ours})

    def setup(self, stage: str | None = None) -> None:
        """Load, split and encode once; later calls (fit, then test) reuse the result."""
        if self.datasets:
            return
        splits = self.source.load()
        train, val = splits.train, splits.val
        if val is None and self.val_fraction == 0:
            log.info(
                "%s: val_fraction=0, so every training example trains and validation reads the "
                "training split (checkpoints and early stopping follow the training loss)",
                splits.name,
            )
            val = train
        elif val is None and self.stateful:  # the stream's last windows: held out in one piece
            cut = len(train) - max(1, round(self.val_fraction * len(train)))
            train, val = train[:cut], train[cut:]
        elif val is None:
            train, val = hold_out(train, self.val_fraction, self.split_seed, splits.target_kind)
        parts = {"train": train, "val": val, "test": splits.test}
        for name, examples in parts.items():
            if not examples:
                raise InputError(f"the {name} split of {splits.name} is empty")
        self.spec = build_spec(splits, train)
        self.datasets = {name: self._encode(examples, name, splits.name) for name, examples in parts.items()}
        if self.stateful:
            self.bucket = False
            self.continues = {
                name: self._continuation(examples, name, splits.name) for name, examples in parts.items()
            }
        if self.bucket == "auto":
            self.bucket = self._auto_bucket(splits.name)

    def _continuation(self, examples: list[SequenceExample], split: str, name: str) -> list[bool]:
        """Whether each encoded example is the window right after the one before it (stateful)."""
        windows = [example.window for example in examples if len(example.values)]
        if not any(window is not None for window in windows):
            raise InputError(
                f"data.stateful=true carries state from window to window of a longer sequence, but the "
                f"{split} split of {name} holds whole sequences; use a corpus (data=shakespeare, "
                "data=text_corpus) or set data.stateful=false"
            )
        return [
            window is not None and before is not None and window == (before[0], before[1] + 1)
            for before, window in zip([None, *windows[:-1]], windows, strict=True)
        ]

    def _auto_bucket(self, name: str) -> bool:
        train = self.datasets["train"]
        padding = random_batch_padding([len(x) for x, *_ in train], self.batch_size)
        batches = -(-len(train) // self.batch_size)
        bucket = padding >= AUTO_BUCKET_PADDING and batches >= AUTO_BUCKET_MIN_BATCHES
        log.info(
            "%s: random batches would be %.0f%% padding over %d batches an epoch, so bucket=%s (bucket=auto)",
            name,
            100 * padding,
            batches,
            bucket,
        )
        return bool(bucket)

    def _encode(self, examples: list[SequenceExample], split: str, name: str) -> list[Item]:
        assert self.spec is not None
        encoder = TargetEncoder(self.spec, f"{name} {split}")
        encoded: list[Item] = []
        empty = truncated = 0
        for index, example in enumerate(examples):
            values, target = example.values, example.target
            if len(values) == 0:
                empty += 1
                continue
            if self.spec.aligned and len(target) != len(values):
                raise InputError(
                    f"{name} {split} example {index} has {len(values)} input steps but "
                    f"{len(target)} targets; aligned targets need one per step"
                )
            if self.max_length and len(values) > self.max_length:
                values = values[: self.max_length]
                if self.spec.aligned:
                    target = target[: self.max_length]
                truncated += 1
            try:
                item = (
                    encoder.target(target, index),
                    encoder.condition(example.condition, index),
                    encoder.future(example.future, index),
                )
            except InputError as error:
                if example.origin is None:
                    raise
                raise InputError(f"{example.origin}: {error}") from None
            encoded.append((torch.from_numpy(np.ascontiguousarray(values)), *item))
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

    def _loader(self, split: str, shuffle: bool) -> DataLoader:
        """Batches come from `BucketBatchSampler`, which also shards them under DDP (training like
        DistributedSampler, evaluation with every example exactly once); the Trainer therefore runs
        with `use_distributed_sampler=False` (set in configs/trainer/default.yaml).

        The training loader is a `ResumableDataLoader` (a resumed run continues mid-epoch with
        the same batches). Every loader draws its worker seeds from its own generator, not from
        torch's global one, so iterating never shifts the random numbers dropout uses and a
        resumed run's draws match the uninterrupted run's."""
        if not self.datasets:
            raise RuntimeError("call setup() before asking for DataLoaders")
        dataset: Any = self.datasets[split]
        trainer = self.trainer
        seed = torch.initial_seed() % 2**32
        batch_size = self.batch_size if split == "train" else self.eval_batch_size
        replicas = {
            "num_replicas": trainer.world_size if trainer else 1,
            "rank": trainer.global_rank if trainer else 0,
        }
        processes = replicas["num_replicas"]
        if split != "train" and 0 < len(dataset) < processes:  # Lightning refuses a rank with none
            raise InputError(
                f"the {split} split has {len(dataset)} sequences, fewer than the {processes} processes "
                "that evaluate it, each of which needs one; run fewer processes (trainer.devices) or give "
                "the split more sequences (a larger data.val_fraction, a longer series, a shorter window)"
            )
        collate: Any = self._collate()
        if self.stateful:
            sampler: Any = StreamBatchSampler(
                len(dataset), batch_size, split_rows=split != "train", **replicas
            )
            dataset, collate = (
                StreamWindows(dataset, self.continues[split], sampler.run_length),
                continuing_windows(collate),
            )
        else:
            sampler = BucketBatchSampler(
                [len(x) for x, *_ in dataset],
                batch_size=batch_size,
                shuffle=shuffle,
                pool_factor=self.bucket_pool_factor if self.bucket else None,
                seed=seed,
                **replicas,
            )
        return (ResumableDataLoader if split == "train" else DataLoader)(
            dataset,
            batch_sampler=sampler,
            collate_fn=collate,
            num_workers=self.num_workers,
            pin_memory=self.pin_memory,
            persistent_workers=self.num_workers > 0,
            generator=torch.Generator().manual_seed(seed),
        )

    def train_dataloader(self) -> DataLoader:
        return self._loader("train", shuffle=True)

    def val_dataloader(self) -> DataLoader:
        return self._loader("val", shuffle=False)

    def test_dataloader(self) -> DataLoader:
        return self._loader("test", shuffle=False)

    def predict_dataloader(self) -> DataLoader:
        """The test split in its original order (predictions line up with the source).

        A plain DataLoader: Lightning rebuilds the batch sampler of a prediction loader to record
        batch indices, which a standard `BatchSampler` supports.
        """
        if not self.datasets:
            raise RuntimeError("call setup() before asking for DataLoaders")
        return DataLoader(
            self.datasets["test"],
            batch_size=self.eval_batch_size,
            shuffle=False,
            collate_fn=self._collate(),
            num_workers=self.num_workers,
            pin_memory=self.pin_memory,
        )

    def transfer_batch_to_device(self, batch: Any, device: torch.device, dataloader_idx: int) -> Any:
        """A `SeqBatch` moves itself (lengths stay on the CPU) without Lightning's collection walk."""
        if isinstance(batch, SeqBatch):
            return batch.to(device, non_blocking=device.type == "cuda")
        return super().transfer_batch_to_device(batch, device, dataloader_idx)

    def _collate(self) -> partial:
        return partial(
            collate_sequences, pad_value=self.spec.pad_id, target_pad_value=target_pad_value(self.spec)
        )
