"""Numeric series: reading columns from CSV files, missing-value policies, forecasting windows."""

from __future__ import annotations

import csv
import io
import math
from pathlib import Path

import numpy as np

from seqnet.data.sources.base import SequenceExample
from seqnet.data.text_files import read_text
from seqnet.errors import InputError

MISSING_POLICIES = ("error", "interpolate", "ffill", "drop")
MISSING_CELLS = {"", "na", "nan", "null", "none", "?"}


NORMALIZATIONS = ("series", "dataset", "none")


def check_normalization(normalize: str, choices: tuple[str, ...] = NORMALIZATIONS) -> str:
    """`normalize` if it is one of `choices`, else an InputError naming them."""
    if normalize not in choices:
        raise InputError(
            f"normalize must be one of {choices}, got {normalize!r}: series z-normalises each "
            "case per channel, dataset uses the training split's statistics, none leaves values as read"
            + (", auto is series for one channel and dataset for several" if "auto" in choices else "")
        )
    return normalize


def zscore_series(values: np.ndarray) -> np.ndarray:
    """Each channel of one series (T, C) to mean 0 and standard deviation 1 over its steps (the
    UCR archive's convention); a constant channel becomes zeros."""
    mean = values.mean(0, keepdims=True)  # (1, C)
    std = values.std(0, keepdims=True)  # (1, C)
    return ((values - mean) / np.where(std > 1e-8, std, 1.0)).astype(values.dtype)


def check_missing_policy(policy: str) -> str:
    if policy not in MISSING_POLICIES:
        raise InputError(f"missing must be one of {MISSING_POLICIES}, got {policy!r}")
    return policy


def fill_missing(values: np.ndarray, policy: str, where: str) -> np.ndarray | None:
    """Apply a missing-value policy to a series (T, C) whose gaps are NaN or inf.

    error: raise, naming `where`, the step and the channel; interpolate: linear, per channel;
    ffill: carry the last value forward (back-fill before the first); drop: return None, and the
    caller drops what the series stands for (a case, or the time steps).
    """
    bad = ~np.isfinite(values)
    if not bad.any():
        return values
    if policy == "error":
        step, channel = (int(i) for i in np.argwhere(bad)[0])
        raise InputError(
            f"{where} has a missing or non-finite value at step {step}, channel {channel}; set "
            "missing=interpolate, ffill or drop on the source"
        )
    if policy == "drop":
        return None
    return np.stack([_fill_channel(c, policy) for c in values.T], axis=1)


def _fill_channel(channel: np.ndarray, policy: str) -> np.ndarray:
    """Fill the NaNs of one channel (T,) by linear interpolation or forward fill."""
    valid = np.isfinite(channel)
    if not valid.any():
        return np.zeros_like(channel)
    positions = np.arange(len(channel))
    if policy == "interpolate":
        return np.interp(positions, positions[valid], channel[valid]).astype(channel.dtype)
    last_valid = np.maximum.accumulate(np.where(valid, positions, -1))  # index of last valid step
    first = positions[valid][0]
    return channel[np.where(last_valid < 0, first, last_valid)]


def read_csv_header(path: str | Path) -> list[str]:
    """The column names of a CSV file's header row."""
    reader = csv.reader(io.StringIO(read_text(Path(path), "CSV file"), newline=""))
    return [name.strip() for name in next(reader, [])]


def read_csv_columns(path: str | Path, columns: list[str], delimiter: str = ",") -> np.ndarray:
    """Columns of a CSV file with a header row, as float32 (N, len(columns)).

    Empty cells and NA/NaN/null/? are missing (NaN); anything else that is not a number raises
    ValueError naming the file, the line and the column.
    """
    path = Path(path)
    reader = csv.reader(io.StringIO(read_text(path, "CSV file"), newline=""), delimiter=delimiter)
    header = [name.strip() for name in next(reader, [])]
    absent = [c for c in columns if c not in header]
    if absent:
        raise InputError(f"{path} has no column {absent}; its header has {header}")
    positions = [header.index(c) for c in columns]
    rows = []
    for number, row in enumerate(reader, start=2):
        if not row or not any(cell.strip() for cell in row):
            continue
        if len(row) != len(header):
            raise InputError(f"{path}:{number}: expected {len(header)} fields, got {len(row)}")
        rows.append([_number(row[p], path, number, columns[i]) for i, p in enumerate(positions)])
    if not rows:
        raise InputError(f"{path} holds no data rows")
    return np.asarray(rows, dtype=np.float32)


def _number(cell: str, path: Path, line: int, column: str) -> float:
    text = cell.strip()
    if text.lower() in MISSING_CELLS:
        return math.nan
    try:
        return float(text)
    except ValueError:
        raise InputError(
            f"{path}:{line}: column {column!r} holds {cell!r}, which is not a number; leave the cell "
            "empty (or NA) for a missing value"
        ) from None


def forecast_windows(
    series: np.ndarray,
    target_features: list[int],
    window: int,
    horizon: int,
    start: int,
    stop: int,
    stride: int = 1,
    future_features: list[int] | None = None,
) -> list[SequenceExample]:
    """Windows of a series (N, F) whose forecast targets lie in steps [start, stop).

    Each example reads `window` steps of every feature before step t and predicts the
    `target_features` over steps t .. t+horizon-1: values (window, F), target (horizon, K), and,
    with `future_features`, their known values over the same steps as `future` (horizon, Cf).
    Inputs may reach back before `start` (the past is known); targets never leave [start, stop).
    """
    first = max(start, window)
    return [
        SequenceExample(
            values=series[t - window : t],
            target=series[t : t + horizon, target_features],
            future=series[t : t + horizon, future_features] if future_features else None,
        )
        for t in range(first, stop - horizon + 1, stride)
    ]
