"""`DataSpec`: what a task needs from its data to size itself and to predict from a checkpoint alone."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from seqnet.data.tokenizers import Tokenizer, build_tokenizer
from seqnet.errors import InputError

WHITESPACE = {"name": "whitespace", "lowercase": False}

TARGET_KINDS = ("classes", "values", "tags", "tokens", "series", "anomaly")
CONDITION_KINDS = ("none", "classes", "values")
CLASS_KINDS = ("classes", "tags")  # targets that are class ids and need at least two classes
SEQUENCE_KINDS = ("tags", "tokens", "series", "anomaly")  # one target per step: padded, with lengths


@dataclass
class DataSpec:
    """Sizes, vocabularies and scaling statistics of a data set (training split only).

    input_kind: "features" (real values, (T, F) per sequence) or "tokens" (ids, (T,) per sequence).
    input_size: features per step, or vocabulary size for tokens.
    target_kind: one per sequence: "classes" (classification) or "values" (regression);
        one per step: "tags" (a class per step), "tokens" (ids into `target_vocab`: seq2seq,
        language modelling), "series" (real values: forecasting, per-step regression,
        reconstruction), "anomaly" (0/1 labels per input step; the model reconstructs inputs).
    num_classes / class_names: classes, or tag names.
    output_size: number of regression targets, or channels of a series target.
    pad_id: padding id for token inputs.
    feature_mean / feature_std: per-feature statistics of the training split (features only);
        None when `normalize` is not "dataset".
    normalize: how feature inputs are scaled: "dataset" (the task standardises with the statistics
        above), "series" (each sequence z-normalised per channel on its own, in the source and at
        prediction) or "none".
    target_mean / target_std: per-target statistics of the training split (values and series).
    vocab: token strings by id (token inputs); target_vocab: the same for token targets.
    char_vocab / max_word_chars: token inputs that carry each word's casing and characters
        (`seqnet.data.word_chars`: (T, 2 + max_word_chars) per sequence): the character strings
        by id; None and 0 for word ids alone.
    aligned: targets have one entry per input step (tags, anomaly, language modelling).
    horizon: steps a forecasting target covers (0 when not forecasting).
    window: past steps a forecaster reads (0 when not forecasting).
    target_features: input channels that are also the targets (forecasting), else None.
    future_features: input channels whose values over the forecast steps are known and fed to a
        forecaster (known-future covariates), else None.
    season: steps per seasonal cycle of a forecast series (1: naive baseline; 0: not forecasting).
    feature_names: the column each input channel was read from (series read by column name).
    time_column / frequency: a forecast series' time column and the step between its rows ("1M",
        "30m"; see `seqnet.data.timestamps`), so forecasts carry dates; None without one.
    target_min: per-target minimum of the training split (values and series): whether a
        percentage error is defined.
    condition_kind / condition_names / condition_size: what conditions each example ("none",
        "classes" with their names, or "values" of `condition_size` floats).
    tokenizer / target_tokenizer: settings of the text tokenizers (`build_tokenizer(**settings)`),
        so raw text can be encoded from a checkpoint alone; None for non-text data.
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
    normalize: str = "dataset"
    target_mean: list[float] | None = None
    target_std: list[float] | None = None
    vocab: list[str] | None = None
    target_vocab: list[str] | None = None
    char_vocab: list[str] | None = None
    max_word_chars: int = 0
    aligned: bool = False
    horizon: int = 0
    window: int = 0
    target_features: list[int] | None = None
    future_features: list[int] | None = None
    season: int = 0
    feature_names: list[str] | None = None
    time_column: str | None = None
    frequency: str | None = None
    target_min: list[float] | None = None
    condition_kind: str = "none"
    condition_names: list[str] = field(default_factory=list)
    condition_size: int = 0
    tokenizer: dict | None = None
    target_tokenizer: dict | None = None
    name: str = ""

    def __post_init__(self) -> None:
        if self.target_kind not in TARGET_KINDS:
            raise InputError(f"target_kind must be one of {TARGET_KINDS}, got {self.target_kind!r}")
        if self.condition_kind not in CONDITION_KINDS:
            raise InputError(f"condition_kind must be one of {CONDITION_KINDS}, got {self.condition_kind!r}")
        if self.target_kind in CLASS_KINDS and self.num_classes < 2:
            raise InputError(
                f"classification needs at least 2 classes, got {self.num_classes} "
                f"({self.class_names}); check the labels of the training split"
            )
        if self.target_kind == "tokens" and not self.target_vocab:
            raise InputError("token targets need their target_vocab")

    def text_tokenizer(self) -> Tokenizer:
        """How raw text becomes input tokens: the recorded tokenizer, or whitespace splitting for
        token data that records none (pre-split tokens, such as melody events)."""
        return build_tokenizer(**(self.tokenizer or WHITESPACE))

    def target_text_tokenizer(self) -> Tokenizer:
        """How token targets (seq2seq) become text and back: the recorded one, or whitespace."""
        return build_tokenizer(**(self.target_tokenizer or WHITESPACE))

    @property
    def sequence_targets(self) -> bool:
        """True when targets are sequences (padded in batches, with `target_lengths`)."""
        return self.target_kind in SEQUENCE_KINDS

    def to_dict(self) -> dict[str, Any]:
        """Plain Python types only, so a checkpoint holding it loads without seqnet's configs."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> DataSpec:
        return cls(**data)
