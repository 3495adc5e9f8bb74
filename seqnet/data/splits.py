"""Held-out splits with a fixed seed (validation from train, or test where a data set has none)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TypeVar

import numpy as np

from seqnet.data.sources.base import SequenceExample
from seqnet.errors import InputError

T = TypeVar("T")
log = logging.getLogger(__name__)


def hold_out(
    examples: list[SequenceExample], fraction: float, seed: int, target_kind: str
) -> tuple[list[SequenceExample], list[SequenceExample]]:
    """Split examples into (train, val) with a fixed seed; stratified by class for classification."""
    rng = np.random.default_rng(seed)
    if target_kind == "classes":
        groups: dict[str, list[int]] = {}
        for index, example in enumerate(examples):
            groups.setdefault(str(example.target), []).append(index)
        val_index: list[int] = []
        for label in sorted(groups):
            members = rng.permutation(groups[label])
            take = max(1, round(fraction * len(members))) if len(members) > 1 else 0
            val_index.extend(members[:take].tolist())
    elif target_kind == "tags":
        return _tags_seen_in_training(*held_out(examples, fraction, rng))
    else:
        return held_out(examples, fraction, rng)
    chosen = set(val_index)
    train = [e for i, e in enumerate(examples) if i not in chosen]
    val = [examples[i] for i in sorted(chosen)]
    return train, val


def _tags_seen_in_training(
    train: list[SequenceExample], val: list[SequenceExample]
) -> tuple[list[SequenceExample], list[SequenceExample]]:
    """Move back to training each held-out sentence with a tag that no training sentence has (a
    rare tag drawn wholly into validation would have no example to learn from, and no class)."""
    known = {str(tag) for example in train for tag in example.target}
    kept, back = [], []
    for example in val:
        (kept if {str(tag) for tag in example.target} <= known else back).append(example)
    if back:
        log.info("%d held-out sentence(s) with tags that training lacks stay in training", len(back))
    return train + back, kept


def held_out(items: list[T], fraction: float, rng: np.random.Generator) -> tuple[list[T], list[T]]:
    """(kept, held out): a random `fraction` of `items` (at least one) held out, order kept in both."""
    chosen = set(rng.permutation(len(items))[: max(1, round(fraction * len(items)))].tolist())
    return [x for i, x in enumerate(items) if i not in chosen], [
        x for i, x in enumerate(items) if i in chosen
    ]


def split_by_key(
    items: list[T], key: Callable[[T], str], test_fraction: float, val_fraction: float, seed: int
) -> dict[str, list[T]]:
    """{"train", "val", "test"}: items sent by their key (a word, a name, a verse, a piece) with a
    fixed seed, so everything sharing a key lands in one split; order kept within each split.
    A positive fraction gets at least one key; val_fraction 0 leaves val empty."""
    if not (test_fraction > 0 and val_fraction >= 0 and test_fraction + val_fraction < 1):
        raise InputError(
            f"test_fraction must be positive, val_fraction not negative, and their sum below 1; got "
            f"{test_fraction} and {val_fraction}"
        )
    distinct = sorted({key(item) for item in items})
    order = np.random.default_rng(seed).permutation(len(distinct))
    test_size, val_size = (
        max(1, round(f * len(distinct))) if f else 0 for f in (test_fraction, val_fraction)
    )
    split_of = dict.fromkeys(distinct, "train")
    split_of.update({distinct[i]: "test" for i in order[:test_size]})
    split_of.update({distinct[i]: "val" for i in order[test_size : test_size + val_size]})
    parts: dict[str, list[T]] = {"train": [], "val": [], "test": []}
    for item in items:
        parts[split_of[key(item)]].append(item)
    return parts
