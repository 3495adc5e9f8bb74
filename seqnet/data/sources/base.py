"""What a data source hands to a DataModule: examples per split, plus what kind they are."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np

from seqnet.data.vocab import Vocabulary


@dataclass
class SequenceExample:
    """One example: its input sequence, its target and (optionally) a condition.

    values: (T, F) float32 features or (T,) int64 token ids.
    target, by the splits' `target_kind`:
        classes: a class name (str); values: a float or a float array (K,);
        tags: one tag name per input step (T,); tokens: (T',) int64 ids into `target_vocab`;
        series: (T', K) float32 (a forecast horizon, per-step regression, a reconstruction);
        anomaly: (T,) int 0/1 per input step (1 = anomalous).
    condition: what conditions the example (one-to-many, conditional generation): a class name
        or a float array (C,); None when the data set has none.
    origin: where a user's file holds it ("path:line"), for error messages; None otherwise.
    future: forecasting with known-future covariates: their values over the forecast steps
        (T', Cf) float32 (calendar, weather forecasts); None otherwise.
    window: (document, index) of a window cut from a longer sequence (a corpus), so stateful
        streams know which example continues which; None for whole sequences.
    """

    values: np.ndarray
    target: str | float | np.ndarray | list[str]
    condition: str | np.ndarray | None = None
    origin: str | None = None
    future: np.ndarray | None = None
    window: tuple[int, int] | None = None


@dataclass
class SequenceSplits:
    """A data set's examples by split. `val` is None when the data set has no official one.

    Token sources (`input_kind="tokens"`) give (T,) int64 ids per example and their `vocab`,
    built on the training split; sources of token targets give `target_vocab` the same way.
    `aligned` says targets have one entry per input step (tagging, language modelling, anomaly
    labels), so truncation and padding treat both together. Forecasting sources set `horizon` and
    `target_features` (the input channels that are also the forecast targets).
    """

    name: str
    train: list[SequenceExample]
    test: list[SequenceExample]
    val: list[SequenceExample] | None = None
    input_kind: str = "features"
    target_kind: str = "classes"
    class_names: list[str] | None = None  # declared class (or tag) order, when the source has one
    vocab: list[str] | None = None  # token inputs: token strings by id (see `Vocabulary`)
    pad_id: int = 0  # token inputs: id that pads batches
    char_vocab: list[str] | None = None  # token inputs with characters (`seqnet.data.word_chars`)
    max_word_chars: int = 0  # characters kept per word in that layout (0: word ids only)
    target_vocab: list[str] | None = None  # token targets: token strings by id
    aligned: bool = False
    horizon: int = 0
    window: int = 0
    target_features: list[int] | None = None
    future_features: list[int] | None = None
    season: int = 0
    feature_names: list[str] | None = None
    time_column: str | None = None  # forecast series: the CSV column of its times
    frequency: str | None = None  # and the step between them ("1M", "30m")
    condition_kind: str = "none"  # none | classes | values
    condition_names: list[str] | None = None  # declared condition classes, when the source has them
    normalize: str = "dataset"  # features: series (each case z-normalised by the source) | dataset | none
    tokenizer: dict | None = None  # text sources: settings of the input tokenizer (`build_tokenizer`)
    target_tokenizer: dict | None = None  # and of the target tokenizer

    @classmethod
    def from_parts(
        cls, name: str, parts: dict[str, list[SequenceExample]], **fields: object
    ) -> SequenceSplits:
        """Splits from {"train": ..., "test": ..., optionally "val": ...}; an empty or absent val
        lets the DataModule hold validation out of train."""
        return cls(
            name=name, train=parts["train"], val=parts.get("val") or None, test=parts["test"], **fields
        )


def mark_origins(splits: SequenceSplits, origins: dict[str, list[str]]) -> SequenceSplits:
    """Record where each example of each split was read ("path:line"), in order."""
    for split, where in origins.items():
        examples = getattr(splits, split) or []
        if len(examples) != len(where):
            raise RuntimeError(f"{len(where)} origins for {len(examples)} {split} examples")
        for example, origin in zip(examples, where, strict=True):
            example.origin = origin
    return splits


def token_fields(vocab: Vocabulary, targets: bool = False) -> dict[str, object]:
    """`SequenceSplits` fields for token inputs over `vocab`; `targets`: next-token targets over
    the same vocabulary too (language models, generation), aligned with the inputs."""
    fields: dict[str, object] = {"input_kind": "tokens", "vocab": vocab.to_list(), "pad_id": vocab.pad_id}
    if targets:
        fields.update(target_kind="tokens", target_vocab=vocab.to_list(), aligned=True)
    return fields


def teacher_forcing_example(
    vocab: Vocabulary, tokens: list[str], condition: str | None = None
) -> SequenceExample:
    """Generation by teacher forcing: inputs `<bos>` + tokens (T+1,), targets tokens + `<eos>` (T+1,)."""
    ids = vocab.encode(tokens)
    return SequenceExample(
        values=np.array([vocab.bos_id, *ids], dtype=np.int64),
        target=np.array([*ids, vocab.eos_id], dtype=np.int64),
        condition=condition,
    )


class SequenceSource(Protocol):
    """A data source: reads (or generates) its examples; knows nothing of batching or models."""

    def load(self) -> SequenceSplits: ...
