"""`SequenceAutoencoder`: reconstruction-based anomaly detection on windows of a series."""

from __future__ import annotations

from operator import itemgetter
from typing import Any

import torch
from torch import Tensor, nn
from torch.nn import functional as F
from torchmetrics import CatMetric, Metric, MetricCollection
from torchmetrics.classification import BinaryAUROC, BinaryF1Score, BinaryPrecision, BinaryRecall
from torchmetrics.wrappers import LambdaInputTransformer

from seqnet.data import DataSpec, SeqBatch
from seqnet.data.prediction import PredictionInput
from seqnet.errors import InputError
from seqnet.nn.decoder import StateBridge
from seqnet.tasks.base import SERIES_ENCODER, SequenceModule, StepOutput

WINDOW_SCORES = ("max", "mean")


class SequenceAutoencoder(SequenceModule):
    """Learn to reconstruct normal windows; score each step by how badly it is reconstructed.

    embed the window (standardised with the training split) -> encode -> the summary, squeezed
    through a `bottleneck` -> a decoder that reads it at every step (and starts from a bridge of
    it) -> the reconstruction. Training sees the normal part of the series only (the source's
    `train_end`). The score of a step is its squared reconstruction error, averaged over features
    (standardised units); a window's is the max (or mean) of its steps'.

    The threshold is the `threshold_quantile` of the step scores on the validation split (normal
    data), recomputed after every validation and saved with the checkpoint; a step above it is
    flagged. The test split, which carries the labels, reports per step `auroc` (scores),
    `precision`, `recall` and `f1` (flags), `top_window_hit` (whether the highest-scoring window
    overlaps a labelled anomaly: the UCR anomaly archive's rule) and `baseline_auroc`, the AUROC of
    a moving-average residual score (each step's squared distance from the centred moving average
    over `baseline_window` steps of its window) as the reference to beat.

    Hooks: `embed`, `encode` (see `SequenceModule`), `reconstruct(batch)`, `scores(batch)`.

    Args:
        spec: the data set's `DataSpec` (anomaly data: target kind "anomaly").
        bottleneck: width of the code between encoder and decoder (0: the encoder's output size).
        decoder: `RecurrentEncoder` arguments of the decoder (default: the encoder's cell and size).
        threshold_quantile: quantile of the validation step scores that flags a step.
        window_score: max | mean, how step scores make a window's.
        baseline_window: steps of the moving average of the baseline score (odd).
        **options: what every task takes — encoder, embedding_dim, optimizer, scheduler,
            gradient_clip_val, gradient_clip_algorithm, monitor, monitor_mode (see `SequenceModule`).
    """

    TARGET_KINDS = ("anomaly",)
    DEFAULT_ENCODER = SERIES_ENCODER
    CONFIG_NAME = "autoencoder"
    CAPABILITIES = frozenset({"predict"})

    def __init__(
        self,
        spec: DataSpec | dict,
        bottleneck: int = 16,
        decoder: dict | None = None,
        threshold_quantile: float = 0.99,
        window_score: str = "max",
        baseline_window: int = 25,
        **options: Any,
    ) -> None:
        super().__init__(spec, **options)
        if not 0.0 < threshold_quantile < 1.0:
            raise InputError(f"threshold_quantile must be in (0, 1), got {threshold_quantile}")
        if window_score not in WINDOW_SCORES:
            raise InputError(f"window_score must be one of {WINDOW_SCORES}, got {window_score!r}")
        if baseline_window < 1 or baseline_window % 2 == 0:
            raise InputError(f"baseline_window must be odd and positive, got {baseline_window}")
        self.threshold_quantile, self.window_score = threshold_quantile, window_score
        self.baseline_window = baseline_window
        width = bottleneck or self.encoder.output_size
        self.code = nn.Sequential(nn.Linear(self.encoder.output_size, width), nn.Tanh())
        self.decoder = self.forward_decoder(width, decoder)
        self.bridge = StateBridge(width, self.decoder.state_sizes)
        self.head = nn.Linear(self.decoder.output_size, self.spec.input_size)
        self.register_buffer("threshold", torch.tensor(float("inf")))  # saved: prediction flags with it
        self.val_scores = CatMetric()
        self.setup_metrics(MetricCollection({}), anomaly_metrics())

    # --- hooks --------------------------------------------------------------------------------
    def reconstruct(self, batch: SeqBatch) -> tuple[Tensor, Tensor]:
        """(reconstruction, standardised inputs), both (B, T, F); padded steps are zero in both."""
        x = self.standardize(batch.inputs)  # (B, T, F)
        enc = self.encode(self.input_layer(x), batch.lengths)
        code = self.code(enc.last)  # (B, Z)
        steps = code.unsqueeze(1).expand(-1, x.shape[1], -1)  # (B, T, Z): the code at every step
        out = self.decoder(steps, batch.lengths, self.bridge(code)).outputs  # (B, T, D)
        mask = batch.mask.unsqueeze(-1)  # (B, T, 1)
        return self.head(out) * mask, x * mask

    def scores(self, batch: SeqBatch) -> Tensor:
        """Per-step anomaly scores (B, T): squared reconstruction error averaged over features."""
        recon, x = self.reconstruct(batch)
        return (recon - x).pow(2).mean(-1)

    # --- composed -----------------------------------------------------------------------------
    def step(self, batch: SeqBatch) -> StepOutput:
        """Training: the mean step score over valid steps is the loss (no metrics read it)."""
        return self._step(batch)

    def validation_step(self, batch: SeqBatch, batch_idx: int) -> StepOutput:
        out = super().validation_step(batch, batch_idx)
        self.val_scores.update(out.preds["score"])
        return out

    def evaluation_step(self, batch: SeqBatch) -> StepOutput:
        """Validation: the loss and the step scores the threshold reads; test: also everything the
        test metrics read (flags, the baseline's scores, window scores)."""
        testing = self._trainer is not None and self.trainer.testing
        return self._step(batch, readings="all" if testing else "scores")

    def _step(self, batch: SeqBatch, readings: str = "none") -> StepOutput:
        """readings: none (training) | scores | all (see `_readings`)."""
        mask = batch.mask  # (B, T)
        scores = self.scores(batch)
        count = mask.sum()
        loss = (scores * mask).sum() / count.clamp(min=1)
        preds = {} if readings == "none" else {"score": scores.detach()[mask]}
        if readings == "all":
            preds.update(self._readings(batch, scores.detach(), mask))
        return StepOutput(loss, count, preds, batch.targets[mask], mask)

    def _readings(self, batch: SeqBatch, scores: Tensor, mask: Tensor) -> dict[str, Tensor]:
        """What the test metrics read besides the scores: per valid step its flag and baseline
        score; per window its score and whether it holds a labelled anomaly."""
        labels = batch.targets.clamp(min=0) * mask  # (B, T), padding is not anomalous
        masked = scores.masked_fill(~mask, float("-inf") if self.window_score == "max" else 0.0)
        window = masked.amax(1) if self.window_score == "max" else masked.sum(1) / mask.sum(1)
        return {
            "flag": (scores > self.threshold)[mask].long(),
            "baseline": self.baseline_scores(batch)[mask],
            "window_score": window,
            "window_label": labels.amax(1),
        }

    def baseline_scores(self, batch: SeqBatch) -> Tensor:
        """Moving-average residual scores (B, T): squared distance of each standardised step from
        the centred moving average of its window (edges repeat the end values)."""
        x = self.standardize(batch.inputs).transpose(1, 2)  # (B, F, T)
        half = self.baseline_window // 2
        padded = F.pad(x, (half, half), mode="replicate")
        average = F.avg_pool1d(padded, self.baseline_window, stride=1)  # (B, F, T)
        return (x - average).pow(2).mean(1) * batch.mask

    def on_validation_epoch_end(self) -> None:
        """Set the threshold from this validation's step scores (normal data), then log as usual."""
        scores = self.val_scores.compute().float()  # gathered from every process
        self.val_scores.reset()
        if not self.trainer.sanity_checking and scores.numel():
            self.threshold.fill_(_quantile(scores, self.threshold_quantile))
        super().on_validation_epoch_end()

    EXPORT_OUTPUTS = ("scores", "flags")  # (B, T) each: per-step anomaly scores, 0/1 flags
    EXPORT_STEPWISE = True

    def export_outputs(self, inputs: Tensor, lengths: Tensor) -> tuple[Tensor, ...]:
        out = self(SeqBatch(inputs, lengths, targets=inputs))
        return tuple(out[name] for name in self.EXPORT_OUTPUTS)

    def forward(self, batch: SeqBatch) -> dict[str, Tensor]:
        """{"scores": (B, T), "flags": (B, T) 0/1}; zero at padding."""
        scores = self.scores(batch)
        return {"scores": scores, "flags": (scores > self.threshold).long() * batch.mask}

    def predict_step(self, batch: SeqBatch, batch_idx: int = 0) -> dict[str, Tensor]:
        return self(batch)

    def record(self, prediction: dict[str, Any], row: int, source: PredictionInput) -> dict[str, Any]:
        """{"start": the window's first step in its series, "scores": per step, "flags": 0/1 per step}."""
        length = len(source.values)
        return {
            "start": source.start or 0,
            "scores": [round(float(v), 6) for v in prediction["scores"][row, :length]],
            "flags": [int(v) for v in prediction["flags"][row, :length]],
        }


def _quantile(values: Tensor, q: float) -> Tensor:
    """torch.quantile, on a sorted subsample when there are more values than it takes."""
    if values.numel() > 1_000_000:
        values = values[torch.linspace(0, values.numel() - 1, 1_000_000, device=values.device).long()]
    return torch.quantile(values, q)


class TopWindowHit(Metric):
    """1 when the highest-scoring window holds a labelled anomaly, else 0 (the UCR anomaly
    archive's rule: the top score must land on the anomaly)."""

    full_state_update = False

    def __init__(self) -> None:
        super().__init__()
        self.add_state("scores", [], dist_reduce_fx="cat")
        self.add_state("labels", [], dist_reduce_fx="cat")

    def update(self, readings: dict[str, Tensor], target: Tensor) -> None:
        self.scores.append(readings["window_score"].float())
        self.labels.append(readings["window_label"].float())

    def compute(self) -> Tensor:
        scores = torch.cat(self.scores) if isinstance(self.scores, list) else self.scores
        labels = torch.cat(self.labels) if isinstance(self.labels, list) else self.labels
        return labels[scores.argmax()]


class ProbabilityLike:
    """Reads scores s >= 0 as s / (1 + s) in float64: the same order, inside [0, 1]. torchmetrics
    would squash a batch of values outside [0, 1] with a sigmoid, which ties large scores at 1.0
    and treats batches differently; AUROC only needs the order. (A class, so metrics pickle.)"""

    def __init__(self, key: str) -> None:
        self.key = key

    def __call__(self, readings: dict[str, Tensor]) -> Tensor:
        score = readings[self.key].double()
        return score / (1 + score)


def anomaly_metrics() -> MetricCollection:
    """The test metrics described in `SequenceAutoencoder` (per step, with labels)."""
    score, flag, baseline = ProbabilityLike("score"), itemgetter("flag"), ProbabilityLike("baseline")
    return MetricCollection(
        {
            "auroc": LambdaInputTransformer(BinaryAUROC(), transform_pred=score),
            "precision": LambdaInputTransformer(BinaryPrecision(), transform_pred=flag),
            "recall": LambdaInputTransformer(BinaryRecall(), transform_pred=flag),
            "f1": LambdaInputTransformer(BinaryF1Score(), transform_pred=flag),
            "top_window_hit": TopWindowHit(),
            "baseline_auroc": LambdaInputTransformer(BinaryAUROC(), transform_pred=baseline),
        },
        compute_groups=False,
    )
