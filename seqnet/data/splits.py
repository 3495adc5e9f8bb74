"""Held-out splits with a fixed seed (validation from train, or test where a data set has none)."""

from __future__ import annotations

import numpy as np

from seqnet.data.sources.base import SequenceExample


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
    else:
        order = rng.permutation(len(examples))
        val_index = order[: max(1, round(fraction * len(examples)))].tolist()
    chosen = set(val_index)
    train = [e for i, e in enumerate(examples) if i not in chosen]
    val = [examples[i] for i in sorted(chosen)]
    return train, val
