"""`ManyToOne`: one label (classification) or value (regression) per sequence."""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from seqnet.data import DataSpec, SeqBatch
from seqnet.data.prediction import PredictionInput
from seqnet.errors import InputError
from seqnet.nn import ConvBranch, EncoderOutput, EncoderState, build_pooling
from seqnet.nn.pooling import LastPooling
from seqnet.tasks.base import BIDIRECTIONAL_ENCODER, SequenceModule, StepOutput
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
        conv_branch: None, or `ConvFrontend` arguments for a parallel convolutional branch whose
            mean over each sequence is concatenated with the pooled recurrent summary (LSTM-FCN).
        **options: what every task takes — encoder, embedding_dim, optimizer, scheduler,
            gradient_clip_val, gradient_clip_algorithm, monitor, monitor_mode (see `SequenceModule`).
    """

    TARGET_KINDS = ("classes", "values")
    DEFAULT_ENCODER = BIDIRECTIONAL_ENCODER
    CONFIG_NAME = "many_to_one"
    CAPABILITIES = frozenset({"predict"})
    frontend_may_stride = True

    def __init__(
        self,
        spec: DataSpec | dict,
        pooling: str = "last",
        dropout: float = 0.1,
        class_weights: list[float] | None = None,
        label_smoothing: float = 0.0,
        conv_branch: dict | None = None,
        **options: Any,
    ) -> None:
        super().__init__(spec, **options)
        self.conv_branch = ConvBranch(self.input_layer.output_size, **conv_branch) if conv_branch else None
        self.pooling = build_pooling(pooling, self.encoder.output_size)
        self.output = build_output(self.spec, self.pooled_size(), dropout, class_weights, label_smoothing)
        self.setup_metrics()

    @property
    def classify(self) -> bool:
        """True for classification, False for regression (from the data spec)."""
        return self.spec.target_kind == "classes"

    # --- hooks --------------------------------------------------------------------------------
    def pooled_size(self) -> int:
        """Width of what the head reads: `pool`'s output, and the conv branch's if any."""
        return self.encoder.output_size + (self.conv_branch.output_size if self.conv_branch else 0)

    def pool(self, enc: EncoderOutput) -> Tensor:
        return self.pooling(enc)  # (B, D)

    def head(self, pooled: Tensor) -> Tensor:
        return self.output(pooled)  # (B, C) or (B, K)

    def loss(self, outputs: Tensor, targets: Tensor) -> Tensor | tuple[Tensor, Tensor]:
        """outputs from `head`; targets (B,) class ids or (B, K) values in data units. Returns the
        mean loss, or (mean loss, how many targets it averages): the count weighs the batch in the
        epoch's `loss`, so it is an exact mean over the split. A plain mean counts each sequence once."""
        return self.output.loss(outputs, targets)

    # --- export -------------------------------------------------------------------------------
    EXPORT_OUTPUTS = ("outputs",)  # (B, C) logits or (B, K) standardised values

    def export_step(self, inputs: Tensor, state: EncoderState) -> tuple[Tensor, EncoderState]:
        """Streaming classification: the head read after every step, as `pooling=last` reads the
        last one (other poolings and the conv branch need the whole sequence)."""
        if self.conv_branch is not None or not isinstance(self.pooling, LastPooling):
            raise InputError(
                "streaming=true reads the head after each step, which needs pooling=last and no conv "
                "branch; export the full-sequence graph (streaming=false)"
            )
        y, state = self.encoder_step(inputs, state)
        return self.head(y), state

    # --- composed -----------------------------------------------------------------------------
    def forward(self, batch: SeqBatch) -> Tensor:
        """Head outputs: (B, C) logits, or (B, K) standardised regression values."""
        x = self.embed(batch.inputs)  # (B, T, E)
        summary = self.pool(self.encode(x, batch.lengths))  # (B, D)
        if self.conv_branch is not None:
            summary = torch.cat([summary, self.conv_branch(x, batch.lengths)], dim=-1)  # (B, D + C)
        return self.head(summary)

    def step(self, batch: SeqBatch) -> StepOutput:
        outputs = self(batch)
        loss = self.loss(outputs, batch.targets)
        loss, weight = (loss, torch.tensor(float(len(batch)))) if isinstance(loss, Tensor) else loss
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

    def record(self, prediction: dict[str, Any], row: int, source: PredictionInput) -> dict[str, Any]:
        """Classes: {"label", "probs": {class: p}}; values: {"prediction": [K values]} in data units."""
        preds = prediction["preds"][row].cpu()
        if "probs" not in prediction:
            return {"prediction": preds.tolist()}
        names = self.output.class_names
        probs = prediction["probs"][row].tolist()
        return {
            "label": names[int(preds)],
            "probs": {n: round(float(p), 6) for n, p in zip(names, probs, strict=True)},
        }
