"""`DataSpec`: what a task needs from its data to size itself and to predict from a checkpoint alone."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

TARGET_KINDS = ("classes", "values")


@dataclass
class DataSpec:
    """Sizes, vocabularies and scaling statistics of a data set (training split only).

    input_kind: "features" (real values, (T, F) per sequence) or "tokens" (ids, (T,) per sequence).
    input_size: features per step, or vocabulary size for tokens.
    target_kind: "classes" (classification) or "values" (regression).
    num_classes / class_names: for classification.
    output_size: number of regression targets (1 for a scalar).
    pad_id: padding id for token inputs.
    feature_mean / feature_std: per-feature statistics of the training split (features only).
    target_mean / target_std: per-target statistics of the training split (regression only).
    vocab: token strings by id (tokens only).
    name: the data set's name, for logs.
    """

    input_kind: str
    input_size: int
    target_kind: str
    num_classes: int = 0
    class_names: list[str] = field(default_factory=list)
    output_size: int = 1
    pad_id: int = 0
    feature_mean: list[float] | None = None
    feature_std: list[float] | None = None
    target_mean: list[float] | None = None
    target_std: list[float] | None = None
    vocab: list[str] | None = None
    name: str = ""

    def __post_init__(self) -> None:
        if self.target_kind not in TARGET_KINDS:
            raise ValueError(f"target_kind must be one of {TARGET_KINDS}, got {self.target_kind!r}")
        if self.target_kind == "classes" and self.num_classes < 2:
            raise ValueError(
                f"classification needs at least 2 classes, got {self.num_classes} "
                f"({self.class_names}); check the labels of the training split"
            )

    def to_dict(self) -> dict[str, Any]:
        """Plain Python types only, so a checkpoint holding it loads without seqnet's configs."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> DataSpec:
        return cls(**data)
