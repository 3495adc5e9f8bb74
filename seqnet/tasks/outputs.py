"""Output objects: what a task predicts, chosen from `DataSpec.target_kind`.

Each one is the head (features -> outputs), the loss, the torchmetrics of its kind and the
decoding of outputs into predictions and names, for one target per sequence ((B, F) features) or
one per step ((B, T, F) with a mask):

- `ClassOutput`: classes or tags; cross entropy (or a CRF for tags); accuracy and macro-F1, plus
  entity precision/recall/F1 when the tags are BIO/BIOES.
- `ValueOutput`: real values (regression, per-step series), standardised with the training
  split's statistics for the loss and reported in data units; MSE, RMSE, MAE.
- `TokenOutput`: next tokens over a vocabulary; cross entropy; NLL, perplexity, bits per token.

Targets the loss ignores carry `IGNORE_INDEX` (class ids) or are masked out (values).
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor, nn
from torch.nn import functional as F
from torchmetrics import MeanAbsoluteError, MeanSquaredError, MetricCollection
from torchmetrics.classification import MulticlassAccuracy, MulticlassF1Score
from torchmetrics.text import WordErrorRate

from seqnet.data import IGNORE_INDEX, DataSpec
from seqnet.data.spec import CLASS_KINDS
from seqnet.errors import InputError
from seqnet.nn.crf import LinearChainCRF
from seqnet.tasks.metrics import CorpusBLEU, ExactMatch, SpanF1, TokenNLL, is_span_tagset


def build_output(
    spec: DataSpec,
    input_size: int,
    dropout: float = 0.0,
    class_weights: list[float] | None = None,
    label_smoothing: float = 0.0,
    crf: bool = False,
) -> ClassOutput | ValueOutput:
    """The output for `spec`'s targets: classes or tags -> `ClassOutput`, values or series ->
    `ValueOutput` (standardised with the spec's training statistics)."""
    if spec.target_kind in CLASS_KINDS:
        return ClassOutput(input_size, spec.class_names, dropout, class_weights, label_smoothing, crf)
    if class_weights is not None or label_smoothing or crf:
        raise InputError(
            "class_weights apply to classification only (classes or tags), and so do label_smoothing "
            f"and crf; data {spec.name!r} has {spec.target_kind!r} targets"
        )
    return ValueOutput(input_size, spec.output_size, spec.target_mean, spec.target_std, dropout)


class ClassOutput(nn.Module):
    """Class logits for each sequence (B, C) or each step (B, T, C).

    Args:
        input_size: width of the features the head reads.
        class_names: the classes (or tags), in id order.
        dropout: dropout on the features before the head.
        class_weights: per-class weights of the cross entropy.
        label_smoothing: cross-entropy label smoothing.
        crf: per-step tags only: score whole tag sequences with a linear-chain CRF and decode with
            Viterbi (the loss is the CRF's NLL per tag).
    """

    def __init__(
        self,
        input_size: int,
        class_names: list[str],
        dropout: float = 0.0,
        class_weights: list[float] | None = None,
        label_smoothing: float = 0.0,
        crf: bool = False,
    ) -> None:
        super().__init__()
        self.class_names = list(class_names)
        num_classes = len(self.class_names)
        if class_weights is not None and len(class_weights) != num_classes:
            raise InputError(
                f"class_weights has {len(class_weights)} entries but the data set has "
                f"{num_classes} classes {self.class_names}"
            )
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(input_size, num_classes)
        self.crf = LinearChainCRF(num_classes) if crf else None
        self.label_smoothing = label_smoothing
        weights = None if class_weights is None else torch.tensor(class_weights, dtype=torch.float32)
        self.register_buffer("class_weights", weights, persistent=False)

    def forward(self, features: Tensor) -> Tensor:
        """(B, F) or (B, T, F) -> logits (B, C) or (B, T, C)."""
        return self.head(self.dropout(features))

    def loss(self, logits: Tensor, targets: Tensor) -> tuple[Tensor, Tensor]:
        """Mean loss over the targets that are not `IGNORE_INDEX`, and their count."""
        valid = targets != IGNORE_INDEX
        count = valid.sum()
        if self.crf is not None:
            return self.crf.nll(logits, targets, valid).sum() / count.clamp(min=1), count
        loss = F.cross_entropy(
            logits.reshape(-1, logits.shape[-1]),
            targets.reshape(-1),
            weight=self.class_weights,
            label_smoothing=self.label_smoothing,
            ignore_index=IGNORE_INDEX,
        )
        return loss, count

    def predict(self, logits: Tensor, mask: Tensor | None = None) -> Tensor:
        """Class ids (B,) or (B, T) (Viterbi paths with a CRF; `IGNORE_INDEX` off the mask)."""
        if self.crf is not None and mask is not None:
            return self.crf.decode(logits, mask, pad_value=IGNORE_INDEX)
        ids = logits.argmax(dim=-1)
        return ids if mask is None else ids.masked_fill(~mask, IGNORE_INDEX)

    def metrics(self) -> MetricCollection:
        classes = len(self.class_names)
        # validate_args=False: ids come from the model's argmax and the DataModule's encoder, always
        # in range; the checks (a torch.unique per update) cost a small model ~10 % of its step
        options = dict(ignore_index=IGNORE_INDEX, validate_args=False)
        metrics: dict[str, Any] = {
            "acc": MulticlassAccuracy(classes, average="micro", **options),
            "f1_macro": MulticlassF1Score(classes, average="macro", **options),
        }
        if is_span_tagset(self.class_names):
            for which in ("precision", "recall", "f1"):
                metrics[f"entity_{which}"] = SpanF1(self.class_names, which)
        return MetricCollection(metrics)

    def names(self, ids: Tensor) -> list:
        """Class ids (B,) -> names, or (B, T) -> one list of names per row (padding dropped)."""
        if ids.dim() == 1:
            return [self.class_names[int(i)] for i in ids]
        return [[self.class_names[int(i)] for i in row if i != IGNORE_INDEX] for row in ids]


class ValueOutput(nn.Module):
    """Real values per sequence (B, K) or per step (B, T, K), standardised inside the model.

    The head predicts z-scores; `target_mean`/`target_std` (training split) turn them into data
    units, in which predictions and metrics are reported.
    """

    def __init__(
        self,
        input_size: int,
        output_size: int,
        target_mean: list[float] | None = None,
        target_std: list[float] | None = None,
        dropout: float = 0.0,
    ) -> None:
        super().__init__()
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(input_size, output_size)
        self.register_buffer("target_mean", torch.tensor(target_mean or 0.0), persistent=False)
        self.register_buffer("target_std", torch.tensor(target_std or 1.0), persistent=False)

    def forward(self, features: Tensor) -> Tensor:
        """(B, F) or (B, T, F) -> standardised values (B, K) or (B, T, K)."""
        return self.head(self.dropout(features))

    def loss(self, outputs: Tensor, targets: Tensor, mask: Tensor | None = None) -> tuple[Tensor, Tensor]:
        """MSE in standardised units over valid rows/steps (`mask` (B, T) for per-step values)."""
        error = (outputs - (targets - self.target_mean) / self.target_std).pow(2)  # (B, [T,] K)
        if mask is None:
            return error.mean(), torch.tensor(outputs.shape[0], device=outputs.device)
        valid = mask.unsqueeze(-1).to(error.dtype)
        count = mask.sum()
        return (error * valid).sum() / (count * outputs.shape[-1]).clamp(min=1), count

    def predict(self, outputs: Tensor) -> Tensor:
        """Standardised outputs -> data units."""
        return outputs * self.target_std + self.target_mean

    def metrics(self) -> MetricCollection:
        return MetricCollection(
            {"mse": MeanSquaredError(), "rmse": MeanSquaredError(squared=False), "mae": MeanAbsoluteError()}
        )


class TokenOutput(nn.Module):
    """Logits over a vocabulary at every step (B, T, V): language modelling, generation.

    Args:
        input_size: width of the features the head reads.
        vocab: the target tokens, in id order.
        dropout: dropout on the features before the head.
        tied_embedding: share this embedding's weight with the head (weight tying: fewer
            parameters, often lower perplexity); its width must equal `input_size`.
        bits: also report bits per token (bits per character for character data).
    """

    def __init__(
        self,
        input_size: int,
        vocab: list[str],
        dropout: float = 0.0,
        tied_embedding: nn.Embedding | None = None,
        bits: bool = False,
    ) -> None:
        super().__init__()
        self.vocab = list(vocab)
        self.bits = bits
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(input_size, len(self.vocab))
        if tied_embedding is not None:
            if tied_embedding.weight.shape != self.head.weight.shape:
                raise InputError(
                    f"weight tying needs the embedding width ({tied_embedding.weight.shape[1]}) to equal "
                    f"the encoder output size ({input_size}); set embedding_dim={input_size} or tie=false"
                )
            self.head.weight = tied_embedding.weight

    def forward(self, features: Tensor) -> Tensor:
        """(B, T, F) or (B, F) -> logits (B, T, V) or (B, V)."""
        return self.head(self.dropout(features))

    def loss(self, logits: Tensor, targets: Tensor) -> tuple[Tensor, Tensor]:
        """Mean cross entropy per target token (targets `IGNORE_INDEX` at padding), and the count."""
        loss = F.cross_entropy(
            logits.reshape(-1, logits.shape[-1]), targets.reshape(-1), ignore_index=IGNORE_INDEX
        )
        return loss, (targets != IGNORE_INDEX).sum()

    def metrics(self) -> MetricCollection:
        metrics: dict[str, Any] = {"nll": TokenNLL("nll"), "perplexity": TokenNLL("perplexity")}
        if self.bits:
            metrics["bpc"] = TokenNLL("bits")
        return MetricCollection(metrics)

    def names(self, ids: Tensor) -> list[str]:
        return [self.vocab[int(i)] for i in ids]


class DecodedOutput(nn.Module):
    """Loss and metrics of generated token sequences (seq2seq): label-smoothed cross entropy per
    target token under teacher forcing; decoded against reference text for evaluation.

    Args:
        vocab: the target tokens, in id order.
        label_smoothing: share of probability spread over the vocabulary in the loss.
        bleu: report corpus BLEU too (for word targets).

    Metrics (read lists of space-joined token strings): `seq_acc` (exact match), `ter` (token
    error rate: edit distance over tokens / reference tokens; the phoneme error rate for G2P, the
    word error rate for words) and, if asked, `bleu`.
    """

    def __init__(self, vocab: list[str], label_smoothing: float = 0.0, bleu: bool = False) -> None:
        super().__init__()
        if not 0.0 <= label_smoothing < 1.0:
            raise InputError(f"label_smoothing must be in [0, 1), got {label_smoothing}")
        self.vocab = list(vocab)
        self.label_smoothing = label_smoothing
        self.bleu = bleu

    def loss(self, logits: Tensor, targets: Tensor) -> tuple[Tensor, Tensor]:
        """logits (B, T, V), targets (B, T) with `IGNORE_INDEX` at padding -> (mean loss per target
        token, the number of target tokens)."""
        loss = F.cross_entropy(
            logits.reshape(-1, logits.shape[-1]),
            targets.reshape(-1),
            ignore_index=IGNORE_INDEX,
            label_smoothing=self.label_smoothing,
        )
        return loss, (targets != IGNORE_INDEX).sum()

    def metrics(self) -> MetricCollection:
        metrics: dict[str, Any] = {"seq_acc": ExactMatch(), "ter": WordErrorRate()}
        if self.bleu:
            metrics["bleu"] = CorpusBLEU()
        return MetricCollection(metrics)

    def training_metrics(self) -> MetricCollection:
        """Teacher-forced next-token accuracy: decoding every training batch would cost too much."""
        return MetricCollection(
            {
                "token_acc": MulticlassAccuracy(
                    len(self.vocab), average="micro", ignore_index=IGNORE_INDEX, validate_args=False
                )
            }
        )
