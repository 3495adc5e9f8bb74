"""From a source's examples to tensors: the `DataSpec` of a data set, and its targets as ids or values."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import torch
from torch import Tensor

from seqnet.data.batch import IGNORE_INDEX
from seqnet.data.sources.base import SequenceExample, SequenceSplits
from seqnet.data.spec import CLASS_KINDS, DataSpec
from seqnet.data.vocab import PAD
from seqnet.errors import InputError


def build_spec(splits: SequenceSplits, train: list[SequenceExample]) -> DataSpec:
    """Sizes and training-split statistics that a task needs (see `DataSpec`)."""
    kept = [e for e in train if len(e.values)]
    if not kept:
        raise InputError(f"{splits.name}: the training split has no non-empty sequence")
    spec = DataSpec(
        input_kind=splits.input_kind,
        input_size=0,
        target_kind="values",
        aligned=splits.aligned,
        horizon=splits.horizon,
        window=splits.window,
        target_features=splits.target_features,
        future_features=splits.future_features,
        season=splits.season,
        feature_names=splits.feature_names,
        time_column=splits.time_column,
        frequency=splits.frequency,
        tokenizer=splits.tokenizer,
        target_tokenizer=splits.target_tokenizer,
        name=splits.name,
    )
    spec = _with_inputs(spec, splits, kept)
    spec = _with_targets(spec, splits, kept)
    return _with_conditions(spec, splits, kept)


def _with_inputs(spec: DataSpec, splits: SequenceSplits, train: list[SequenceExample]) -> DataSpec:
    if splits.input_kind == "tokens":
        if not splits.vocab:
            raise InputError(f"{splits.name}: a token source must provide its vocabulary")
        return replace(
            spec,
            input_size=len(splits.vocab),
            vocab=list(splits.vocab),
            pad_id=splits.pad_id,
            char_vocab=splits.char_vocab,
            max_word_chars=splits.max_word_chars,
        )
    values = np.concatenate([e.values.reshape(len(e.values), -1) for e in train])  # (sum T, F)
    if splits.normalize != "dataset":
        return replace(spec, input_size=values.shape[1], normalize=splits.normalize)
    return replace(
        spec,
        input_size=values.shape[1],
        feature_mean=values.mean(0).astype(np.float64).tolist(),
        feature_std=_safe_std(values).tolist(),
    )


def _with_targets(spec: DataSpec, splits: SequenceSplits, train: list[SequenceExample]) -> DataSpec:
    kind = splits.target_kind
    if kind in CLASS_KINDS:
        seen = sorted({str(t) for e in train for t in ([e.target] if kind == "classes" else e.target)})
        names = _declared(splits.name, "training labels", seen, splits.class_names)
        return replace(spec, target_kind=kind, num_classes=len(names), class_names=names)
    if kind == "tokens":
        if not splits.target_vocab:
            raise InputError(f"{splits.name}: a source of token targets must provide target_vocab")
        return replace(spec, target_kind=kind, target_vocab=list(splits.target_vocab))
    if kind == "anomaly":
        return replace(spec, target_kind=kind, num_classes=2, class_names=["normal", "anomaly"])
    if kind == "series":
        targets = np.concatenate([np.asarray(e.target).reshape(len(e.target), -1) for e in train])
    else:
        targets = np.stack([np.atleast_1d(e.target) for e in train])  # (N, K)
    targets = targets.astype(np.float64)
    return replace(
        spec,
        target_kind=kind,
        output_size=targets.shape[1],
        target_mean=targets.mean(0).tolist(),
        target_std=_safe_std(targets).tolist(),
        target_min=targets.min(0).tolist(),
    )


def _with_conditions(spec: DataSpec, splits: SequenceSplits, train: list[SequenceExample]) -> DataSpec:
    if splits.condition_kind == "none":
        return spec
    if any(e.condition is None for e in train):
        raise InputError(
            f"{splits.name}: condition_kind is {splits.condition_kind!r} but an example has none"
        )
    if splits.condition_kind == "classes":
        seen = sorted({str(e.condition) for e in train})
        names = _declared(splits.name, "training conditions", seen, splits.condition_names)
        return replace(spec, condition_kind="classes", condition_names=names, condition_size=len(names))
    size = int(np.atleast_1d(train[0].condition).shape[0])
    return replace(spec, condition_kind="values", condition_size=size)


def _declared(name: str, what: str, seen: list[str], declared: list[str] | None) -> list[str]:
    """The declared names (in their order) when a source has them, else those seen in training."""
    names = list(declared) if declared else seen
    unknown = sorted(set(seen) - set(names))
    if unknown:
        raise InputError(f"{name}: {what} {unknown} are not among the declared ones {names}")
    return names


def _safe_std(values: np.ndarray) -> np.ndarray:
    std = values.astype(np.float64).std(0)
    return np.where(std > 1e-8, std, 1.0)


def target_pad_value(spec: DataSpec) -> float | None:
    """What pads per-step targets in a batch (None: one target per sequence, stacked)."""
    if not spec.sequence_targets:
        return None
    if spec.target_kind == "tokens":
        return spec.target_vocab.index(PAD)
    if spec.target_kind == "series":
        return 0.0
    return IGNORE_INDEX


class TargetEncoder:
    """Turns one example's target and condition into tensors, with errors that name the example."""

    def __init__(self, spec: DataSpec, where: str) -> None:
        self.spec = spec
        self.where = where
        self.classes = {c: i for i, c in enumerate(spec.class_names)}
        self.conditions = {c: i for i, c in enumerate(spec.condition_names)}

    def target(self, target: object, index: int) -> Tensor:
        kind = self.spec.target_kind
        if kind == "classes":
            return torch.tensor(self._class_id(self.classes, target, index, "label"), dtype=torch.int64)
        if kind == "tags":
            ids = [self._class_id(self.classes, tag, index, "tag") for tag in target]
            return torch.tensor(ids, dtype=torch.int64)  # (T,)
        if kind in ("tokens", "anomaly"):
            return torch.as_tensor(np.asarray(target), dtype=torch.int64)  # (T',)
        if kind == "series":
            series = np.asarray(target, dtype=np.float32)
            return torch.from_numpy(np.ascontiguousarray(series.reshape(len(series), -1)))  # (T', K)
        return torch.as_tensor(np.atleast_1d(target), dtype=torch.float32)  # (K,)

    def future(self, future: np.ndarray | None, index: int) -> Tensor | None:
        """Known-future covariates (T', Cf) of a forecasting example, or None."""
        if not self.spec.future_features:
            return None
        if future is None or future.shape[-1] != len(self.spec.future_features):
            raise InputError(
                f"{self.where} example {index} needs the values of its {len(self.spec.future_features)} "
                "known-future covariates over the forecast steps"
            )
        return torch.from_numpy(np.ascontiguousarray(future, dtype=np.float32))  # (T', Cf)

    def condition(self, condition: object, index: int) -> Tensor | None:
        kind = self.spec.condition_kind
        if kind == "none":
            return None
        if kind == "classes":
            return torch.tensor(self._class_id(self.conditions, condition, index, "condition"))
        return torch.as_tensor(np.atleast_1d(condition), dtype=torch.float32)  # (C,)

    def _class_id(self, ids: dict[str, int], name: object, index: int, what: str) -> int:
        if str(name) not in ids:
            raise InputError(
                f"{self.where} example {index} has {what} {name!r}, which the training split does "
                f"not contain (known: {sorted(ids)[:20]})"
            )
        return ids[str(name)]
