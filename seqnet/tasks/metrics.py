"""Metrics torchmetrics does not ship: entity spans of BIO/BIOES tags, token NLL / perplexity /
bits, and exact match of decoded sequences.

The tensor metrics skip targets equal to `ignore_index` (padding), like torchmetrics'
classification metrics, so a padded (B, T) batch goes in as it is.
"""

from __future__ import annotations

import math
import re
from typing import Any

import torch
from torch import Tensor
from torch.nn import functional as F
from torchmetrics import Metric
from torchmetrics.text import BLEUScore

from seqnet.data import IGNORE_INDEX
from seqnet.errors import InputError

SPAN_TAG = re.compile(r"^([BIES])-(.+)$")
Span = tuple[int, int, str]  # (start, end inclusive, type)


def is_span_tagset(tag_names: list[str]) -> bool:
    """True when every tag is O or a B-/I-/E-/S- prefix and a type (BIO, IOB1 or BIOES), with a type."""
    typed = [name for name in tag_names if name != "O"]
    return bool(typed) and all(SPAN_TAG.match(name) for name in typed)


def spans(tags: list[str]) -> set[Span]:
    """Entity spans of one sentence's tags by the CoNLL rule (conlleval: BIO, IOB1 and BIOES).

    An entity starts at B-/S-, or at an I-/E- whose type differs from the previous tag's; it ends
    where the next tag does not continue it.
    """
    found: set[Span] = set()
    start, kind = -1, ""
    previous_prefix, previous_kind = "O", ""
    for position, tag in enumerate([*tags, "O"]):
        match = SPAN_TAG.match(tag)
        prefix, tag_kind = (match.group(1), match.group(2)) if match else ("O", "")
        if start >= 0 and _ends(previous_prefix, prefix, previous_kind, tag_kind):
            found.add((start, position - 1, kind))
            start = -1
        if _starts(previous_prefix, prefix, previous_kind, tag_kind):
            start, kind = position, tag_kind
        previous_prefix, previous_kind = prefix, tag_kind
    return found


def _ends(previous: str, current: str, previous_kind: str, kind: str) -> bool:
    if previous in "ES":
        return True
    if previous in "BI" and current in "BSO":
        return True
    return previous != "O" and previous_kind != kind


def _starts(previous: str, current: str, previous_kind: str, kind: str) -> bool:
    if current in "BS":
        return True
    if current in "IE" and previous in "ESO":
        return True
    return current != "O" and previous_kind != kind


class SpanF1(Metric):
    """Entity-level precision, recall or F1 (micro over entity types; `which` picks one).

    update(preds (B, T) tag ids, target (B, T) tag ids with `ignore_index` at padding).
    A predicted entity is correct only if its type and both boundaries match a gold one.
    """

    full_state_update = False
    higher_is_better = True

    def __init__(self, tag_names: list[str], which: str = "f1", ignore_index: int = IGNORE_INDEX) -> None:
        super().__init__()
        if which not in ("precision", "recall", "f1"):
            raise InputError(f"which must be precision, recall or f1, got {which!r}")
        self.tag_names = list(tag_names)
        self.which = which
        self.ignore_index = ignore_index
        for name in ("correct", "predicted", "gold"):
            self.add_state(name, torch.tensor(0.0), dist_reduce_fx="sum")

    def update(self, preds: Tensor, target: Tensor) -> None:
        for row_preds, row_target in zip(preds.tolist(), target.tolist(), strict=True):
            valid = [i for i, t in enumerate(row_target) if t != self.ignore_index]
            gold = spans([self.tag_names[row_target[i]] for i in valid])
            predicted = spans([self.tag_names[row_preds[i]] for i in valid])
            self.correct += len(gold & predicted)
            self.predicted += len(predicted)
            self.gold += len(gold)

    def compute(self) -> Tensor:
        precision = self.correct / self.predicted.clamp(min=1)
        recall = self.correct / self.gold.clamp(min=1)
        if self.which == "precision":
            return precision
        if self.which == "recall":
            return recall
        return 2 * precision * recall / (precision + recall).clamp(min=1e-12)


class TokenNLL(Metric):
    """Mean negative log-likelihood per target token, in nats; or its perplexity, or bits per token.

    update(logits (..., V), target (...) with `ignore_index` at padding). `transform`: "nll",
    "perplexity" (exp of the mean NLL) or "bits" (NLL / ln 2: bits per character for characters).
    """

    full_state_update = False
    higher_is_better = False

    def __init__(self, transform: str = "nll", ignore_index: int = IGNORE_INDEX) -> None:
        super().__init__()
        if transform not in ("nll", "perplexity", "bits"):
            raise InputError(f"transform must be nll, perplexity or bits, got {transform!r}")
        self.transform = transform
        self.ignore_index = ignore_index
        self.add_state("total", torch.tensor(0.0, dtype=torch.float64), dist_reduce_fx="sum")
        self.add_state("count", torch.tensor(0.0, dtype=torch.float64), dist_reduce_fx="sum")

    def update(self, logits: Tensor, target: Tensor) -> None:
        flat_target = target.reshape(-1)
        loss = F.cross_entropy(
            logits.reshape(-1, logits.shape[-1]).float(),
            flat_target,
            ignore_index=self.ignore_index,
            reduction="sum",
        )
        self.total += loss.double()
        self.count += (flat_target != self.ignore_index).sum()

    def compute(self) -> Tensor:
        nll = (self.total / self.count.clamp(min=1)).float()
        if self.transform == "perplexity":
            return nll.exp()
        if self.transform == "bits":
            return nll / math.log(2)
        return nll


class ExactMatch(Metric):
    """Share of decoded sequences equal to their reference (sequence accuracy; 1 - the word error
    rate of grapheme-to-phoneme work). update(preds, targets): lists of strings."""

    higher_is_better = True
    full_state_update = False

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.add_state("correct", torch.tensor(0.0), dist_reduce_fx="sum")
        self.add_state("total", torch.tensor(0.0), dist_reduce_fx="sum")

    def update(self, preds: list[str], targets: list[str]) -> None:
        self.correct += sum(p == t for p, t in zip(preds, targets, strict=True))
        self.total += len(targets)

    def compute(self) -> Tensor:
        return self.correct / self.total.clamp(min=1)


class CorpusBLEU(BLEUScore):
    """Corpus BLEU (4-grams) with one reference per decoded sequence: update(preds, targets),
    lists of space-joined word strings."""

    def update(self, preds: list[str], targets: list[str]) -> None:
        super().update(preds, [[target] for target in targets])
