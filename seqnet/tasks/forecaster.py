"""`Forecaster`: multi-horizon forecasts of a series from a window of its past (and covariates)."""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from seqnet.data import DataSpec, SeqBatch, collate_sequences
from seqnet.data.prediction import PredictionInput
from seqnet.errors import InputError
from seqnet.nn.decoder import StateBridge
from seqnet.tasks.base import SequenceModule, StepOutput
from seqnet.tasks.forecast_metrics import (
    INTERVAL_LEVELS,
    forecast_metrics,
    last_steps,
    seasonal_naive,
    training_metrics,
)
from seqnet.tasks.forecast_outputs import build_forecast_output

log = logging.getLogger(__name__)

STYLES = ("direct", "autoregressive")
SCALINGS = ("train", "window", "mean")
TRANSFORMS = ("none", "log")


class Forecaster(SequenceModule):
    """Forecast the next H steps of the target series from a window of W past steps.

    embed the window -> encode -> either a head that emits all H steps at once (`style="direct"`)
    or a decoder that steps through the horizon carrying its state (`style="autoregressive"`: it
    reads the previous step's value, the true one in training (teacher forcing), its own forecast
    at evaluation and prediction). Known-future covariates (`DataSpec.future_features`) of the
    forecast steps join the direct head's input, or each decoder step's.

    Scaling: the model works on scaled targets, `(y - loc) / scale`: the training split's mean and
    standard deviation (`scaling="train"`); each window's own mean and standard deviation over its
    history (`scaling="window"`, instance normalisation: the model sees the shape of the window
    rather than its level, which lets it follow a trend past the training range); or the window's
    mean and the training split's spread (`scaling="mean"`, which keeps growth rates comparable
    across windows). An optional log comes first (`transform="log"`: multiplicative seasonality
    becomes additive, and `mean` scaling divides by each window's geometric mean). Forecasts, intervals and
    every metric are in data units. Metrics (`seqnet.tasks.forecast_metrics`) include the
    seasonal-naive forecast of the same windows as `baseline_*`, and MASE against it.

    `highway=N` adds a linear map from the last N scaled values of each target to its forecast
    (direct style), the autoregressive "highway" of LSTNet (Lai et al., 2018): the recurrent part
    then models what a linear autoregression misses, which helps most on short series.

    Hooks: `embed`, `encode` (see `SequenceModule`), `scales(batch)`, `forecast(batch, ...)`.

    Args:
        spec: the data set's `DataSpec` (forecasting data: `horizon` and `target_features` set).
        style: direct | autoregressive.
        output: point | gaussian | quantile (see `seqnet.tasks.forecast_outputs`).
        loss: point forecasts: mse | mae.
        quantiles: quantile forecasts: the probabilities, including 0.5 (default 0.025, 0.1,
            0.5, 0.9, 0.975, which give the 80 % and 95 % intervals).
        scaling: window (the default: it beat train on the series defaults are chosen on,
            benchmarks/zero_config/choose/csv_series.json) | train | mean.
        transform: none | log (strictly positive targets; window or mean scaling).
        highway: direct style: steps of the linear autoregressive highway (0: none).
        decoder: autoregressive style: `RecurrentEncoder` arguments of the decoder (unidirectional;
            default: the encoder's cell and hidden size, one layer).
        head_hidden: direct style: width of a hidden ReLU layer before the head (0: linear head).
        dropout: on the features the head reads.
        **options: what every task takes — encoder, embedding_dim, optimizer, scheduler,
            gradient_clip_val, gradient_clip_algorithm, monitor, monitor_mode (see `SequenceModule`).
    """

    TARGET_KINDS = ("series",)
    CONFIG_NAME = "forecaster"
    CAPABILITIES = frozenset({"predict", "backtest"})

    def __init__(
        self,
        spec: DataSpec | dict,
        style: str = "direct",
        output: str = "point",
        loss: str = "mse",
        quantiles: list[float] | None = None,
        scaling: str = "window",
        transform: str = "none",
        highway: int = 0,
        decoder: dict | None = None,
        head_hidden: int = 0,
        dropout: float = 0.0,
        **options: Any,
    ) -> None:
        super().__init__(spec, **options)
        spec = self.spec
        if spec.horizon < 1 or not spec.target_features:
            raise InputError(
                f"Forecaster needs forecasting data (a horizon and target series), but {spec.name!r} "
                "has none; use data=forecast, a per-series config (airline, co2, ...) or csv_series"
            )
        if style not in STYLES or scaling not in SCALINGS:
            raise InputError(
                f"style must be one of {STYLES} and scaling one of {SCALINGS}; got {style!r}, {scaling!r}"
            )
        if transform not in TRANSFORMS or (transform == "log" and scaling == "train"):
            raise InputError(
                f"transform must be one of {TRANSFORMS} (log with scaling=window or mean), got {transform!r}"
            )
        positive = min(spec.target_min or [0.0]) > 0  # MAPE and the log need it
        if transform == "log" and not positive:
            raise InputError(
                f"transform=log needs positive targets, but {spec.name!r} has a minimum of "
                f"{spec.target_min}; use transform=none"
            )
        if highway and style != "direct":
            raise InputError("highway adds to the direct head: set style=direct or highway=0")
        self.style, self.scaling, self.transform, self.highway = style, scaling, transform, highway
        self.horizon, self.season = spec.horizon, max(1, spec.season)
        self.predict_horizon: int | None = None  # forecast this many steps (autoregressive style)
        targets, future = spec.target_features, spec.future_features or []
        self.register_buffer("target_index", torch.tensor(targets), persistent=False)
        self.register_buffer("target_mean", torch.tensor(spec.target_mean), persistent=False)
        self.register_buffer("target_std", torch.tensor(spec.target_std), persistent=False)
        self.register_buffer("future_index", torch.tensor(future, dtype=torch.int64), persistent=False)
        self.dropout = nn.Dropout(dropout)
        size = len(targets)
        if style == "direct":
            width = self.encoder.output_size + self.horizon * len(future)
            self.hidden = (
                nn.Sequential(nn.Linear(width, head_hidden), nn.ReLU()) if head_hidden else nn.Identity()
            )
            self.output = build_forecast_output(
                output, head_hidden or width, size, self.horizon, loss, quantiles
            )
            self.highway_map = nn.Linear(highway, self.horizon) if highway else None
        else:
            self.decoder = self.forward_decoder(size + len(future), decoder)
            self.bridge = StateBridge(self.encoder.output_size, self.decoder.state_sizes)
            self.output = build_forecast_output(output, self.decoder.output_size, size, 1, loss, quantiles)
        self.intervals = [name for name, level in INTERVAL_LEVELS.items() if self.output.has_interval(level)]
        if not positive:
            log.info("%s: MAPE left out, a training target touches 0 (min %s)", spec.name, spec.target_min)
        # Training windows are scored by MAE and RMSE alone: the baseline's and the percentage
        # errors cost a seasonal-naive forecast per step and 7 more logged values per epoch, which on
        # a small series (airline: 2 batches an epoch) was most of a training step.
        self.setup_metrics(forecast_metrics(positive, self.intervals), train_metrics=training_metrics())

    # --- hooks --------------------------------------------------------------------------------
    def to_model(self, values: Tensor) -> Tensor:
        """Target values in data units -> the transformed units that `scales` scale."""
        return values.clamp(min=1e-12).log() if self.transform == "log" else values

    def to_data(self, values: Tensor) -> Tensor:
        """The inverse of `to_model`."""
        return values.exp() if self.transform == "log" else values

    def scales(self, batch: SeqBatch) -> tuple[Tensor, Tensor]:
        """loc and scale (B, 1, K) in transformed units (`to_model`) that map targets to model units."""
        rows = len(batch)
        if self.scaling == "train":
            return self.target_mean.expand(rows, 1, -1), self.target_std.expand(rows, 1, -1)
        history = self.to_model(batch.inputs.index_select(-1, self.target_index))  # (B, T, K)
        mask = batch.mask.unsqueeze(-1).to(history.dtype)  # (B, T, 1)
        count = mask.sum(1, keepdim=True)  # (B, 1, 1)
        loc = (history * mask).sum(1, keepdim=True) / count  # (B, 1, K)
        # the training split's spread in transformed units (for log, the delta method's std/mean)
        spread = self.target_std / self.target_mean.abs() if self.transform == "log" else self.target_std
        if self.scaling == "mean":
            return loc, spread.expand(rows, 1, -1)
        own = (((history - loc) * mask).pow(2).sum(1, keepdim=True) / count).sqrt()
        return loc, torch.maximum(own, 0.01 * spread)  # a flat window keeps a scale

    def forecast(self, batch: SeqBatch, loc: Tensor, scale: Tensor, teacher: Tensor | None = None) -> Tensor:
        """Output parameters (B, H, K, P) in model units; `teacher` (B, H, K): the true scaled
        targets, fed back step by step by the autoregressive decoder (teacher forcing). Without a
        teacher, an autoregressive forecaster steps `predict_horizon` times when it is set."""
        steps = self.steps_to_forecast() if teacher is None else self.horizon
        x = self.standardize(batch.inputs)  # (B, T, F)
        history = (self.to_model(batch.inputs.index_select(-1, self.target_index)) - loc) / scale  # (B, T, K)
        x = x.index_copy(-1, self.target_index, history)
        enc = self.encode(self.input_layer(x), batch.lengths)
        future = self._future(batch, steps)  # (B, H, Cf)
        if self.style == "direct":
            features = torch.cat([enc.last, future.flatten(1)], dim=-1)  # (B, D + H * Cf)
            params = self.output(self.hidden(self.dropout(features)))  # (B, H, K, P)
            if self.highway_map is None:
                return params
            recent = self._recent(history, batch.lengths)  # (B, N, K)
            return params + self.highway_map(recent.transpose(1, 2)).transpose(1, 2).unsqueeze(-1)
        last = last_steps(history, batch.lengths, 1)  # (B, 1, K) the last observed values
        state = self.bridge(enc.last)
        if teacher is not None:
            previous = torch.cat([last, teacher[:, :-1]], dim=1)  # (B, H, K)
            out = self.decoder(torch.cat([previous, future], dim=-1), None, state).outputs  # (B, H, D)
            return self.output(self.dropout(out))
        found, previous = [], last[:, 0]  # (B, K)
        for h in range(steps):
            y_t, state = self.decoder.step(torch.cat([previous, future[:, h]], dim=-1), state)
            params = self.output(self.dropout(y_t))  # (B, 1, K, P)
            found.append(params)
            previous = self.output.point(params)[:, 0]
        return torch.cat(found, dim=1)

    def steps_to_forecast(self) -> int:
        """The trained horizon, or `predict_horizon` (set it, or `seqnet-predict horizon=N`, to
        forecast further): only an autoregressive forecaster without known-future covariates can
        step past what it was trained on."""
        steps = self.predict_horizon or self.horizon
        if steps != self.horizon and (self.style != "autoregressive" or len(self.future_index)):
            why = "a direct head emits" if self.style != "autoregressive" else "its covariates cover"
            raise InputError(
                f"this forecaster forecasts {self.horizon} steps ({why} exactly those), not {steps}; "
                "train with model.style=autoregressive (and no known-future covariates) to step further"
            )
        return steps

    def _recent(self, history: Tensor, lengths: Tensor) -> Tensor:
        """The last `highway` values of each row's history (B, T, K) -> (B, N, K)."""
        if int(lengths.min()) < self.highway:
            raise InputError(
                f"highway={self.highway} reads that many past steps, but a window has "
                f"{int(lengths.min())}; lengthen the window or lower model.highway"
            )
        return last_steps(history, lengths, self.highway)

    def _future(self, batch: SeqBatch, steps: int) -> Tensor:
        """Standardised known-future covariates (B, H, Cf); (B, steps, 0) when the data has none."""
        if not len(self.future_index):
            return batch.inputs.new_zeros(len(batch), steps, 0)
        if batch.future is None or batch.future.shape[1] != self.horizon:
            raise InputError(
                f"this forecaster reads {len(self.future_index)} known-future covariates over its "
                f"{self.horizon} forecast steps; the batch has none for them"
            )
        mean = self.feature_mean.index_select(-1, self.future_index)
        std = self.feature_std.index_select(-1, self.future_index)
        return (batch.future - mean) / std

    # --- composed -----------------------------------------------------------------------------
    def readings(self, params: Tensor, loc: Tensor, scale: Tensor) -> dict[str, Tensor]:
        """The point forecast and interval bounds (B, H, K) in data units."""
        out = {"preds": self.to_data(self.output.point(params) * scale + loc)}
        for name in self.intervals:
            lower, upper = self.output.interval(params, INTERVAL_LEVELS[name])
            out[f"lower{name}"] = self.to_data(lower * scale + loc)
            out[f"upper{name}"] = self.to_data(upper * scale + loc)
        return out

    def baseline(self, batch: SeqBatch) -> Tensor:
        """The seasonal-naive forecast (B, H, K) of the batch's windows, in data units."""
        history = batch.inputs.index_select(-1, self.target_index)
        return seasonal_naive(history, batch.lengths, self.horizon, self.season)

    def _step(self, batch: SeqBatch, training: bool) -> StepOutput:
        """Training teacher-forces an autoregressive decoder; evaluation also scores the baseline."""
        loc, scale = self.scales(batch)
        targets = (self.to_model(batch.targets) - loc) / scale  # (B, H, K) model units
        teacher = targets if training and self.style == "autoregressive" else None
        params = self.forecast(batch, loc, scale, teacher)
        loss = self.output.loss(params, targets)
        readings = self.readings(params.detach(), loc, scale)
        flat = {name: value.flatten() for name, value in readings.items()}
        if not training:
            flat["baseline"] = self.baseline(batch).flatten()  # what evaluation's MASE compares with
        weight = torch.tensor(targets.numel(), device=targets.device)
        return StepOutput(loss, weight, flat, batch.targets.flatten())

    def step(self, batch: SeqBatch) -> StepOutput:
        """Training: the autoregressive decoder is teacher-forced."""
        return self._step(batch, training=True)

    def evaluation_step(self, batch: SeqBatch) -> StepOutput:
        """Validation and test forecast as at prediction: the decoder feeds back its own forecasts."""
        return self._step(batch, training=False)

    def forward(self, batch: SeqBatch) -> dict[str, Tensor]:
        """{"preds": (B, H, K)} in data units, plus "lower80"/"upper80"/"lower95"/"upper95" for
        probabilistic outputs."""
        loc, scale = self.scales(batch)
        return self.readings(self.forecast(batch, loc, scale), loc, scale)

    def predict_step(self, batch: SeqBatch, batch_idx: int = 0) -> dict[str, Tensor]:
        return self(batch)

    @torch.no_grad()
    def backtest(self, series: Any, start: int | float = 0.8, stride: int | None = None) -> dict[str, Any]:
        """Rolling-origin evaluation (Darts' `historical_forecasts`): from each origin o = start,
        start + stride, ... with o + horizon <= N, forecast the horizon from the `window` steps
        before o, as at prediction (known-future covariates read from the series), and score each
        origin and all of them beside the seasonal-naive forecast from the same origins.

        series: (N, F) in data units, the trained columns in order (a ForecastSource's `read()`).
        start: the first origin, a step or a fraction of N; stride: steps between origins (default
        the horizon: each step is forecast once).
        Returns {"origins": [{"origin", "mae", "rmse", "baseline_mae", "mase"}], "overall": the
        same over every forecast value, with "origins" counted}.
        """
        values = torch.as_tensor(np.asarray(series, dtype=np.float32))
        values = values.reshape(len(values), -1)  # (N, F)
        first = round(start * len(values)) if isinstance(start, float) else int(start)
        first, stride = max(first, self.spec.window), stride or self.horizon
        origins = list(range(first, len(values) - self.horizon + 1, stride))
        if not origins:
            raise InputError(
                f"no origin from step {first} leaves {self.horizon} steps to forecast in a series of "
                f"{len(values)}; start earlier"
            )
        targets, future = self.spec.target_features, self.spec.future_features
        items = [
            (
                values[o - self.spec.window : o],  # (W, F)
                values[o : o + self.horizon, targets],  # (H, K)
                None,
                values[o : o + self.horizon, future] if future else None,  # (H, Cf)
            )
            for o in origins
        ]
        training = self.training
        self.eval()
        try:
            batch = collate_sequences(items).to(self.device)
            forecast, baseline = self(batch)["preds"], self.baseline(batch)  # (B, H, K) each
        finally:
            self.train(training)
        error, naive = (forecast - batch.targets).abs(), (baseline - batch.targets).abs()  # (B, H, K)

        def scores(error: Tensor, naive: Tensor) -> dict[str, float]:
            mae, baseline_mae = float(error.mean()), float(naive.mean())
            return {
                "mae": mae, "rmse": float(error.pow(2).mean().sqrt()), "baseline_mae": baseline_mae,
                "mase": mae / baseline_mae if baseline_mae > 0 else float("nan"),
            }  # fmt: skip

        per_origin = [{"origin": o, **scores(error[i], naive[i])} for i, o in enumerate(origins)]
        return {"origins": per_origin, "overall": {**scores(error, naive), "origins": len(origins)}}

    def record(self, prediction: dict[str, Any], row: int, source: PredictionInput) -> dict[str, Any]:
        """{"forecast": one entry per step: "step" (1..), its date under the time column's name
        where the series has one, "line" (the input file's row that held its known-future
        covariates), and each target's value by column name, with `_lower80`-style suffixes for
        interval bounds}."""
        names = (
            [self.spec.feature_names[c] for c in self.spec.target_features] if self.spec.feature_names else []
        )
        names = names or [f"target{k}" for k in range(prediction["preds"].shape[-1])]
        steps = []
        for step in range(prediction["preds"].shape[1]):
            entry: dict[str, Any] = {"step": step + 1}
            if source.future_times:
                entry[self.spec.time_column] = source.future_times[step]
            if source.future_lines:
                entry["line"] = source.future_lines[step]
            for key, values in prediction.items():
                suffix = "" if key == "preds" else f"_{key}"
                for k, name in enumerate(names):
                    entry[f"{name}{suffix}"] = round(float(values[row, step, k]), 6)
            steps.append(entry)
        return {"forecast": steps}
