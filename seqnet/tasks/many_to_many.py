"""`ManyToMany`: one output per input step (aligned): tagging, per-step regression."""

from __future__ import annotations

from typing import Any

from torch import Tensor

from seqnet.data import IGNORE_INDEX, DataSpec, SeqBatch
from seqnet.data.prediction import PredictionInput
from seqnet.errors import InputError
from seqnet.nn import EncoderState
from seqnet.tasks.base import BIDIRECTIONAL_ENCODER, SequenceModule, StepOutput, last_target_step
from seqnet.tasks.metrics import is_span_tagset, spans
from seqnet.tasks.outputs import build_output


class ManyToMany(SequenceModule):
    """Aligned sequence labelling: embed -> encode -> a head at every step -> masked loss.

    Tags (`target_kind="tags"`: part of speech, named entities, ...) get a masked cross entropy,
    or a linear-chain CRF with Viterbi decoding (`crf=True`); metrics are token accuracy, macro-F1
    over tags and, for BIO/BIOES tag sets, entity precision/recall/F1 by the CoNLL rule. Per-step
    values (`target_kind="series"`, aligned) get a masked MSE, reported in data units as MSE, RMSE
    and MAE. Losses are means over valid target steps; padding never counts.

    Hooks: `embed`, `encode` (see `SequenceModule`), `head(outputs (B, T, D)) -> (B, T, C or K)`.

    Args:
        spec: the data set's `DataSpec` (or its dict).
        dropout: dropout on the encoder outputs before the head.
        class_weights / label_smoothing: of the tag cross entropy.
        crf: score whole tag sequences with a CRF (tags only).
        **options: what every task takes — encoder, embedding_dim, optimizer, scheduler,
            gradient_clip_val, gradient_clip_algorithm, monitor, monitor_mode (see `SequenceModule`).
    """

    TARGET_KINDS = ("tags", "series")
    DEFAULT_ENCODER = BIDIRECTIONAL_ENCODER
    CONFIG_NAME = "many_to_many"
    CAPABILITIES = frozenset({"predict", "stateful"})

    def __init__(
        self,
        spec: DataSpec | dict,
        dropout: float = 0.1,
        class_weights: list[float] | None = None,
        label_smoothing: float = 0.0,
        crf: bool = False,
        **options: Any,
    ) -> None:
        super().__init__(spec, **options)
        if not self.spec.aligned:
            raise InputError(
                f"ManyToMany predicts one output per input step, but the targets of {self.spec.name!r} "
                "are not aligned with its inputs; use the task shape for unaligned targets "
                "(seq2seq, forecasting)"
            )
        self.output = build_output(
            self.spec, self.encoder.output_size, dropout, class_weights, label_smoothing, crf
        )
        self.setup_metrics()

    @property
    def tagging(self) -> bool:
        """True for tags (classes per step), False for per-step values (from the data spec)."""
        return self.spec.target_kind == "tags"

    def head(self, outputs: Tensor) -> Tensor:
        return self.output(outputs)  # (B, T, C) logits or (B, T, K) standardised values

    def forward(self, batch: SeqBatch) -> Tensor:
        enc = self.encode(self.embed(batch.inputs), batch.lengths)
        return self.head(enc.outputs)

    EXPORT_OUTPUTS = ("outputs",)  # (B, T, C) logits (a CRF's emissions) or (B, T, K) standardised values
    EXPORT_STEPWISE = True

    def export_step(self, inputs: Tensor, state: EncoderState) -> tuple[Tensor, EncoderState]:
        y, state = self.encoder_step(inputs, state)
        return self.head(y), state  # (B, C) or (B, K)

    def step(self, batch: SeqBatch) -> StepOutput:
        return self.scored(self(batch), batch)

    def step_from(self, batch: SeqBatch, state: EncoderState | None) -> tuple[StepOutput, EncoderState]:
        enc = self.encode(self.embed(batch.inputs), batch.lengths, state)
        return self.scored(self.head(enc.outputs), batch), enc.final_state

    def probe_loss(self, batch: SeqBatch) -> Tensor:
        return self.scored(*last_target_step(self(batch), batch)).loss

    def scored(self, outputs: Tensor, batch: SeqBatch) -> StepOutput:
        """The loss of the head's outputs (B, T, C or K) against the batch's per-step targets."""
        mask = batch.target_mask  # (B, T)
        if self.tagging:
            targets = batch.targets.masked_fill(~mask, IGNORE_INDEX)
            loss, weight = self.output.loss(outputs, targets)
            return StepOutput(loss, weight, self.output.predict(outputs.detach(), mask), targets, mask)
        loss, weight = self.output.loss(outputs, batch.targets, mask)
        values = self.output.predict(outputs.detach())
        return StepOutput(loss, weight, values[mask], batch.targets[mask], mask)  # (N, K) valid steps

    def predict_step(self, batch: SeqBatch, batch_idx: int = 0) -> dict[str, Any]:
        """Tags: {"preds" (B, T) with `IGNORE_INDEX` at padding, "probs" (B, T, C)};
        values: {"preds" (B, T, K)} in data units (zero at padding)."""
        outputs = self(batch)
        mask = batch.mask  # (B, T) valid input steps
        if self.tagging:
            return {"preds": self.output.predict(outputs, mask), "probs": outputs.softmax(-1)}
        return {"preds": self.output.predict(outputs) * mask.unsqueeze(-1)}

    def label_names(self, preds: Tensor) -> list[list[str]]:
        """Tag ids (B, T) -> one list of tag names per sequence (padding dropped)."""
        return self.output.names(preds)

    def record(self, prediction: dict[str, Any], row: int, source: PredictionInput) -> dict[str, Any]:
        """Tags: {"tokens", "tags", "probs" (of each chosen tag), and "spans": [(text, type, start,
        end)] for BIO/BIOES tag sets, end exclusive}; per-step values: {"prediction": [[K] per step]}."""
        length = len(source.values)
        preds = prediction["preds"][row, :length].cpu()
        if "probs" not in prediction:
            return {"prediction": preds.tolist()}
        tags = [self.output.class_names[int(t)] for t in preds]
        chosen = prediction["probs"][row, :length].cpu().gather(1, preds.unsqueeze(1)).squeeze(1)
        out: dict[str, Any] = {
            "tokens": source.tokens,
            "tags": tags,
            "probs": [round(float(p), 6) for p in chosen],
        }
        if is_span_tagset(self.output.class_names):
            given = source.text.split() if source.text else []  # the words as written, where 1:1
            words = given if len(given) == length else source.tokens or [""] * length
            out["spans"] = [
                (" ".join(words[start : end + 1]), kind, start, end + 1)
                for start, end, kind in sorted(spans(tags))
            ]
        return out
