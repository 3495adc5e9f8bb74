"""Synthetic benchmarks for long-range memory and gradient flow, parameterised by sequence length."""

from __future__ import annotations

import numpy as np

from seqnet.data.sources.base import SequenceExample, SequenceSplits


class AddingProblemSource:
    """The adding problem (Hochreiter & Schmidhuber 1997): regression over long sequences.

    Each step holds (value ~ U(0, 1), marker); exactly two markers are 1, one in each half of the
    sequence, and the target is the sum of the two marked values. Predicting the mean (1.0) gives
    MSE ~= 1/6 ~= 0.167; a model that solves it gets close to 0.
    """

    def __init__(
        self,
        length: int = 50,
        num_train: int = 5000,
        num_val: int = 1000,
        num_test: int = 1000,
        seed: int = 0,
    ) -> None:
        if length < 2:
            raise ValueError(f"the adding problem needs length >= 2, got {length}")
        self.length = length
        self.sizes = {"train": num_train, "val": num_val, "test": num_test}
        self.seed = seed

    def load(self) -> SequenceSplits:
        rng = np.random.default_rng(self.seed)
        splits = {name: self._make(rng, size) for name, size in self.sizes.items()}
        return SequenceSplits(
            name=f"adding_{self.length}",
            train=splits["train"],
            val=splits["val"],
            test=splits["test"],
            target_kind="values",
        )

    def _make(self, rng: np.random.Generator, size: int) -> list[SequenceExample]:
        half = self.length // 2
        values = rng.uniform(0.0, 1.0, size=(size, self.length)).astype(np.float32)
        first = rng.integers(0, half, size=size)
        second = rng.integers(half, self.length, size=size)
        markers = np.zeros_like(values)
        rows = np.arange(size)
        markers[rows, first] = 1.0
        markers[rows, second] = 1.0
        targets = values[rows, first] + values[rows, second]
        series = np.stack([values, markers], axis=-1)  # (N, T, 2)
        return [SequenceExample(values=s, target=float(t)) for s, t in zip(series, targets, strict=True)]
