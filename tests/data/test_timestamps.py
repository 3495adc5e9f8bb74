"""A series' time column: found by name or by its values, its frequency, and the dates after it."""

import numpy as np
import pytest

from seqnet.data.timestamps import find_time_column, infer_frequency, parse_times, times_after


@pytest.mark.parametrize(
    ("cells", "frequency", "after"),
    [
        (["1949-01", "1949-02", "1949-03"], "1M", ["1949-04", "1949-05"]),
        (["1949-11-01", "1949-12-01", "1950-01-01"], "1M", ["1950-02-01", "1950-03-01"]),
        (
            ["2014-01-01 00:00", "2014-01-01 00:30", "2014-01-01 01:00"],
            "30m",
            ["2014-01-01 01:30", "2014-01-01 02:00"],
        ),
        (["2020-01-01", "2020-01-08", "2020-01-22"], "7D", ["2020-01-29", "2020-02-05"]),  # a gap
        (["1871", "1872", "1873"], "1Y", ["1874", "1875"]),
    ],
)
def test_the_frequency_and_the_dates_after_the_last_row(cells, frequency, after):
    times = parse_times(cells, "x.csv")
    assert infer_frequency(times) == frequency
    assert times_after(times[-1], frequency, 2) == after


def test_the_time_column_is_found_by_name_or_by_its_values(tmp_path):
    path = tmp_path / "s.csv"
    path.write_text("when,load,year\n2020-01-01,1.5,1\n2020-01-02,2.5,2\n")
    assert find_time_column(path, ["when", "load", "year"], exclude=["load"]) == "when"
    path.write_text("load,id\n1.5,3\n2.5,4\n")
    assert find_time_column(path, ["load", "id"], exclude=["load"]) is None  # numbers are not dates
    with pytest.raises(ValueError, match=r"x\.csv: 'soon' is not an ISO date or time"):
        parse_times(["2020-01-01", "soon"], "x.csv")


def test_a_season_comes_from_the_frequency_or_else_the_autocorrelation():
    from seqnet.data.timestamps import autocorrelation_season, season_of

    assert (season_of("1M"), season_of("30m"), season_of("1D"), season_of("13m")) == (12, 48, 7, None)
    t = np.arange(300)
    rng = np.random.default_rng(0)
    weekly = 0.05 * t + np.sin(2 * np.pi * t / 7) + rng.normal(0, 0.2, 300)
    assert autocorrelation_season(weekly) == 7  # the trend removed, the weekly peak stands out
    assert autocorrelation_season(rng.normal(size=300)) == 1  # noise: no season, naive baseline


def test_a_csv_series_without_a_season_takes_the_one_of_its_dates(tmp_path, caplog):
    import logging

    from seqnet.data.sources import ForecastSource

    months = [f"{2000 + i // 12}-{i % 12 + 1:02d}" for i in range(96)]
    (tmp_path / "s.csv").write_text(
        "month,sales\n" + "".join(f"{m},{i % 12}\n" for i, m in enumerate(months))
    )
    with caplog.at_level(logging.INFO):
        splits = ForecastSource(tmp_path / "s.csv", target="sales", window=24, horizon=3).load()
    assert splits.season == 12 and "season=12 steps, from its time column's frequency (1M)" in caplog.text
    assert (
        ForecastSource(tmp_path / "s.csv", target="sales", window=24, horizon=3, season=1).load().season == 1
    )
