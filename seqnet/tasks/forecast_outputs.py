"""What a forecaster predicts at each forecast step: a point, a Gaussian, or quantiles.

Each output object is a linear head, its loss and its readings (the point forecast and prediction
intervals), all in the model's scaled units; the `Forecaster` maps readings to data units, which
a positive scale and a shift do exactly for all three (means, quantiles and interval bounds).

- `PointOutput`: one value per step and target; MSE or MAE loss; no intervals.
- `GaussianOutput`: mean and scale (softplus); Gaussian negative log-likelihood
  (`F.gaussian_nll_loss`, full); central intervals at any level.
- `QuantileOutput`: the chosen quantiles; pinball loss; the median is the point forecast and the
  quantile pairs that enclose a central interval give it (0.1/0.9 for 80 %).

`params` below is (B, H, K, P): batch, forecast steps, targets, parameters per target.
"""

from __future__ import annotations

from statistics import NormalDist

import torch
from torch import Tensor, nn
from torch.nn import functional as F

from seqnet.errors import InputError

FORECAST_OUTPUTS = ("point", "gaussian", "quantile")
POINT_LOSSES = ("mse", "mae")
DEFAULT_QUANTILES = (0.025, 0.1, 0.5, 0.9, 0.975)
MIN_SCALE = 1e-3  # floor of a Gaussian's scale in model units, so its NLL stays bounded


class ForecastOutput(nn.Module):
    """Base: a linear head from features to `num_params` values per forecast step and target.

    Args:
        input_size: width of the features the head reads.
        targets: series forecast (K).
        steps: forecast steps emitted from one feature vector (B, D) (the direct style: H);
            1 when the features already have a step axis (B, H, D) (a decoder's outputs).
    """

    num_params = 1
    locations: int | None = None  # how many of the params are locations (None: all of them)

    def __init__(self, input_size: int, targets: int, steps: int = 1) -> None:
        super().__init__()
        self.targets, self.steps = targets, steps
        self.head = nn.Linear(input_size, steps * targets * self.num_params)

    def forward(self, features: Tensor) -> Tensor:
        """(B, D) -> (B, steps, K, P), or (B, H, D) -> (B, H, K, P)."""
        params = self.head(features)
        if features.dim() == 2:
            return params.view(features.shape[0], self.steps, self.targets, self.num_params)
        return params.view(*features.shape[:-1], self.targets, self.num_params)

    def loss(self, params: Tensor, targets: Tensor) -> Tensor:
        """Mean loss over all steps and targets; targets (B, H, K) in model units."""
        raise NotImplementedError

    def point(self, params: Tensor) -> Tensor:
        """(B, H, K, P) -> the point forecast (B, H, K)."""
        return params[..., 0]

    def shift(self, params: Tensor, offset: Tensor | None) -> Tensor:
        """Params (B, H, K, P) moved by `offset` (B, H, K) in model units: every location parameter
        (the first `locations` of P; all by default) moves, a scale does not. None: unchanged."""
        if offset is None:
            return params
        count = self.locations or self.num_params
        moved = params[..., :count] + offset.unsqueeze(-1)  # (B, H, K, count)
        return torch.cat([moved, params[..., count:]], dim=-1)

    def start_at_zero(self) -> None:
        """Zero the head, so every parameter starts at 0: with an anchor, the forecast starts as the
        anchor's."""
        nn.init.zeros_(self.head.weight)
        nn.init.zeros_(self.head.bias)

    def has_interval(self, level: float) -> bool:
        """Whether `interval` gives the central `level` interval."""
        return False

    def interval(self, params: Tensor, level: float) -> tuple[Tensor, Tensor]:
        """The central `level` prediction interval (lower, upper), each (B, H, K)."""
        raise InputError(f"{type(self).__name__} gives no {level:.0%} prediction interval")


class PointOutput(ForecastOutput):
    """A point forecast trained with MSE or MAE (`loss`)."""

    def __init__(self, input_size: int, targets: int, steps: int = 1, loss: str = "mse") -> None:
        super().__init__(input_size, targets, steps)
        if loss not in POINT_LOSSES:
            raise InputError(f"point forecasts train with one of {POINT_LOSSES}, got loss={loss!r}")
        self.loss_name = loss

    def loss(self, params: Tensor, targets: Tensor) -> Tensor:
        if self.loss_name == "mae":
            return F.l1_loss(params[..., 0], targets)
        return F.mse_loss(params[..., 0], targets)


class GaussianOutput(ForecastOutput):
    """A Gaussian per step and target: params[..., 0] the mean, params[..., 1] the raw scale."""

    num_params = 2
    locations = 1

    def loss(self, params: Tensor, targets: Tensor) -> Tensor:
        """Negative log-likelihood per value, with its constant: -Normal(mean, scale).log_prob."""
        mean, scale = self.mean_and_scale(params)
        return F.gaussian_nll_loss(mean, targets, scale.pow(2), full=True, eps=MIN_SCALE**2)

    def mean_and_scale(self, params: Tensor) -> tuple[Tensor, Tensor]:
        """(B, H, K, 2) -> mean (B, H, K) and scale (B, H, K), the scale above `MIN_SCALE`."""
        return params[..., 0], F.softplus(params[..., 1]) + MIN_SCALE

    def has_interval(self, level: float) -> bool:
        return True

    def interval(self, params: Tensor, level: float) -> tuple[Tensor, Tensor]:
        mean, scale = self.mean_and_scale(params)
        half = scale * NormalDist().inv_cdf((1 + level) / 2)  # z of the upper bound
        return mean - half, mean + half


class QuantileOutput(ForecastOutput):
    """Quantiles per step and target, trained with the pinball (quantile) loss.

    Args:
        quantiles: increasing probabilities in (0, 1), including 0.5 (the point forecast).
    """

    def __init__(
        self, input_size: int, targets: int, steps: int = 1, quantiles: list[float] | None = None
    ) -> None:
        levels = sorted(quantiles or DEFAULT_QUANTILES)
        if not all(0.0 < q < 1.0 for q in levels) or 0.5 not in levels or len(set(levels)) != len(levels):
            raise InputError(
                f"quantiles must be distinct probabilities in (0, 1) that include 0.5, got {quantiles}"
            )
        self.num_params = len(levels)
        super().__init__(input_size, targets, steps)
        self.register_buffer("quantiles", torch.tensor(levels), persistent=False)
        self.levels = levels

    def loss(self, params: Tensor, targets: Tensor) -> Tensor:
        """Mean pinball loss over quantiles, steps and targets."""
        error = targets.unsqueeze(-1) - params  # (B, H, K, P)
        return torch.maximum(self.quantiles * error, (self.quantiles - 1) * error).mean()

    def sorted(self, params: Tensor) -> Tensor:
        """Quantile values in increasing order, so they never cross."""
        return params.sort(dim=-1).values

    def point(self, params: Tensor) -> Tensor:
        return self.sorted(params)[..., self.levels.index(0.5)]

    def _bounds(self, level: float) -> tuple[int, int] | None:
        """Positions of the quantiles (1 - level) / 2 and (1 + level) / 2, if both are forecast."""
        rounded = [round(q, 6) for q in self.levels]
        low, high = round((1 - level) / 2, 6), round((1 + level) / 2, 6)
        return (rounded.index(low), rounded.index(high)) if low in rounded and high in rounded else None

    def has_interval(self, level: float) -> bool:
        return self._bounds(level) is not None

    def interval(self, params: Tensor, level: float) -> tuple[Tensor, Tensor]:
        bounds = self._bounds(level)
        if bounds is None:
            return super().interval(params, level)
        values = self.sorted(params)
        return values[..., bounds[0]], values[..., bounds[1]]


def build_forecast_output(
    name: str,
    input_size: int,
    targets: int,
    steps: int = 1,
    loss: str = "mse",
    quantiles: list[float] | None = None,
) -> ForecastOutput:
    """The output by name: point (with `loss` mse or mae), gaussian, or quantile (`quantiles`)."""
    if name == "point":
        return PointOutput(input_size, targets, steps, loss)
    if name == "gaussian":
        return GaussianOutput(input_size, targets, steps)
    if name == "quantile":
        return QuantileOutput(input_size, targets, steps, quantiles)
    raise InputError(f"unknown forecast output {name!r}; choose from {FORECAST_OUTPUTS}")
