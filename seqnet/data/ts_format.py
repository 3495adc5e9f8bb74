"""Reader for the UCR/UEA `.ts` format (sktime/aeon's archive files).

The format: `#` (or `%`) comment lines, `@` header lines (`@problemName`, `@univariate`, `@dimensions`,
`@equalLength`, `@classLabel true a b c` or `@targetLabel true`, ...), then `@data` and one case
per line: channels separated by `:`, values within a channel by `,`, `?` for a missing value, and the
label last.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np


@dataclass
class TsData:
    """Contents of one `.ts` file.

    series: one float32 array (T, C) per case; missing values are NaN.
    labels: one label string per case (class name, or the regression target as text).
    class_labels: the classes declared in the header, in header order (None for regression).
    metadata: the remaining header fields, lower-cased keys.
    """

    series: list[np.ndarray]
    labels: list[str]
    class_labels: list[str] | None
    metadata: dict[str, str] = field(default_factory=dict)


def read_ts(path: str | Path) -> TsData:
    """Parse a `.ts` file; a malformed line raises ValueError naming the file and line number."""
    path = Path(path)
    metadata: dict[str, str] = {}
    class_labels: list[str] | None = None
    has_label = False
    series: list[np.ndarray] = []
    labels: list[str] = []
    in_data = False
    with path.open(encoding="utf-8") as handle:
        for number, raw in enumerate(handle, start=1):
            line = raw.strip()
            if not line or line.startswith(("#", "%")):  # % = ARFF-style comment
                continue
            if not in_data:
                if not line.startswith("@"):
                    raise ValueError(
                        f"{path}:{number}: expected a '@' header line or '@data' before the "
                        f"cases, got {line[:40]!r}"
                    )
                key, _, value = line[1:].partition(" ")
                key = key.lower()
                if key == "data":
                    in_data = True
                elif key == "classlabel":
                    flag, *names = value.split()
                    has_label = flag.lower() == "true"
                    class_labels = names if has_label else None
                elif key == "targetlabel":
                    has_label = value.split()[0].lower() == "true"
                elif key == "timestamps" and value.strip().lower() == "true":
                    raise ValueError(
                        f"{path}:{number}: '@timeStamps true' files are not supported; "
                        "convert them to plain value lists"
                    )
                else:
                    metadata[key] = value.strip()
                continue
            values, label = _parse_case(line, has_label, path, number)
            series.append(values)
            labels.append(label)
    if not in_data:
        raise ValueError(f"{path}: no '@data' line; is this a UCR/UEA .ts file?")
    if not series:
        raise ValueError(f"{path}: '@data' is followed by no cases")
    _check_channels(series, path)
    return TsData(series=series, labels=labels, class_labels=class_labels, metadata=metadata)


def _parse_case(line: str, has_label: bool, path: Path, number: int) -> tuple[np.ndarray, str]:
    """One data line -> values (T, C) float32 and its label ('' when the file has none)."""
    parts = line.split(":")
    label = ""
    if has_label:
        if len(parts) < 2:
            raise ValueError(f"{path}:{number}: expected channels followed by ':<label>', found no ':'")
        *parts, label = parts
        label = label.strip()
    channels = []
    for channel, text in enumerate(parts):
        try:
            values = [float("nan") if v.strip() == "?" else float(v) for v in text.split(",")]
        except ValueError as error:
            raise ValueError(
                f"{path}:{number}: channel {channel} holds a value that is not a number ({error})"
            ) from None
        channels.append(values)
    steps = {len(c) for c in channels}
    if len(steps) != 1:
        raise ValueError(
            f"{path}:{number}: channels of one case differ in length {sorted(steps)}; "
            "every channel of a case needs the same number of steps"
        )
    return np.asarray(channels, dtype=np.float32).T, label  # (T, C)


def _check_channels(series: list[np.ndarray], path: Path) -> None:
    counts = {s.shape[1] for s in series}
    if len(counts) != 1:
        raise ValueError(f"{path}: cases have different numbers of channels {sorted(counts)}")
