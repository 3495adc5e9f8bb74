import numpy as np
import pytest

from seqnet.data.sources import ForecastSource
from seqnet.data.sources.forecast import PACKAGED


@pytest.mark.parametrize("dataset", sorted(PACKAGED))
def test_every_packaged_series_loads_into_periods_in_time_order(dataset):
    source = ForecastSource(dataset=dataset, window=8, horizon=2)
    series = source.read()
    splits = source.load()
    assert np.isfinite(series).all() and series.shape[1] == len(source.columns)
    assert splits.target_kind == "series" and splits.horizon == 2
    assert all(len(s) for s in (splits.train, splits.val, splits.test))
    assert splits.test[-1].target.shape == (2, len(source.targets))
    # The last test target is the end of the series; validation holds every step once.
    np.testing.assert_array_equal(splits.test[-1].target[-1], series[-1, : len(source.targets)])
    assert sum(len(e.target) for e in splits.val) <= round(0.1 * len(series))


def test_known_sizes_of_the_packaged_series():
    assert len(ForecastSource(dataset="airline").read()) == 144
    assert len(ForecastSource(dataset="nile").read()) == 100
    assert ForecastSource(dataset="elecdemand").read().shape == (17520, 3)


def test_co2_has_gaps_that_need_a_policy():
    with pytest.raises(ValueError, match=r"co2.csv has a missing or non-finite value at step \d+"):
        ForecastSource(dataset="co2", missing="error").read()
    assert len(ForecastSource(dataset="co2", missing="drop").read()) < 2284
    assert len(ForecastSource(dataset="co2").read()) == 2284  # interpolate by default


def test_your_own_csv_with_a_covariate(tmp_path):
    path = tmp_path / "load.csv"
    path.write_text("time,load,temp\n" + "".join(f"{t},{t},{-t}\n" for t in range(100)))
    splits = ForecastSource(path=path, target="load", covariates=["temp"], window=5, horizon=4).load()
    example = splits.test[0]
    assert example.values.shape == (5, 2) and example.target.shape == (4, 1)
    assert example.target[0, 0] == example.values[-1, 0] + 1  # the step after the window
    assert example.target[0, 0] == 80  # the test period is the last 20 steps
    assert example.future is None and splits.feature_names == ["load", "temp"] and splits.season == 1


def test_known_future_covariates_come_with_the_forecast_steps(tmp_path):
    path = tmp_path / "load.csv"
    path.write_text("load,temp,holiday\n" + "".join(f"{t},{-t},{t % 2}\n" for t in range(100)))
    source = ForecastSource(
        path=path,
        target="load",
        covariates=["temp"],
        future_covariates=["holiday"],
        window=5,
        horizon=4,
        season=2,
    )
    splits = source.load()
    example = splits.test[0]
    assert example.values.shape == (5, 3) and splits.future_features == [2] and splits.season == 2
    np.testing.assert_array_equal(example.future[:, 0], [t % 2 for t in range(80, 84)])  # the forecast steps
    assert splits.feature_names == ["load", "temp", "holiday"]


def test_elecdemand_knows_its_temperature_and_workdays_ahead_unless_told_not_to():
    assert ForecastSource(dataset="elecdemand").future_covariates == ["Temperature", "WorkDay"]
    assert ForecastSource(dataset="elecdemand", future_covariates=[]).columns == ["Demand"]


def test_without_a_validation_period_the_datamodule_holds_windows_out():
    splits = ForecastSource(
        dataset="airline", window=36, horizon=36, val_fraction=0.0, test_fraction=0.25
    ).load()
    assert splits.val is None and len(splits.test) == 1 and splits.test[0].target.shape == (36, 1)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(), "give exactly one of path"),
        (dict(dataset="gold"), r"unknown packaged series 'gold'; available: \['airline'"),
        (dict(path="x.csv"), r"name the target column"),
        (dict(dataset="nile", horizon=0), "must be positive"),
        (dict(dataset="nile", val_fraction=0.5, test_fraction=0.5), "sum below 1"),
        (dict(dataset="nile", season=0), "season must be at least 1"),
    ],
)
def test_bad_arguments_are_refused(kwargs, message):
    with pytest.raises(ValueError, match=message):
        ForecastSource(**kwargs)


def test_a_window_longer_than_the_series_allows_is_refused():
    with pytest.raises(ValueError, match=r"nile: 100 steps leave no room for window=80"):
        ForecastSource(dataset="nile", window=80).load()
