"""Anomaly detection on one long series: train on a (mostly) normal part, score every later step.

    value,label
    0.12,0
    0.15,1

`AnomalySource(path="ecg.csv", columns=["value"], label="label", train_end=5000)` reads the named
columns; steps before `train_end` are the training part (its last `val_fraction` validates), the
rest is the test part. Examples are windows with one 0/1 label per step (target kind `anomaly`):
a reconstruction model learns the normal windows and its reconstruction error scores each test
step; the labels are only used to evaluate. Validation and test windows tile their part, so every
step is scored exactly once (the last window of a part may be shorter).

Packaged series, read from their wheels without importing the packages:
kdd_tsad_135 (aeon; UCR Anomaly Archive "InternalBleeding16", 7,501 steps, the first 1,200 all
normal, 12 anomalous steps after them) and mitdb (sktime; 7,500 ECG samples, one labelled anomaly
of 352 steps at 6,936-7,287, so the first 5,000 train).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from seqnet.data.series import check_missing_policy, fill_missing, read_csv_columns
from seqnet.data.sources.base import SequenceExample, SequenceSplits
from seqnet.data.sources.packaged import packaged_file, packaged_or_path
from seqnet.errors import InputError


@dataclass(frozen=True)
class PackagedAnomalySeries:
    module: str
    file: str
    columns: list[str]
    label: str
    train_end: int


PACKAGED = {
    "kdd_tsad_135": PackagedAnomalySeries(
        "aeon",
        "datasets/data/KDD-TSAD_135/135_UCR_Anomaly_InternalBleeding16_TEST.csv",
        ["value"],
        "is_anomaly",
        1200,  # the archive's name for it ends in _1200_4187_4199: normal up to step 1,200
    ),
    "mitdb": PackagedAnomalySeries(
        "sktime",
        "datasets/data/mitdb/mitdb.csv",
        ["data"],
        "label",
        5000,
    ),
}


class AnomalySource:
    """Windows of a labelled series for reconstruction-based anomaly detection.

    Args:
        path: CSV file with a header row; or `dataset`: one of `PACKAGED` (not both).
        columns: value columns (default for a packaged series: its own); `label`: the 0/1 column,
            or None when the file has no labels (all steps count as normal).
        train_end: steps before it train (and validate); None takes the packaged series' own.
        window: steps per example; stride: steps between training windows (default window // 2).
        val_fraction: share of the training part, at its end, that validates.
        missing: error | interpolate | ffill (gaps in the values).
    """

    def __init__(
        self,
        path: str | Path | None = None,
        dataset: str | None = None,
        columns: list[str] | None = None,
        label: str | None = "label",
        train_end: int | None = None,
        window: int = 128,
        stride: int | None = None,
        val_fraction: float = 0.2,
        missing: str = "error",
        name: str | None = None,
    ) -> None:
        if missing == "drop":
            raise InputError(
                "missing=drop would shift the labels of an anomaly series; use interpolate or ffill"
            )
        self.packaged = packaged_or_path(path, dataset, PACKAGED)
        if self.packaged is None and (columns is None or train_end is None):
            raise InputError("name the value columns and train_end of your CSV file")
        self.path = Path(path) if path else None
        self.columns = list(columns or self.packaged.columns)
        self.label = self.packaged.label if self.packaged else label
        self.train_end = train_end if train_end is not None else self.packaged.train_end
        self.window = window
        self.stride = stride or max(1, window // 2)
        if not 0.0 < val_fraction < 1.0:
            raise InputError(f"val_fraction must be in (0, 1), got {val_fraction}")
        self.val_fraction = val_fraction
        self.missing = check_missing_policy(missing)
        self.name = name or dataset or self.path.stem

    def load(self) -> SequenceSplits:
        values, labels = self.read()  # (N, F), (N,)
        if not self.window <= self.train_end < len(values):
            raise InputError(
                f"{self.name}: train_end={self.train_end} must lie between window={self.window} and "
                f"the series length {len(values)}"
            )
        val_start = self.train_end - max(1, round(self.val_fraction * self.train_end))
        if val_start < self.window:
            raise InputError(
                f"{self.name}: the training part before validation has {val_start} steps, fewer than "
                f"window={self.window}; shorten the window, lower val_fraction or raise train_end"
            )

        def windows(start: int, stop: int, tile: bool) -> list[SequenceExample]:
            """Tiles of [start, stop) (the last may be shorter), or full windows every `stride`."""
            stride, last = (self.window, stop) if tile else (self.stride, stop - self.window + 1)
            spans = [(t, min(t + self.window, stop)) for t in range(start, last, stride)]
            return [SequenceExample(values=values[a:b], target=labels[a:b]) for a, b in spans]

        return SequenceSplits(
            name=self.name,
            train=windows(0, val_start, tile=False),
            val=windows(val_start, self.train_end, tile=True),
            test=windows(self.train_end, len(values), tile=True),
            target_kind="anomaly",
            aligned=True,
            window=self.window,
            feature_names=self.columns,
        )

    def read(self) -> tuple[np.ndarray, np.ndarray]:
        """Values (N, F) float32 after the missing policy, and labels (N,) int64."""
        if self.packaged is None:
            path = self.path
        else:
            path = packaged_file(self.packaged.module, self.packaged.file, f"series {self.name!r}")
        table = read_csv_columns(path, [*self.columns, *([self.label] if self.label else [])])
        values = fill_missing(table[:, : len(self.columns)], self.missing, str(path))
        if not self.label:
            return values, np.zeros(len(values), dtype=np.int64)
        labels = table[:, -1]
        if not np.isin(labels, (0, 1)).all():
            row = int(np.flatnonzero(~np.isin(labels, (0, 1)))[0])
            raise InputError(
                f"{path}: label column {self.label!r} must be 0 or 1; data row {row + 1} holds {labels[row]}"
            )
        return values, labels.astype(np.int64)
