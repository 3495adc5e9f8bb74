"""`ManyToOne`: one label (classification) or value (regression) per sequence."""

from __future__ import annotations

from typing import Any

from torch import Tensor

from seqnet.data import DataSpec, SeqBatch
from seqnet.nn import EncoderOutput, build_pooling
from seqnet.tasks.base import SequenceModule, StepOutput
from seqnet.tasks.outputs import build_output


class ManyToOne(SequenceModule):
    """Sequence classification or regression: embed -> encode -> pool -> head -> loss.

    A research subclass overrides one hook and keeps the rest:

    - `embed(inputs) -> (B, T, E)`: standardise features / look up token embeddings.
    - `encode(x, lengths, state=None) -> EncoderOutput`: the recurrent encoder.
    - `pool(enc) -> (B, pooled_size())`: one vector per sequence (last, mean, max or attention);
      a pool of another width also overrides `pooled_size()`, which sizes the head.
    - `head(pooled) -> (B, C)` logits, or (B, K) standardised regression values.
    - `loss(outputs, targets) -> (loss, weight)`.

    Args:
        spec: the data set's `DataSpec` (or its dict).
        pooling: last, mean, max or attention.
        dropout: dropout on the pooled vector before the head.
        class_weights: per-class weights of the cross-entropy (classification only).
        label_smoothing: cross-entropy label smoothing (classification only).
        **options: what every task takes — encoder, embedding_dim, optimizer, scheduler,
            gradient_clip_val, gradient_clip_algorithm, monitor, monitor_mode (see `SequenceModule`).
    """

    TARGET_KINDS = ("classes", "values")

    def __init__(
        self,
        spec: DataSpec | dict,
        pooling: str = "last",
        dropout: float = 0.0,
        class_weights: list[float] | None = None,
        label_smoothing: float = 0.0,
        **options: Any,
    ) -> None:
        super().__init__(spec, **options)
        self.pooling = build_pooling(pooling, self.encoder.output_size)
        self.output = build_output(self.spec, self.pooled_size(), dropout, class_weights, label_smoothing)
        self.setup_metrics()

    @property
    def classify(self) -> bool:
        """True for classification, False for regression (from the data spec)."""
        return self.spec.target_kind == "classes"

    # --- hooks --------------------------------------------------------------------------------
    def pooled_size(self) -> int:
        """Width of `pool`'s output, which the head reads."""
        return self.encoder.output_size

    def pool(self, enc: EncoderOutput) -> Tensor:
        return self.pooling(enc)  # (B, D)

    def head(self, pooled: Tensor) -> Tensor:
        return self.output(pooled)  # (B, C) or (B, K)

    def loss(self, outputs: Tensor, targets: Tensor) -> tuple[Tensor, Tensor]:
        """outputs from `head`; targets (B,) class ids or (B, K) values in data units."""
        return self.output.loss(outputs, targets)

    # --- composed -----------------------------------------------------------------------------
    def forward(self, batch: SeqBatch) -> Tensor:
        """Head outputs: (B, C) logits, or (B, K) standardised regression values."""
        enc = self.encode(self.embed(batch.inputs), batch.lengths)
        return self.head(self.pool(enc))

    def step(self, batch: SeqBatch) -> StepOutput:
        outputs = self(batch)
        loss, weight = self.loss(outputs, batch.targets)
        return StepOutput(loss, weight, self.output.predict(outputs.detach()), batch.targets)

    def predict_step(self, batch: SeqBatch, batch_idx: int = 0) -> dict[str, Any]:
        """Classification: {"preds" (B,), "probs" (B, C)}; regression: {"preds" (B, K)} in data units."""
        outputs = self(batch)
        if self.classify:
            probs = outputs.softmax(dim=-1)
            return {"preds": probs.argmax(dim=-1), "probs": probs}
        return {"preds": self.output.predict(outputs)}

    def label_names(self, preds: Tensor) -> list[str]:
        """Class ids (B,) -> class names from the checkpoint's spec."""
        return self.output.names(preds)
