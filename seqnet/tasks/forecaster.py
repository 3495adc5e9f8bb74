"""`Forecaster`: multi-horizon forecasts of a series from a window of its past (and covariates)."""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from seqnet.data import DataSpec, SeqBatch, collate_sequences
from seqnet.data.prediction import PredictionInput
from seqnet.errors import InputError
from seqnet.nn.decoder import StateBridge
from seqnet.tasks.base import SERIES_ENCODER, SequenceModule, StepOutput
from seqnet.tasks.export import Graph, example_inputs
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
ANCHORS = ("none", "seasonal_naive")
# what `auto` stands for: the candidates trained side by side and chosen between on validation
AUTO = {"scaling": ("train", "window"), "anchor": ("seasonal_naive", "none")}
SCALINGS = ("train", "window", "mean")
TRANSFORMS = ("none", "log")


def candidate_settings(scaling: str, anchor: str, transform: str) -> list[tuple[str, str]]:
    """The (scaling, anchor) pairs a forecaster trains side by side: an `auto` value stands for each
    of its `AUTO` candidates (train scaling left out under a log transform, which it cannot take)."""
    scalings = (
        [s for s in AUTO["scaling"] if transform != "log" or s != "train"] if scaling == "auto" else [scaling]
    )
    anchors = list(AUTO["anchor"]) if anchor == "auto" else [anchor]
    return [(s, a) for s in scalings for a in anchors]


def _mirror_chosen(module: Forecaster, incompatible: object) -> None:
    """After a state dict loads, the host copy of the chosen candidate follows its buffer."""
    module._chosen = int(module.chosen)


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

    `anchor="seasonal_naive"` makes the network forecast a correction to the seasonal-naive
    forecast of its window (in model units) rather than the series itself, with a head that starts
    at zero: an untrained model is the baseline, and training moves off it only as far as the
    training windows support (the "naive residual" of N-BEATS-style and hybrid forecasters).

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
        scaling: window | train | mean, or auto (train and window side by side, the one with the
            better validation metric kept).
        transform: none | log (strictly positive targets; window or mean scaling).
        anchor: seasonal_naive | none (forecast the correction to the window's seasonal-naive
            forecast, starting from it), or auto (both, chosen on validation). The defaults,
            window scaling with the anchor, lost to seasonal naive on the fewest of the six series
            defaults are chosen on, and by the least (benchmarks/zero_config/choose/csv_series.json).
        highway: direct style: steps of the linear autoregressive highway (0: none).
        decoder: autoregressive style: `RecurrentEncoder` arguments of the decoder (unidirectional;
            default: the encoder's cell and hidden size, one layer).
        head_hidden: direct style: width of a hidden ReLU layer before the head (0: linear head).
        dropout: on the features the head reads.
        **options: what every task takes — encoder, embedding_dim, optimizer, scheduler,
            gradient_clip_val, gradient_clip_algorithm, monitor, monitor_mode (see `SequenceModule`).
    """

    TARGET_KINDS = ("series",)
    DEFAULT_ENCODER = SERIES_ENCODER
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
        anchor: str = "seasonal_naive",
        highway: int = 0,
        decoder: dict | None = None,
        head_hidden: int = 0,
        dropout: float = 0.0,
        **options: Any,
    ) -> None:
        super().__init__(spec, **options)
        spec = self.spec
        choices = candidate_settings(scaling, anchor, transform)
        scaling, anchor = choices[0]  # this module is the first candidate, the others its members
        if spec.horizon < 1 or not spec.target_features:
            raise InputError(
                f"Forecaster needs forecasting data (a horizon and target series), but {spec.name!r} "
                "has none; use data=forecast, a per-series config (airline, co2, ...) or csv_series"
            )
        if style not in STYLES or scaling not in SCALINGS:
            raise InputError(
                f"style must be one of {STYLES} and scaling one of {SCALINGS} or auto; "
                f"got {style!r}, {scaling!r}"
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
        if anchor not in ANCHORS:
            raise InputError(f"anchor must be one of {ANCHORS} or auto, got {anchor!r}")
        if highway and style != "direct":
            raise InputError("highway adds to the direct head: set style=direct or highway=0")
        self.style, self.scaling, self.transform, self.highway = style, scaling, transform, highway
        self.anchor = anchor
        self.horizon, self.season = spec.horizon, max(1, spec.season)
        self.predict_horizon: int | None = None  # forecast this many steps (autoregressive style)
        targets, future = spec.target_features, spec.future_features or []
        self.register_buffer("target_index", torch.tensor(targets), persistent=False)
        self.register_buffer("target_mean", torch.tensor(spec.target_mean), persistent=False)
        self.register_buffer("target_std", torch.tensor(spec.target_std), persistent=False)
        self.register_buffer("future_index", torch.tensor(future, dtype=torch.int64), persistent=False)
        self.inputs_are_targets = list(targets) == list(range(spec.input_size))  # a univariate series
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
        if anchor != "none":
            self.output.start_at_zero()
        self.intervals = [name for name, level in INTERVAL_LEVELS.items() if self.output.has_interval(level)]
        if not positive:
            log.info("%s: MAPE left out, a training target touches 0 (min %s)", spec.name, spec.target_min)
        # Training windows are scored by MAE and RMSE alone: the baseline's and the percentage
        # errors cost a seasonal-naive forecast per step and 7 more logged values per epoch, which on
        # a small series (airline: 2 batches an epoch) was most of a training step.
        self.setup_metrics(forecast_metrics(positive, self.intervals), train_metrics=training_metrics())
        same = dict(style=style, output=output, loss=loss, quantiles=quantiles, transform=transform,
                    highway=highway, decoder=decoder, head_hidden=head_hidden, dropout=dropout)  # fmt: skip
        self.others = nn.ModuleList(
            Forecaster(spec, scaling=s, anchor=a, **same, **options) for s, a in choices[1:]
        )
        self.choices = [f"{s} scaling, {a} anchor" for s, a in choices]
        self._chosen = 0  # the chosen candidate, read every step without a device sync
        if self.others:  # saved as a buffer: the checkpoint forecasts with its choice
            self.register_buffer("chosen", torch.tensor(0))
            self.register_load_state_dict_post_hook(_mirror_chosen)

    @classmethod
    def unrecorded_defaults(cls, settings: dict[str, Any]) -> dict[str, Any]:
        """Formats 1-2 predate the anchor: those forecasters forecast without one."""
        return {**super().unrecorded_defaults(settings), "anchor": settings.get("anchor", "none")}

    def default_monitor(self, known: list[str]) -> str:
        """Checkpoints and early stopping follow the validation MAE in data units (what MASE and the
        test report score); the loss is in scaled units, which window scaling weighs per window."""
        return "val/mae"

    # --- hooks --------------------------------------------------------------------------------
    def to_model(self, values: Tensor) -> Tensor:
        """Target values in data units -> the transformed units that `scales` scale."""
        return values.clamp(min=1e-12).log() if self.transform == "log" else values

    def to_data(self, values: Tensor) -> Tensor:
        """The inverse of `to_model`."""
        return values.exp() if self.transform == "log" else values

    def scales(self, batch: SeqBatch) -> tuple[Tensor, Tensor]:
        """loc and scale (B, 1, K) in transformed units (`to_model`) that map targets to model units."""
        rows = batch.inputs.shape[0]  # not len(batch): an int, which export would fix to the example's
        if self.scaling == "train":
            return self.target_mean.expand(rows, 1, -1), self.target_std.expand(rows, 1, -1)
        history = self.to_model(self.history_of(batch.inputs))  # (B, T, K)
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
        history = (self.to_model(self.history_of(batch.inputs)) - loc) / scale  # (B, T, K)
        x = history  # (B, T, F): a univariate series is its scaled history
        if not self.inputs_are_targets:
            x = self.standardize(batch.inputs).index_copy(-1, self.target_index, history)
        enc = self.encode(self.input_layer(x), batch.lengths)
        future = self._future(batch, steps)  # (B, H, Cf)
        anchor = self._anchor(history, batch.lengths, steps)  # (B, H, K)
        if self.style == "direct":
            features = enc.last  # (B, D)
            if future.shape[-1]:  # known-future covariates
                features = torch.cat([enc.last, future.flatten(1)], dim=-1)  # (B, D + H * Cf)
            params = self.output(self.hidden(self.dropout(features)))  # (B, H, K, P)
            if self.highway_map is not None:
                recent = self._recent(history, batch.lengths)  # (B, N, K)
                params = params + self.highway_map(recent.transpose(1, 2)).transpose(1, 2).unsqueeze(-1)
            return self.output.shift(params, anchor)
        last = last_steps(history, batch.lengths, 1)  # (B, 1, K) the last observed values
        state = self.bridge(enc.last)
        if teacher is not None:
            previous = torch.cat([last, teacher[:, :-1]], dim=1)  # (B, H, K)
            out = self.decoder(torch.cat([previous, future], dim=-1), None, state).outputs  # (B, H, D)
            return self.output.shift(self.output(self.dropout(out)), anchor)
        found, previous = [], last[:, 0]  # (B, K)
        for h in range(steps):
            y_t, state = self.decoder.step(torch.cat([previous, future[:, h]], dim=-1), state)
            step_anchor = None if anchor is None else anchor[:, h : h + 1]  # (B, 1, K)
            params = self.output.shift(self.output(self.dropout(y_t)), step_anchor)  # (B, 1, K, P)
            found.append(params)
            previous = self.output.point(params)[:, 0]
        return torch.cat(found, dim=1)

    def _anchor(self, history: Tensor, lengths: Tensor, steps: int) -> Tensor | None:
        """What the network's forecast is added to (B, steps, K) in model units: the seasonal-naive
        forecast of the scaled history (B, T, K), or None (nothing)."""
        if self.anchor == "none":
            return None
        return seasonal_naive(history, lengths, steps, self.season)

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
            return batch.inputs.new_zeros(batch.inputs.shape[0], steps, 0)
        if batch.future is None or batch.future.shape[1] != self.horizon:
            raise InputError(
                f"this forecaster reads {len(self.future_index)} known-future covariates over its "
                f"{self.horizon} forecast steps; the batch has none for them"
            )
        mean = self.feature_mean.index_select(-1, self.future_index)
        std = self.feature_std.index_select(-1, self.future_index)
        return (batch.future - mean) / std

    # --- composed -----------------------------------------------------------------------------
    def point_forecast(self, params: Tensor, loc: Tensor, scale: Tensor) -> Tensor:
        """The point forecast (B, H, K) in data units."""
        return self.to_data(self.output.point(params) * scale + loc)

    def readings(self, params: Tensor, loc: Tensor, scale: Tensor) -> dict[str, Tensor]:
        """The point forecast and interval bounds (B, H, K) in data units."""
        out = {"preds": self.point_forecast(params, loc, scale)}
        for name in self.intervals:
            lower, upper = self.output.interval(params, INTERVAL_LEVELS[name])
            out[f"lower{name}"] = self.to_data(lower * scale + loc)
            out[f"upper{name}"] = self.to_data(upper * scale + loc)
        return out

    def baseline(self, batch: SeqBatch) -> Tensor:
        """The seasonal-naive forecast (B, H, K) of the batch's windows, in data units."""
        return seasonal_naive(self.history_of(batch.inputs), batch.lengths, self.horizon, self.season)

    def history_of(self, inputs: Tensor) -> Tensor:
        """The target columns (B, T, K) of inputs (B, T, F), in data units."""
        return inputs if self.inputs_are_targets else inputs.index_select(-1, self.target_index)

    def _step(self, batch: SeqBatch, training: bool) -> StepOutput:
        """Training teacher-forces an autoregressive decoder; evaluation also scores the baseline."""
        loc, scale = self.scales(batch)
        targets = (self.to_model(batch.targets) - loc) / scale  # (B, H, K) model units
        teacher = targets if training and self.style == "autoregressive" else None
        params = self.forecast(batch, loc, scale, teacher)
        loss = self.output.loss(params, targets)
        weight = torch.full((), targets.numel(), dtype=torch.int64, device=targets.device)
        if training:  # the point forecast alone: what the training metrics read
            point = self.point_forecast(params.detach(), loc, scale)  # (B, H, K)
            return StepOutput(loss, weight, point.flatten(), batch.targets.flatten())
        readings = self.readings(params.detach(), loc, scale)
        flat = {name: value.flatten() for name, value in readings.items()}
        flat["baseline"] = self.baseline(batch).flatten()  # what evaluation's MASE compares with
        return StepOutput(loss, weight, flat, batch.targets.flatten())

    # --- candidates (`auto` settings) ---------------------------------------------------------
    def members(self) -> list[Forecaster]:
        """The candidates trained side by side: this module first, then `others` (one for fixed
        settings)."""
        return [self, *self.others]

    def candidate(self) -> Forecaster:
        """The forecaster that forecasts: this one, or the candidate the last validation chose."""
        member = self.members()[self._chosen]
        member.predict_horizon = self.predict_horizon
        return member

    def step(self, batch: SeqBatch) -> StepOutput:
        """Training: the autoregressive decoder is teacher-forced. With candidates, the loss is the
        sum of theirs (each one's gradient is its own) and the metrics read the chosen one's."""
        outs = [member._step(batch, training=True) for member in self.members()]
        chosen = outs[self._chosen]
        return replace(chosen, loss=torch.stack([out.loss for out in outs]).sum()) if self.others else chosen

    def evaluation_step(self, batch: SeqBatch) -> StepOutput:
        """Test (and validation) forecast as at prediction, the decoder feeding back its own
        forecasts, with the chosen candidate."""
        return self.candidate()._step(batch, training=False)

    def validation_step(self, batch: SeqBatch, batch_idx: int) -> StepOutput:
        """With candidates, each one's metrics are gathered, to choose between them at epoch end."""
        if not self.others:
            return super().validation_step(batch, batch_idx)
        outs = [member._step(batch, training=False) for member in self.members()]
        for member, out in zip(self.members(), outs, strict=True):
            member.val_loss.update(out.loss, weight=out.weight)
            member.val_metrics.update(out.preds, out.targets)
        return outs[self._chosen]

    def on_validation_epoch_end(self) -> None:
        """With candidates: keep the one with the best monitored metric, and log its metrics as the
        epoch's (and its index as `val/choice`), so checkpoints and early stopping follow it."""
        if not self.others:
            return super().on_validation_epoch_end()
        scores = []
        for member in self.members():
            scores.append({"val/loss": member.val_loss.compute(), **member.val_metrics.compute()})
            member.val_loss.reset()
            member.val_metrics.reset()
        if self.trainer.sanity_checking:
            return None
        values = torch.stack([score[self.monitor] for score in scores])  # (C,)
        best = int(values.argmax() if self.monitor_mode == "max" else values.argmin())
        if best != self._chosen:
            log.info("%s: validation chose %s (%s %.4g)", self.spec.name, self.choices[best], self.monitor,
                     float(values[best]))  # fmt: skip
        self._chosen = best
        self.chosen.fill_(best)
        self.log_dict({**scores[best], "val/choice": float(best)}, prog_bar=True)
        self.record_best(scores[best])
        return None

    def clip_gradients_now(self, optimizer: torch.optim.Optimizer) -> None:
        """Candidates clip by norm each on its own, as if each trained alone."""
        if not self.others or not self.gradient_clip_val or self.gradient_clip_algorithm != "norm":
            return super().clip_gradients_now(optimizer)
        theirs = {id(p) for p in self.others.parameters()}
        own = [p for p in self.parameters() if id(p) not in theirs]
        for group in [own, *(list(m.parameters()) for m in self.others)]:
            nn.utils.clip_grad_norm_(group, self.gradient_clip_val)
        return None

    # --- export -------------------------------------------------------------------------------
    def export_graphs(self, streaming: bool = False) -> list[Graph]:
        """The full-sequence graph over windows of the trained length: its time axis is static, so
        torch's dynamo-based exporter takes the autoregressive decoder's loop (TorchScript's cannot).
        Known-future covariates are a third input, "future" (B, H, Cf) in data units."""
        graphs = super().export_graphs(streaming)
        for graph in graphs:
            graph.axes = {
                name: {a: n for a, n in axes.items() if n != "steps"} for name, axes in graph.axes.items()
            }
            graph.exporter = "dynamo"
        if self.spec.future_features and not streaming:
            (graph,) = graphs
            graph.module, graph.example = CovariateGraph(self), self._covariate_example
            graph.inputs = [*graph.inputs, "future"]
            graph.axes["future"] = {0: "batch"}
        return graphs

    def _covariate_example(self, lengths: tuple[int, ...]) -> tuple[Tensor, Tensor, Tensor]:
        """An export example with known-future covariates: (inputs, lengths, future (B, H, Cf))."""
        inputs, lengths_ = self.export_example(lengths)
        generator = torch.Generator().manual_seed(1)
        future = torch.randn(len(lengths), self.horizon, len(self.spec.future_features), generator=generator)
        return inputs, lengths_, future

    def export_output_names(self) -> tuple[str, ...]:
        """`forward`'s keys: "preds" (B, H, K) in data units, and the intervals of a probabilistic
        output."""
        intervals = self.candidate().intervals  # as `readings` names its bounds
        return ("preds", *(f"{bound}{name}" for name in intervals for bound in ("lower", "upper")))

    def export_outputs(
        self, inputs: Tensor, lengths: Tensor, future: Tensor | None = None
    ) -> tuple[Tensor, ...]:
        return tuple(self(SeqBatch(inputs, lengths, targets=lengths, future=future)).values())

    def export_example(self, lengths: tuple[int, ...]) -> tuple[Tensor, Tensor]:
        """Windows of the trained length (`spec.window`), one per requested row."""
        return example_inputs(self, (self.spec.window,) * len(lengths))

    def forward(self, batch: SeqBatch) -> dict[str, Tensor]:
        """{"preds": (B, H, K)} in data units, plus "lower80"/"upper80"/"lower95"/"upper95" for
        probabilistic outputs (from the chosen candidate)."""
        member = self.candidate()
        loc, scale = member.scales(batch)
        return member.readings(member.forecast(batch, loc, scale), loc, scale)

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


class CovariateGraph(nn.Module):
    """(inputs, lengths, future covariates (B, H, Cf)) -> a forecaster's exported outputs."""

    def __init__(self, task: Forecaster) -> None:
        super().__init__()
        self.task = task

    def forward(self, inputs: Tensor, lengths: Tensor, future: Tensor) -> tuple[Tensor, ...]:
        return self.task.export_outputs(inputs, lengths, future)
