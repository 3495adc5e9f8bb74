"""Data already in memory: arrays or lists of sequences, and texts, as a source.

    ArraySource(x, y)                       # x (N, T, F) or a list of (T_i, F) arrays; y per sequence
    ArraySource(x, y_per_step)              # y[i] as long as x[i]: tags (int/str) or values (float)
    TextSource(texts, labels)               # one label per text
    TextSource(token_lists, tag_lists)      # one tag per token

`SequenceDataModule.from_arrays` / `from_texts` wrap them with the usual splits, spec and batching.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from seqnet.data.sources.base import SequenceExample, SequenceSplits
from seqnet.data.sources.labelled_text import labelled_text_splits
from seqnet.data.sources.tagging import tagged_splits
from seqnet.data.splits import held_out
from seqnet.data.tokenizers import build_tokenizer
from seqnet.errors import InputError


def as_sequences(x: Any, lengths: Any = None, what: str = "x") -> list[np.ndarray]:
    """An array (N, T[, F]) or a list of (T_i[, F]) arrays -> a list of float32 (T_i, F) arrays,
    each cut to its length when `lengths` (N,) is given."""
    sequences = [np.asarray(s, dtype=np.float32) for s in x]
    if not sequences:
        raise InputError(f"{what} holds no sequences")
    sequences = [s.reshape(len(s), -1) if s.ndim != 2 else s for s in sequences]  # (T_i, F)
    if lengths is not None:
        lengths = [int(n) for n in np.asarray(lengths).reshape(-1)]
        if len(lengths) != len(sequences):
            raise InputError(f"{len(lengths)} lengths for {len(sequences)} sequences in {what}")
        sequences = [s[:n] for s, n in zip(sequences, lengths, strict=True)]
    widths = {s.shape[1] for s in sequences}
    if len(widths) > 1:
        raise InputError(f"the sequences of {what} have different numbers of features: {sorted(widths)}")
    return sequences


class ArraySource:
    """Sequences and targets from arrays (see module doc).

    Args:
        x: (N, T, F) or (N, T) array, or a list of (T_i, F) / (T_i,) arrays (variable lengths).
        y: one target per sequence: classes (ints or strings) or values (floats, (N,) or (N, K));
            or one per step, y[i] as long as x[i]: tags (ints or strings) or values (floats).
        lengths: (N,) valid steps of each row of a padded `x` (and of per-step `y`).
        x_test / y_test: a test split; None holds out `test_fraction` of x, seeded by `seed`.
        name: the data set's name, for logs and checkpoints.
    """

    def __init__(
        self,
        x: Any,
        y: Any,
        lengths: Any = None,
        x_test: Any = None,
        y_test: Any = None,
        test_fraction: float = 0.2,
        seed: int = 0,
        name: str = "arrays",
    ) -> None:
        self.x, self.y, self.lengths = x, y, lengths
        self.x_test, self.y_test = x_test, y_test
        self.test_fraction, self.seed, self.name = test_fraction, seed, name

    def load(self) -> SequenceSplits:
        sequences = as_sequences(self.x, self.lengths, "x")
        kind = target_kind(sequences, self.y, "y")
        examples = make_examples(sequences, self.y, kind)
        if self.x_test is not None:
            test_sequences = as_sequences(self.x_test, None, "x_test")
            test = make_examples(
                test_sequences, self.y_test, target_kind(test_sequences, self.y_test, "y_test")
            )
            train = examples
        else:
            train, test = held_out(examples, self.test_fraction, np.random.default_rng(self.seed))
        return SequenceSplits(
            name=self.name, train=train, test=test, target_kind=kind, aligned=kind in ("tags", "series")
        )


def target_kind(sequences: list[np.ndarray], y: Any, what: str) -> str:
    """ "tags" or "series" when every y[i] has one entry per step of sequence i (ints or strings,
    or floats), else "classes" or "values" (one per sequence)."""
    if y is None or len(y) != len(sequences):
        raise InputError(f"{len(sequences)} sequences but {0 if y is None else len(y)} targets in {what}")
    per_step = all(np.ndim(t) >= 1 and len(t) >= len(s) for t, s in zip(y, sequences, strict=True))
    per_step = per_step and any(len(s) > 1 for s in sequences)
    floats = np.concatenate([np.asarray(t).reshape(-1) for t in y]).dtype.kind == "f"
    if per_step:
        return "series" if floats else "tags"
    return "values" if floats else "classes"


def make_examples(sequences: list[np.ndarray], y: Any, kind: str) -> list[SequenceExample]:
    """One example per sequence with its target in the form `SequenceExample` documents for `kind`."""
    examples = []
    for values, target in zip(sequences, y, strict=True):
        steps = len(values)
        if kind == "series":
            target = np.asarray(target, dtype=np.float32)[:steps].reshape(steps, -1)  # (T, K)
        elif kind == "tags":
            target = [str(t) for t in np.asarray(target).reshape(-1)[:steps]]
        elif kind == "values":
            target = np.asarray(target, dtype=np.float32).reshape(-1)  # (K,)
        else:
            target = str(target)
        examples.append(SequenceExample(values, target))
    return examples


class TextSource:
    """Texts and their labels in memory: one label per text (classification), or token lists with
    one tag per token (tagging).

    Args:
        texts: strings, or lists of tokens (tagging).
        labels: one label per text, or one list of tags per token list.
        test_texts / test_labels: a test split; None holds out `test_fraction`, seeded by `seed`.
        tokenizer / lowercase: how strings become tokens ("word" or "char").
        min_freq / max_size: vocabulary limits (training split only).
    """

    def __init__(
        self,
        texts: Sequence[Any],
        labels: Sequence[Any],
        test_texts: Sequence[Any] | None = None,
        test_labels: Sequence[Any] | None = None,
        test_fraction: float = 0.2,
        seed: int = 0,
        tokenizer: str = "word",
        lowercase: bool = True,
        min_freq: int = 1,
        max_size: int | None = None,
        name: str = "texts",
    ) -> None:
        if len(texts) != len(labels) or not texts:
            raise InputError(
                f"{len(texts)} texts and {len(labels)} labels: give one label (or tag list) per text"
            )
        self.rows = list(zip(texts, labels, strict=True))
        self.test_rows = None if test_texts is None else list(zip(test_texts, test_labels or [], strict=True))
        self.test_fraction, self.seed = test_fraction, seed
        self.tokenizer = build_tokenizer(tokenizer, lowercase)
        self.lowercase, self.min_freq, self.max_size, self.name = lowercase, min_freq, max_size, name

    def load(self) -> SequenceSplits:
        train, test = self.rows, self.test_rows
        if test is None:
            train, test = held_out(train, self.test_fraction, np.random.default_rng(self.seed))
        parts = {"train": train, "test": test}
        if isinstance(self.rows[0][0], str):
            rows = {split: [(str(label), text) for text, label in part] for split, part in parts.items()}
            return labelled_text_splits(self.name, rows, self.tokenizer, self.min_freq, self.max_size)
        sentences = {
            split: [(list(tokens), [str(t) for t in tags]) for tokens, tags in part]
            for split, part in parts.items()
        }
        for tokens, tags in sentences["train"] + sentences["test"]:
            if len(tokens) != len(tags):
                raise InputError(
                    f"{len(tokens)} tokens but {len(tags)} tags in {tokens[:5]}...: give one tag per token"
                )
        return tagged_splits(self.name, sentences, self.lowercase, self.min_freq, self.max_size)
