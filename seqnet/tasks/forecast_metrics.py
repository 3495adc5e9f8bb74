"""Forecast metrics in data units, the seasonal-naive baseline, and what they read.

A forecaster's evaluation step hands its metrics one dict of flat tensors (N,) over every forecast value of
the batch (windows x steps x targets): "preds" (the model's point forecast), "baseline" (seasonal naive
on the same windows) and, for probabilistic outputs, "lower80"/"upper80" and "lower95"/"upper95".
Each metric reads its entries:

- mae, rmse, smape, mape (torchmetrics; sMAPE and MAPE as fractions: 0.05 is 5 %), and the same
  of the baseline as baseline_mae, ...; MAPE is left out when a training target touches 0.
- mase: the model's MAE over the seasonal-naive forecast's MAE on the same windows (below 1 beats
  the baseline). This scales by the baseline's out-of-sample error on the evaluated windows, not
  by the in-sample error of the classic MASE, so it compares the two forecasts directly.
- coverage80, coverage95: the share of actual values inside the central 80 % / 95 % intervals.
"""

from __future__ import annotations

from operator import itemgetter

import torch
from torch import Tensor
from torchmetrics import (
    MeanAbsoluteError,
    MeanAbsolutePercentageError,
    MeanSquaredError,
    Metric,
    MetricCollection,
    SymmetricMeanAbsolutePercentageError,
)
from torchmetrics.wrappers import LambdaInputTransformer

from seqnet.errors import InputError

INTERVAL_LEVELS = {"80": 0.8, "95": 0.95}


def seasonal_naive(history: Tensor, lengths: Tensor, horizon: int, season: int) -> Tensor:
    """The seasonal-naive forecast: each step repeats the value one season earlier.

    history (B, T, K) in data units, valid up to `lengths` (B,) (on any device); returns (B, H, K)
    where step h (0-based) from the origin t (just after the history) is y[t + h - season * k],
    k = h // season + 1. season=1 is the naive forecast (the last value, repeated).
    """
    shortest = season if torch.compiler.is_exporting() else int(lengths.min())
    if shortest < season:
        raise InputError(
            f"the seasonal-naive baseline needs a history of at least one season ({season} steps), "
            f"but a window has {shortest}; lengthen data.source.window or lower data.source.season"
        )
    steps = torch.arange(horizon, device=history.device)  # (H,)
    back = season * (steps // season + 1) - steps  # (H,) steps before the origin
    positions = lengths.to(history.device).unsqueeze(1) - back  # (B, H)
    index = positions.unsqueeze(-1).expand(-1, -1, history.shape[-1])  # (B, H, K)
    return history.gather(1, index)


def last_steps(values: Tensor, lengths: Tensor, count: int) -> Tensor:
    """The last `count` valid steps of each row: values (B, T, K) valid up to `lengths` (B,) (on
    any device) -> (B, count, K)."""
    offsets = torch.arange(-count, 0, device=values.device)  # (N,)
    positions = lengths.to(values.device).unsqueeze(1) + offsets  # (B, N)
    return values.gather(1, positions.unsqueeze(-1).expand(-1, -1, values.shape[-1]))


class RelativeMAE(Metric):
    """MAE of the "preds" forecast over the MAE of the "baseline" on the same values (MASE)."""

    full_state_update = False

    def __init__(self) -> None:
        super().__init__()
        self.add_state("model_error", torch.tensor(0.0, dtype=torch.float64), dist_reduce_fx="sum")
        self.add_state("baseline_error", torch.tensor(0.0, dtype=torch.float64), dist_reduce_fx="sum")

    def update(self, forecast: dict[str, Tensor], target: Tensor) -> None:
        self.model_error += (forecast["preds"] - target).abs().sum().double()
        self.baseline_error += (forecast["baseline"] - target).abs().sum().double()

    def compute(self) -> Tensor:
        return (self.model_error / self.baseline_error.clamp(min=1e-12)).float()


class IntervalCoverage(Metric):
    """Share of targets inside [forecast["lower<level>"], forecast["upper<level>"]]."""

    full_state_update = False

    def __init__(self, level: str) -> None:
        super().__init__()
        self.level = level
        self.add_state("inside", torch.tensor(0.0, dtype=torch.float64), dist_reduce_fx="sum")
        self.add_state("total", torch.tensor(0.0, dtype=torch.float64), dist_reduce_fx="sum")

    def update(self, forecast: dict[str, Tensor], target: Tensor) -> None:
        lower, upper = forecast[f"lower{self.level}"], forecast[f"upper{self.level}"]
        self.inside += ((target >= lower) & (target <= upper)).sum().double()
        self.total += target.numel()

    def compute(self) -> Tensor:
        return (self.inside / self.total.clamp(min=1)).float()


def _errors(entry: str, percentages: bool) -> dict[str, Metric]:
    """MAE, RMSE, sMAPE (and MAPE) of one entry of the forecast dict."""
    metrics: dict[str, Metric] = {
        "mae": MeanAbsoluteError(),
        "rmse": MeanSquaredError(squared=False),
        "smape": SymmetricMeanAbsolutePercentageError(),
    }
    if percentages:
        metrics["mape"] = MeanAbsolutePercentageError()
    read = itemgetter(entry)
    return {name: LambdaInputTransformer(metric, transform_pred=read) for name, metric in metrics.items()}


def forecast_metrics(mape: bool, intervals: list[str]) -> MetricCollection:
    """The metrics above; `mape`: include MAPE; `intervals`: the levels ("80", "95") to cover."""
    metrics: dict[str, Metric] = {**_errors("preds", mape), "mase": RelativeMAE()}
    metrics.update({f"baseline_{name}": metric for name, metric in _errors("baseline", mape).items()})
    metrics.update({f"coverage{level}": IntervalCoverage(level) for level in intervals})
    return MetricCollection(metrics, compute_groups=False)


def training_metrics() -> MetricCollection:
    """What a forecaster scores its training windows by: MAE and RMSE of the point forecast, read
    as a flat tensor (N,) (not the dict above: plain tensors let training steps batch updates)."""
    return MetricCollection(
        {"mae": MeanAbsoluteError(), "rmse": MeanSquaredError(squared=False)}, compute_groups=False
    )
