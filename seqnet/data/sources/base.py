"""What a data source hands to a DataModule: examples per split, plus what kind they are."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np


@dataclass
class SequenceExample:
    """One example: values (T, F) float32 features or (T,) int64 token ids, and its target.

    target: a class name (str) for classification, a float or a float array for regression.
    """

    values: np.ndarray
    target: str | float | np.ndarray


@dataclass
class SequenceSplits:
    """A data set's examples by split. `val` is None when the data set has no official one.

    Token sources (`input_kind="tokens"`) give (T,) int64 ids per example and their `vocab`,
    built on the training split.
    """

    name: str
    train: list[SequenceExample]
    test: list[SequenceExample]
    val: list[SequenceExample] | None = None
    input_kind: str = "features"
    target_kind: str = "classes"
    class_names: list[str] | None = None  # declared class order, when the source has one
    vocab: list[str] | None = None  # token inputs: token strings by id (see `Vocabulary`)
    pad_id: int = 0  # token inputs: id that pads batches


class SequenceSource(Protocol):
    """A data source: reads (or generates) its examples; knows nothing of batching or models."""

    def load(self) -> SequenceSplits: ...
