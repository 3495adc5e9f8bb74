"""Time-series figures in TensorBoard: validation forecasts (history, actual, forecast, intervals)
and test anomaly scores (series, scores, threshold, labelled anomalies)."""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, Any

import lightning as L
import torch

from seqnet.callbacks.tensorboard import tensorboard_writers
from seqnet.data import SeqBatch
from seqnet.errors import InputError

if TYPE_CHECKING:
    from matplotlib.figure import Figure


class ForecastFigure(L.Callback):
    """Plot the first `n` windows of the first validation batch every `every_n_epochs` epochs: the
    history, the actual values, the forecast with its 80 % and 95 % intervals (probabilistic
    outputs), and the seasonal-naive baseline, for the first target series.

    Acts on forecasters only (tasks with a `baseline(batch)` and a forecast dict from `forward`);
    switch it off with `callbacks.forecasts=null`.
    """

    def __init__(self, n: int = 4, every_n_epochs: int = 1, tag: str = "val/forecasts") -> None:
        if n < 1 or every_n_epochs < 1:
            raise InputError(f"n and every_n_epochs must be at least 1, got {n} and {every_n_epochs}")
        self.n, self.every_n_epochs, self.tag = n, every_n_epochs, tag

    def on_validation_batch_end(  # (..., batch_idx, dataloader_idx=0) as Lightning passes them
        self,
        trainer: L.Trainer,
        pl_module: L.LightningModule,
        outputs: Any,
        batch: Any,
        batch_idx: int,
        *_: Any,
    ) -> None:
        baseline = getattr(pl_module, "baseline", None)
        writers = tensorboard_writers(trainer)
        if (
            batch_idx != 0
            or baseline is None
            or not writers
            or trainer.sanity_checking
            or not trainer.is_global_zero
            or trainer.current_epoch % self.every_n_epochs
        ):
            return
        few = first_rows(batch, self.n)
        with torch.no_grad():
            forecast = {k: v.cpu() for k, v in pl_module(few).items()}
            naive = baseline(few).cpu()
        history = few.inputs.index_select(-1, pl_module.target_index.to(few.inputs.device)).cpu()
        figure = draw_forecasts(history, few.lengths, few.targets.cpu(), forecast, naive)
        for writer in writers:
            writer.add_figure(self.tag, figure, global_step=trainer.global_step)


def first_rows(batch: SeqBatch, n: int) -> SeqBatch:
    """The first `n` rows of a batch."""

    def cut(t: torch.Tensor | None) -> torch.Tensor | None:
        return None if t is None else t[:n]

    return replace(
        batch,
        inputs=batch.inputs[:n],
        lengths=batch.lengths[:n],
        targets=batch.targets[:n],
        target_lengths=cut(batch.target_lengths),
        conditions=cut(batch.conditions),
        future=cut(batch.future),
    )


def draw_forecasts(
    history: torch.Tensor,
    lengths: torch.Tensor,
    actual: torch.Tensor,
    forecast: dict[str, torch.Tensor],
    baseline: torch.Tensor,
) -> Figure:
    """One panel per window, first target: history (B, T, K) up to `lengths`, actual (B, H, K),
    `forecast` {"preds", optional "lower80"/"upper80"/"lower95"/"upper95"} (B, H, K), baseline (B, H, K)."""
    from matplotlib.figure import Figure  # imported here: most runs never draw

    rows = history.shape[0]
    figure = Figure(figsize=(8, 2.2 * rows))
    horizon = actual.shape[1]
    for row in range(rows):
        axes = figure.add_subplot(rows, 1, row + 1)
        past = history[row, : int(lengths[row]), 0]
        axes.plot(range(-len(past), 0), past, color="0.4", label="history")
        ahead = range(horizon)
        for level, shade in (("95", 0.15), ("80", 0.3)):
            if f"lower{level}" in forecast:
                lower, upper = forecast[f"lower{level}"][row, :, 0], forecast[f"upper{level}"][row, :, 0]
                axes.fill_between(ahead, lower, upper, color="C0", alpha=shade, label=f"{level} % interval")
        axes.plot(ahead, actual[row, :, 0], color="black", label="actual")
        axes.plot(ahead, forecast["preds"][row, :, 0], color="C0", label="forecast")
        axes.plot(ahead, baseline[row, :, 0], color="C1", linestyle="--", label="seasonal naive")
        axes.axvline(-0.5, color="0.7", linewidth=0.8)
        if row == 0:
            axes.legend(fontsize=7, ncol=3)
    figure.tight_layout()
    return figure


class AnomalyFigure(L.Callback):
    """Plot the test series (first channel), its step scores and the threshold, with labelled
    anomalies shaded, after testing: the test windows tile the series in order.

    Acts on anomaly detectors only (tasks whose test step returns the valid steps' "score" and
    that have a `threshold`); switch it off with `callbacks.anomalies=null`.
    """

    def __init__(self, tag: str = "test/anomaly_scores") -> None:
        self.tag = tag
        self.parts: list[tuple[torch.Tensor, torch.Tensor, torch.Tensor]] = []

    def on_test_epoch_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self.parts = []

    def on_test_batch_end(  # (..., batch, batch_idx, dataloader_idx=0) as Lightning passes them
        self, trainer: L.Trainer, pl_module: L.LightningModule, outputs: Any, batch: Any, *_: Any
    ) -> None:
        preds = getattr(outputs, "preds", None)  # the test step's own scores: nothing is recomputed
        if not isinstance(preds, dict) or "score" not in preds or not tensorboard_writers(trainer):
            return
        mask = batch.mask  # the test step's scores are those of the valid steps, in order
        labels = batch.targets.clamp(min=0)
        self.parts.append((batch.inputs[..., 0][mask].cpu(), preds["score"].cpu(), labels[mask].cpu()))

    def on_test_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if not self.parts or not trainer.is_global_zero:
            return
        series, scores, labels = (torch.cat(part) for part in zip(*self.parts, strict=True))
        figure = draw_anomalies(series, scores, labels, float(pl_module.threshold))
        for writer in tensorboard_writers(trainer):
            writer.add_figure(self.tag, figure, global_step=trainer.global_step)
        self.parts = []


def draw_anomalies(
    series: torch.Tensor, scores: torch.Tensor, labels: torch.Tensor, threshold: float
) -> Figure:
    """Two panels over the steps (N,): the series with labelled anomalies shaded, and the scores
    with the threshold."""
    from matplotlib.figure import Figure

    figure = Figure(figsize=(10, 4.5))
    top, bottom = figure.subplots(2, 1, sharex=True)
    steps = torch.arange(len(series))
    top.plot(steps, series, color="0.3", linewidth=0.7)
    bottom.plot(steps, scores, color="C0", linewidth=0.7, label="score")
    if threshold != float("inf"):
        bottom.axhline(threshold, color="C3", linestyle="--", linewidth=0.8, label="threshold")
    for axes in (top, bottom):
        axes.fill_between(
            steps, 0, 1, where=labels.bool(), color="C3", alpha=0.2, transform=axes.get_xaxis_transform()
        )
    top.set_ylabel("series")
    bottom.set_ylabel("score")
    bottom.set_xlabel("test step")
    bottom.legend(fontsize=7)
    figure.tight_layout()
    return figure
