"""The time column of a CSV series: found by name or by its values, its frequency, and the dates of
the steps after it (so forecasts carry dates, not step numbers)."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import numpy as np

from seqnet.data.text_files import read_text
from seqnet.errors import InputError

TIME_NAMES = ("date", "time", "timestamp", "datetime", "ds", "month", "week", "year", "period")
CALENDAR_UNITS = {"M": "months", "Y": "years"}  # steps of varying length, counted in calendar units


def read_column(path: str | Path, column: str) -> list[str]:
    """The cells of `column` in a CSV file with a header row, one per non-empty data row."""
    reader = csv.reader(io.StringIO(read_text(path, "CSV file"), newline=""))
    header = [name.strip() for name in next(reader, [])]
    if column not in header:
        raise InputError(f"{path} has no column {column!r}; its header has {header}")
    position = header.index(column)
    return [row[position].strip() for row in reader if row and any(cell.strip() for cell in row)]


def parse_times(cells: list[str], where: str) -> np.ndarray:
    """ISO dates or date-times (`1949-01`, `2014-01-01 00:30`) -> datetime64 (N,); a cell that is
    not one is an error naming it."""
    try:
        return np.array([np.datetime64(cell.replace(" ", "T", 1)) for cell in cells])
    except ValueError:
        bad = next(c for c in cells if not _is_time(c))
        raise InputError(
            f"{where}: {bad!r} is not an ISO date or time (write 2014-01-31 or 2014-01-31 08:30)"
        ) from None


def _is_time(cell: str) -> bool:
    try:
        np.datetime64(cell.replace(" ", "T", 1))
    except ValueError:
        return False
    return True


def find_time_column(path: str | Path, header: list[str], exclude: list[str]) -> str | None:
    """The column that holds the series' times: one of dates (named like one first: `date`, `time`,
    `ds`, ...), else one named like a time that holds four-digit years; None when there is none."""
    candidates = [c for c in header if c not in exclude]
    named = [c for c in candidates if c.lower() in TIME_NAMES]
    cells = {c: read_column(path, c)[:20] for c in candidates}
    for column in [*named, *(c for c in candidates if c not in named)]:
        if cells[column] and all(_is_time(x) and not _is_number(x) for x in cells[column]):
            return column
    for column in named:  # `year` holding 1871, 1872, ...
        if cells[column] and all(x.isdigit() and len(x) == 4 for x in cells[column]):
            return column
    return None


def _is_number(cell: str) -> bool:
    try:
        float(cell)
    except ValueError:
        return False
    return True


def infer_frequency(times: np.ndarray) -> str:
    """The step between consecutive times: "1M" (months), "1Y" (years), or a fixed duration in
    numpy's notation ("30m", "1D", "7D"); the most common step decides, so a gap does not."""
    if len(times) < 2:
        raise InputError("a time column needs at least two rows to tell the series' frequency")
    unit = np.datetime_data(times.dtype)[0]
    if unit in CALENDAR_UNITS:
        return f"{most_common(np.diff(times.astype(np.int64)))}{unit}"
    common = most_common(np.diff(times.astype("datetime64[s]").astype(np.int64)))
    days = common / 86400
    if 28 <= days <= 31 and _on_month_starts(times):
        return "1M"
    if 365 <= days <= 366:
        return "1Y"
    for unit_seconds, name in ((86400, "D"), (3600, "h"), (60, "m")):
        if common and common % unit_seconds == 0:
            return f"{common // unit_seconds}{name}"
    return f"{common}s"


def most_common(steps: np.ndarray) -> int:
    """The most frequent positive value of `steps` (0 if none is positive)."""
    values, counts = np.unique(steps[steps > 0], return_counts=True)
    return int(values[counts.argmax()]) if len(values) else 0


def _on_month_starts(times: np.ndarray) -> bool:
    return bool(
        (times.astype("datetime64[D]") == times.astype("datetime64[M]").astype("datetime64[D]")).all()
    )


def times_after(last: np.datetime64, frequency: str, steps: int) -> list[str]:
    """ISO strings of the `steps` times after `last`, `frequency` apart (see `infer_frequency`)."""
    count, unit = int(frequency[:-1]), frequency[-1]
    written = np.datetime_data(last.dtype)[0]  # the resolution the file wrote its times in
    start = np.datetime64(last, unit) if unit in CALENDAR_UNITS else last
    following = start + np.arange(1, steps + 1) * np.timedelta64(count, unit)
    if unit in CALENDAR_UNITS and written not in CALENDAR_UNITS:
        following = following.astype(f"datetime64[{written}]")
    return [str(t).replace("T", " ") for t in following]


# The usual cycle of a series by the step between its rows: a year of months or weeks, a week of
# days, a day of hours or half-hours or quarter-hours. Yearly series have none: their cycles (a
# lynx population's 10 years) come from the autocorrelation.
SEASONS = {"1M": 12, "3M": 4, "7D": 52, "1D": 7, "1h": 24, "30m": 48, "15m": 96}  # yearly: no calendar cycle


def season_of(frequency: str | None) -> int | None:
    """The usual seasonal cycle, in steps, of a series at `frequency`; None when there is none."""
    return SEASONS.get(frequency) if frequency else None


def autocorrelation_season(values: np.ndarray, threshold: float = 0.3) -> int:
    """The lag (2 .. N/3) of the highest autocorrelation peak of a series (N,) after removing its
    linear trend, when it reaches `threshold`; else 1 (no season)."""
    values = np.asarray(values, dtype=np.float64)
    steps = np.arange(len(values))
    detrended = values - np.polyval(np.polyfit(steps, values, 1), steps)
    detrended -= detrended.mean()
    variance = float((detrended**2).sum())
    longest = len(values) // 3
    if variance == 0 or longest < 3:
        return 1
    acf = np.array(
        [float((detrended[:-lag] * detrended[lag:]).sum()) / variance for lag in range(1, longest + 1)]
    )
    peaks = [lag for lag in range(2, longest) if acf[lag - 1] > acf[lag - 2] and acf[lag - 1] >= acf[lag]]
    best = max(peaks, key=lambda lag: acf[lag - 1], default=None)
    return best if best is not None and acf[best - 1] >= threshold else 1
