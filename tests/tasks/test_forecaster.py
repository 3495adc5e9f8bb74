import math

import numpy as np
import pytest
import torch
from torch.distributions import Normal

from seqnet.data import SequenceDataModule, collate_sequences
from seqnet.data.sources import ForecastSource
from seqnet.tasks import Forecaster
from seqnet.tasks.forecast_metrics import forecast_metrics, seasonal_naive
from seqnet.tasks.forecast_outputs import GaussianOutput, QuantileOutput, build_forecast_output
from tests.tasks.conftest import fit_one_batch, quiet_trainer

GRU = {"cell": "gru", "hidden_size": 16}


def batch_of(dm, split="train", size=16):
    return collate_sequences(dm.datasets[split][:size], target_pad_value=0.0)


@pytest.mark.parametrize(
    "settings",
    [
        dict(style="direct", output="point"),
        dict(style="direct", output="gaussian", scaling="train"),
        dict(style="direct", output="quantile", transform="log", scaling="mean", highway=12),
        dict(style="autoregressive", output="point", loss="mae"),
        dict(style="autoregressive", output="gaussian", scaling="mean"),
        dict(style="direct", output="point", anchor="seasonal_naive"),
        dict(style="autoregressive", output="quantile", anchor="seasonal_naive"),
    ],
)
def test_each_forecaster_overfits_a_tiny_batch(series, settings):
    torch.manual_seed(0)
    model = Forecaster(series.spec, encoder=GRU, **settings)
    batch = batch_of(series, size=8)
    before = model.step(batch).loss.item()
    after = fit_one_batch(model, batch, steps=200, lr=3e-3)
    assert after < before
    model.eval()
    with torch.no_grad():
        preds = model(batch)["preds"]  # free-running, data units
    assert preds.shape == batch.targets.shape
    assert (preds - batch.targets).abs().mean() < 0.5 * (batch.targets - batch.targets.mean()).abs().mean()


def test_forecasts_are_in_data_units(series):
    """The model's scaled outputs map back to data units by loc + scale * value, computed by hand."""
    torch.manual_seed(0)
    batch = batch_of(series, size=4)
    for scaling in ("train", "window", "mean"):
        model = Forecaster(series.spec, encoder=GRU, scaling=scaling).eval()
        with torch.no_grad():
            params = model.forecast(batch, *model.scales(batch))
            preds = model(batch)["preds"]
        history = batch.inputs[..., 0]  # (B, T) the load column, raw
        mean, std = series.spec.target_mean[0], series.spec.target_std[0]
        if scaling == "train":
            loc, scale = torch.full((4,), mean), torch.full((4,), std)
        elif scaling == "window":
            loc, scale = history.mean(1), history.std(1, unbiased=False)
        else:
            loc, scale = history.mean(1), torch.full((4,), std)
        expected = params[..., 0, 0] * scale[:, None] + loc[:, None]
        torch.testing.assert_close(preds[..., 0], expected, rtol=1e-5, atol=1e-4)


@pytest.mark.parametrize("output", ["point", "gaussian", "quantile"])
@pytest.mark.parametrize("style", ["direct", "autoregressive"])
def test_an_anchored_forecaster_starts_as_the_seasonal_naive_forecast(series, style, output):
    """Untrained, it forecasts exactly the baseline (in data units, any scaling); its Gaussian
    scale and quantile spread are left free (intervals around the baseline, not on it)."""
    torch.manual_seed(0)
    batch = batch_of(series, size=4)
    for scaling in ("train", "window"):
        model = Forecaster(series.spec, encoder=GRU, style=style, output=output, scaling=scaling,
                           anchor="seasonal_naive").eval()  # fmt: skip
        with torch.no_grad():
            found = model(batch)
        torch.testing.assert_close(found["preds"], model.baseline(batch), rtol=1e-5, atol=1e-4)
        if output == "gaussian":
            assert (found["upper80"] > found["preds"]).all()
    with pytest.raises(ValueError, match="anchor must be one of"):
        Forecaster(series.spec, encoder=GRU, anchor="drift")


def test_log_transform_forecasts_in_data_units(series):
    torch.manual_seed(0)
    batch = batch_of(series, size=4)
    model = Forecaster(series.spec, encoder=GRU, transform="log", scaling="mean").eval()
    with torch.no_grad():
        params = model.forecast(batch, *model.scales(batch))
        preds = model(batch)["preds"]
    logs = batch.inputs[..., 0].log()
    spread = series.spec.target_std[0] / series.spec.target_mean[0]
    expected = torch.exp(params[..., 0, 0] * spread + logs.mean(1, keepdim=True))
    torch.testing.assert_close(preds[..., 0], expected, rtol=1e-4, atol=1e-3)


def test_gaussian_nll_is_the_normal_log_probability():
    torch.manual_seed(0)
    output = GaussianOutput(input_size=4, targets=2, steps=3)
    params = output(torch.randn(5, 4))  # (5, 3, 2, 2)
    targets = torch.randn(5, 3, 2)
    mean, scale = output.mean_and_scale(params)
    expected = -Normal(mean, scale).log_prob(targets).mean()
    torch.testing.assert_close(output.loss(params, targets), expected)
    lower, upper = output.interval(params, 0.95)
    normal = Normal(mean, scale)
    torch.testing.assert_close(normal.cdf(upper) - normal.cdf(lower), torch.full_like(mean, 0.95))


def test_quantile_loss_is_the_pinball_loss_and_intervals_come_from_the_quantile_pairs():
    output = QuantileOutput(input_size=1, targets=1, steps=1, quantiles=[0.1, 0.5, 0.9])
    params = torch.tensor([[[[1.0, 2.0, 3.0]]]])  # (1, 1, 1, 3)
    target = torch.tensor([[[2.5]]])
    pinball = [0.1 * 1.5, 0.5 * 0.5, (1 - 0.9) * 0.5]  # under the first two, over the last
    torch.testing.assert_close(output.loss(params, target), torch.tensor(sum(pinball) / 3))
    assert output.point(params).item() == 2.0
    assert output.has_interval(0.8) and not output.has_interval(0.95)
    lower, upper = output.interval(params.flip(-1), 0.8)  # crossed quantiles are sorted first
    assert (lower.item(), upper.item()) == (1.0, 3.0)
    with pytest.raises(ValueError, match=r"include 0\.5"):
        QuantileOutput(1, 1, 1, [0.1, 0.9])
    with pytest.raises(ValueError, match="unknown forecast output 'poisson'"):
        build_forecast_output("poisson", 1, 1)


def test_seasonal_naive_equals_a_hand_computation():
    history = torch.arange(10.0).view(1, 10, 1)  # 0 .. 9, then forecast steps 10 ..
    lengths = torch.tensor([10])
    # season 4: step 10 repeats step 6, 11 -> 7, 12 -> 8, 13 -> 9, 14 -> 6 again
    assert seasonal_naive(history, lengths, 5, 4)[0, :, 0].tolist() == [6, 7, 8, 9, 6]
    assert seasonal_naive(history, lengths, 3, 1)[0, :, 0].tolist() == [9, 9, 9]  # naive
    # a shorter row of a padded batch reads its own last steps
    padded = torch.cat([history, torch.cat([torch.arange(6.0), torch.zeros(4)]).view(1, 10, 1)])
    assert seasonal_naive(padded, torch.tensor([10, 6]), 2, 3)[1, :, 0].tolist() == [3, 4]
    with pytest.raises(ValueError, match="at least one season"):
        seasonal_naive(history, lengths, 2, 12)


def test_forecast_metrics_equal_hand_computations():
    target = torch.tensor([10.0, 20.0, 40.0])
    forecast = {
        "preds": torch.tensor([12.0, 18.0, 40.0]),
        "baseline": torch.tensor([10.0, 10.0, 30.0]),
        "lower80": torch.tensor([11.0, 15.0, 35.0]),
        "upper80": torch.tensor([13.0, 25.0, 45.0]),
    }
    metrics = forecast_metrics(mape=True, intervals=["80"])
    metrics.update(forecast, target)
    values = {k: v.item() for k, v in metrics.compute().items()}
    assert values["mae"] == pytest.approx(4 / 3)
    assert values["rmse"] == pytest.approx(math.sqrt(8 / 3))
    assert values["mape"] == pytest.approx((0.2 + 0.1 + 0) / 3)
    assert values["smape"] == pytest.approx((2 * 2 / 22 + 2 * 2 / 38 + 0) / 3)
    assert values["baseline_mae"] == pytest.approx(20 / 3)
    assert values["mase"] == pytest.approx(4 / 20)
    assert values["coverage80"] == pytest.approx(2 / 3)  # 10 lies below [11, 13]
    assert "mape" not in forecast_metrics(mape=False, intervals=[])


def test_teacher_forced_decoder_equals_stepping_with_the_true_values(series):
    torch.manual_seed(0)
    model = Forecaster(series.spec, encoder=GRU, style="autoregressive", anchor="none").eval()
    batch = batch_of(series, size=4)
    loc, scale = model.scales(batch)
    targets = (batch.targets - loc) / scale
    with torch.no_grad():
        forced = model.forecast(batch, loc, scale, teacher=targets)
        first = model.forecast(batch, loc, scale)  # free running: its own forecasts fed back
    torch.testing.assert_close(forced[:, 0], first[:, 0])  # the first step sees the same input
    assert not torch.allclose(forced[:, 1:], first[:, 1:])


@pytest.mark.parametrize("style", ["direct", "autoregressive"])
def test_known_future_covariates_reach_the_forecast(series, style):
    torch.manual_seed(0)
    model = Forecaster(
        series.spec, encoder=GRU, style=style, anchor="none"
    ).eval()  # a zero head reads nothing
    batch = batch_of(series, size=4)
    with torch.no_grad():
        plain = model(batch)["preds"]
        batch.future[:, 2:] += 1.0  # change the covariate from the third forecast step on
        changed = model(batch)["preds"]
    if style == "autoregressive":
        torch.testing.assert_close(plain[:, :2], changed[:, :2])  # a decoder cannot see ahead
    assert not torch.allclose(plain[:, 2:], changed[:, 2:])
    batch.future = None
    with pytest.raises(ValueError, match="1 known-future covariates over its 6 forecast steps"):
        model(batch)


def test_trains_tests_and_logs_the_baseline_beside_the_model(series, tmp_path):
    torch.manual_seed(0)
    model = Forecaster(series.spec, encoder=GRU, output="gaussian", monitor="val/mase")
    quiet_trainer(tmp_path, max_epochs=3, enable_checkpointing=False).fit(model, datamodule=series)
    result = quiet_trainer(tmp_path).test(model, datamodule=series, verbose=False)[0]
    for name in ("mae", "rmse", "smape", "mape"):
        assert f"test/{name}" in result and f"test/baseline_{name}" in result
    assert 0.0 <= result["test/coverage80"] <= result["test/coverage95"] <= 1.0
    assert result["test/mase"] == pytest.approx(result["test/mae"] / result["test/baseline_mae"], rel=1e-4)


def test_bad_settings_are_refused(series, tmp_path):
    with pytest.raises(ValueError, match="style must be one of"):
        Forecaster(series.spec, style="sideways")
    with pytest.raises(ValueError, match="log with scaling=window or mean"):
        Forecaster(series.spec, transform="log", scaling="train")
    with pytest.raises(ValueError, match="highway adds to the direct head"):
        Forecaster(series.spec, style="autoregressive", highway=4)
    negative = tmp_path / "neg.csv"
    negative.write_text("y\n" + "".join(f"{np.sin(t)}\n" for t in range(60)))
    dm = SequenceDataModule(ForecastSource(path=negative, target="y", window=8, horizon=2))
    dm.setup()
    with pytest.raises(ValueError, match="transform=log needs positive targets"):
        Forecaster(dm.spec, transform="log", scaling="mean")
    assert "val/mape" not in Forecaster(dm.spec).val_metrics.keys(keep_base=False)  # the series touches 0
    many = Forecaster(dm.spec, highway=20)
    with pytest.raises(ValueError, match="highway=20 reads that many past steps, but a window has 8"):
        many(batch_of(dm, size=2))


def test_training_scores_mae_and_rmse_alone_and_evaluation_the_baseline_too(series):
    """The seasonal-naive forecast and the percentage errors cost a small model's training step
    most of its time; validation and test keep every metric."""
    model = Forecaster(series.spec, encoder={"cell": "gru", "hidden_size": 8})
    batch = batch_of(series)
    assert sorted(model.train_metrics.keys(keep_base=False)) == ["train/mae", "train/rmse"]
    trained = model.step(batch).preds  # the point forecast, flat: training steps batch updates
    evaluated = model.evaluation_step(batch).preds
    assert "baseline" in evaluated
    torch.testing.assert_close(trained, evaluated["preds"])  # direct style: the same forecast
    assert {"val/mase", "val/baseline_mae"} <= set(model.val_metrics.keys(keep_base=False))


def test_auto_settings_train_each_candidate_and_forecast_with_the_one_validation_chose(series, tmp_path):
    torch.manual_seed(0)
    model = Forecaster(series.spec, encoder=GRU, scaling="auto", anchor="auto")
    assert model.choices == [
        "train scaling, seasonal_naive anchor", "train scaling, none anchor",
        "window scaling, seasonal_naive anchor", "window scaling, none anchor",
    ]  # fmt: skip
    before = [next(m.encoder.parameters()).detach().clone() for m in model.members()]
    trainer = quiet_trainer(tmp_path, max_epochs=2)
    trainer.fit(model, datamodule=series)
    after = [next(m.encoder.parameters()).detach() for m in model.members()]
    assert all(not torch.equal(a, b) for a, b in zip(before, after, strict=True))  # each one trains
    model.eval()
    errors = []
    with torch.no_grad():
        for member in model.members():
            found = [(member(b)["preds"] - b.targets).abs() for b in series.val_dataloader()]
            errors.append(float(torch.cat([f.flatten() for f in found]).mean()))
    chosen = int(np.argmin(errors))
    assert model._chosen == chosen == int(trainer.callback_metrics["val/choice"])
    assert float(trainer.callback_metrics["val/mae"]) == pytest.approx(errors[chosen], rel=1e-4)
    batch = batch_of(series, "test", 4)
    with torch.no_grad():
        torch.testing.assert_close(model(batch)["preds"], model.members()[chosen](batch)["preds"])
    loaded = Forecaster(series.spec, encoder=GRU, scaling="auto", anchor="auto")
    loaded.load_state_dict(model.state_dict())
    assert loaded._chosen == chosen  # the checkpoint forecasts with its choice
    with torch.no_grad():
        model.output.head.bias.fill_(100.0)  # spoil the first candidate: validation moves off it
    trainer.validate(model, datamodule=series, verbose=False)
    assert model._chosen == int(np.argmin(errors[1:])) + 1
    log_only = Forecaster(series.spec, encoder=GRU, scaling="auto", transform="log", anchor="none")
    assert log_only.choices == ["window scaling, none anchor"] and not log_only.others
