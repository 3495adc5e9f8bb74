"""`ManyToOne`: one label (classification) or value (regression) per sequence."""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor, nn
from torch.nn import functional as F
from torchmetrics import MeanAbsoluteError, MeanSquaredError, MetricCollection
from torchmetrics.classification import MulticlassAccuracy, MulticlassF1Score

from seqnet.data import DataSpec, SeqBatch
from seqnet.nn import EncoderOutput, InputEmbedding, RecurrentEncoder, build_pooling
from seqnet.tasks.base import SequenceModule, to_primitive

DEFAULT_ENCODER = {"cell": "lstm", "hidden_size": 128}
DEFAULT_TOKEN_EMBEDDING = 64


class ManyToOne(SequenceModule):
    """Sequence classification or regression: embed -> encode -> pool -> head -> loss.

    A research subclass overrides one hook and keeps the rest:

    - `embed(batch) -> (B, T, E)`: normalise features / look up token embeddings.
    - `encode(x, lengths) -> EncoderOutput`: the recurrent encoder.
    - `pool(enc) -> (B, D)`: one vector per sequence (last, mean, max or attention).
    - `head(pooled) -> (B, C)` logits, or (B, K) standardised regression values.
    - `loss(outputs, targets) -> scalar`.

    Args:
        spec: the data set's `DataSpec` (or dict): input kind and size, classes or outputs, scaling.
        encoder: `RecurrentEncoder` arguments except `input_size`, e.g. {"cell": "gru",
            "hidden_size": 64, "bidirectional": True}.
        pooling: last, mean, max or attention.
        embedding_dim: embedding width for token inputs (None: 64); for features an optional
            projection width (None feeds the normalised features directly).
        dropout: dropout on the pooled vector before the head.
        class_weights: per-class weights of the cross-entropy (classification only).
        label_smoothing: cross-entropy label smoothing (classification only).
        optimizer, scheduler, gradient_clip_val, gradient_clip_algorithm: see `SequenceModule`.
        monitor / monitor_mode: the validation metric that selects the best checkpoint. val/loss
            (min) by default: on small validation sets accuracy saturates and stops discriminating.
    """

    def __init__(
        self,
        spec: DataSpec | dict,
        encoder: dict | None = None,
        pooling: str = "last",
        embedding_dim: int | None = None,
        dropout: float = 0.0,
        class_weights: list[float] | None = None,
        label_smoothing: float = 0.0,
        optimizer: dict | None = None,
        scheduler: dict | None = None,
        gradient_clip_val: float | None = None,
        gradient_clip_algorithm: str = "norm",
        monitor: str = "val/loss",
        monitor_mode: str = "min",
    ) -> None:
        spec, encoder, optimizer, scheduler, class_weights = (
            to_primitive(v) for v in (spec, encoder, optimizer, scheduler, class_weights)
        )
        super().__init__(
            spec,
            optimizer,
            scheduler,
            gradient_clip_val,
            gradient_clip_algorithm,
            monitor,
            monitor_mode,
        )
        self.save_hyperparameters()
        spec = self.spec
        if spec.target_kind not in ("classes", "values"):
            raise ValueError(
                f"ManyToOne predicts one class or value per sequence, but data {spec.name!r} has "
                f"{spec.target_kind!r} targets (one per step); pick a data set with one label per "
                "sequence, or the task shape made for these targets"
            )

        if spec.input_kind == "tokens":
            embedding_dim = embedding_dim or DEFAULT_TOKEN_EMBEDDING
        self.input_layer = InputEmbedding(spec.input_kind, spec.input_size, embedding_dim, spec.pad_id)
        self.encoder = RecurrentEncoder(self.input_layer.output_size, **(encoder or DEFAULT_ENCODER))
        self.pooling = build_pooling(pooling, self.encoder.output_size)
        self.dropout = nn.Dropout(dropout)
        outputs = spec.num_classes if self.classify else spec.output_size
        self.classifier = nn.Linear(self.encoder.output_size, outputs)

        self._register_statistics("feature", spec.feature_mean, spec.feature_std)
        self._register_statistics("target", spec.target_mean, spec.target_std)
        self.label_smoothing = label_smoothing
        self.register_buffer("class_weights", self._check_class_weights(class_weights), persistent=False)
        self.setup_metrics()

    @property
    def classify(self) -> bool:
        """True for classification, False for regression (from the data spec)."""
        return self.spec.target_kind == "classes"

    def _register_statistics(self, name: str, mean: list | None, std: list | None) -> None:
        """Scaling statistics from the spec as (non-persistent) buffers; identity when absent."""
        self.register_buffer(f"{name}_mean", torch.tensor(mean or 0.0), persistent=False)
        self.register_buffer(f"{name}_std", torch.tensor(std or 1.0), persistent=False)

    def _check_class_weights(self, weights: list[float] | None) -> Tensor | None:
        if weights is None:
            return None
        if not self.classify:
            raise ValueError("class_weights apply to classification only; this data set is regression")
        if len(weights) != self.spec.num_classes:
            raise ValueError(
                f"class_weights has {len(weights)} entries but the data set has "
                f"{self.spec.num_classes} classes {self.spec.class_names}"
            )
        return torch.tensor(weights, dtype=torch.float32)

    def build_metrics(self) -> MetricCollection:
        if self.classify:
            classes = self.spec.num_classes
            return MetricCollection(
                {
                    "acc": MulticlassAccuracy(classes, average="micro"),
                    "f1_macro": MulticlassF1Score(classes, average="macro"),
                }
            )
        return MetricCollection(
            {
                "mse": MeanSquaredError(),
                "rmse": MeanSquaredError(squared=False),
                "mae": MeanAbsoluteError(),
            }
        )

    # --- hooks --------------------------------------------------------------------------------
    def embed(self, batch: SeqBatch) -> Tensor:
        """Padded inputs -> (B, T, E): features are standardised with training statistics."""
        inputs = batch.inputs
        if self.spec.input_kind == "features":
            inputs = (inputs - self.feature_mean) / self.feature_std  # (B, T, F)
        return self.input_layer(inputs)

    def encode(self, x: Tensor, lengths: Tensor) -> EncoderOutput:
        return self.encoder(x, lengths)

    def pool(self, enc: EncoderOutput) -> Tensor:
        return self.pooling(enc)  # (B, D)

    def head(self, pooled: Tensor) -> Tensor:
        return self.classifier(self.dropout(pooled))  # (B, C) or (B, K)

    def loss(self, outputs: Tensor, targets: Tensor) -> Tensor:
        """outputs from `head`; targets (B,) class ids or (B, K) values in data units."""
        if self.classify:
            return F.cross_entropy(
                outputs, targets, weight=self.class_weights, label_smoothing=self.label_smoothing
            )
        return F.mse_loss(outputs, (targets - self.target_mean) / self.target_std)

    # --- composed -----------------------------------------------------------------------------
    def forward(self, batch: SeqBatch) -> Tensor:
        """Head outputs: (B, C) logits, or (B, K) standardised regression values."""
        enc = self.encode(self.embed(batch), batch.lengths)
        return self.head(self.pool(enc))

    def model_step(self, batch: SeqBatch) -> tuple[Tensor, Tensor, Tensor]:
        outputs = self(batch)
        loss = self.loss(outputs, batch.targets)
        if self.classify:
            return loss, outputs.detach(), batch.targets
        return loss, self._to_data_units(outputs.detach()), batch.targets

    def _to_data_units(self, outputs: Tensor) -> Tensor:
        return outputs * self.target_std + self.target_mean  # (B, K)

    def predict_step(self, batch: SeqBatch, batch_idx: int = 0) -> dict[str, Any]:
        """Classification: {"preds" (B,), "probs" (B, C)}; regression: {"preds" (B, K)}."""
        outputs = self(batch)
        if self.classify:
            probs = outputs.softmax(dim=-1)
            return {"preds": probs.argmax(dim=-1), "probs": probs}
        return {"preds": self._to_data_units(outputs)}

    def label_names(self, preds: Tensor) -> list[str]:
        """Class ids (B,) -> class names from the checkpoint's spec."""
        return [self.spec.class_names[int(i)] for i in preds]
