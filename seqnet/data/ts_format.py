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

from seqnet.data.text_files import read_lines
from seqnet.errors import InputError


@dataclass
class TsData:
    """Contents of one `.ts` file.

    series: one float32 array (T, C) per case; missing values are NaN.
    labels: one label string per case (class name, or the regression target as text).
    class_labels: the classes declared in the header, in header order (None for regression).
    metadata: the remaining header fields, lower-cased keys.
    lines: the line of each case in the file, for messages about it ("path:line").
    path: the file read.
    """

    series: list[np.ndarray]
    labels: list[str]
    class_labels: list[str] | None
    metadata: dict[str, str] = field(default_factory=dict)
    lines: list[int] = field(default_factory=list)
    path: str = ""


def read_ts(path: str | Path) -> TsData:
    """Parse a `.ts` file; a malformed line raises ValueError naming the file and line number."""
    path = Path(path)
    metadata: dict[str, str] = {}
    class_labels: list[str] | None = None
    has_label = False
    numeric_target = False  # @targetLabel true: regression, the label is a number
    first_case: tuple[int, int] | None = None  # (channels, line) of the first case
    series: list[np.ndarray] = []
    labels: list[str] = []
    lines: list[int] = []
    in_data = False
    for number, raw in enumerate(read_lines(path, ".ts file"), start=1):
        line = raw.strip()
        if not line or line.startswith(("#", "%")):  # % = ARFF-style comment
            continue
        if not in_data:
            if not line.startswith("@"):
                raise InputError(
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
                has_label = numeric_target = value.split()[0].lower() == "true"
            elif key == "timestamps" and value.strip().lower() == "true":
                raise InputError(
                    f"{path}:{number}: '@timeStamps true' files are not supported; "
                    "convert them to plain value lists"
                )
            else:
                metadata[key] = value.strip()
            continue
        values, label = _parse_case(line, has_label, path, number)
        if numeric_target:
            _check_target(label, path, number)
        first_case = first_case or (values.shape[1], number)
        if values.shape[1] != first_case[0]:
            hint = " (is its label missing?)" if has_label and values.shape[1] < first_case[0] else ""
            raise InputError(
                f"{path}:{number}: this case has {values.shape[1]} channel(s), the case on line "
                f"{first_case[1]} has {first_case[0]}{hint}; every case needs the same channels"
            )
        if class_labels is not None and label not in class_labels:
            raise InputError(
                f"{path}:{number}: label {label[:30]!r} is not among the classes the header declares "
                f"(@classLabel true {' '.join(class_labels)}); is the label missing?"
            )
        series.append(values)
        labels.append(label)
        lines.append(number)
    if not in_data:
        raise InputError(f"{path}: no '@data' line; is this a UCR/UEA .ts file?")
    if not series:
        raise InputError(f"{path}: '@data' is followed by no cases")
    return TsData(series, labels, class_labels, metadata, lines, str(path))


def _parse_case(line: str, has_label: bool, path: Path, number: int) -> tuple[np.ndarray, str]:
    """One data line -> values (T, C) float32 and its label ('' when the file has none)."""
    parts = line.split(":")
    label = ""
    if has_label:
        if len(parts) < 2:
            raise InputError(f"{path}:{number}: expected channels followed by ':<label>', found no ':'")
        *parts, label = parts
        label = label.strip()
    channels = []
    for channel, text in enumerate(parts):
        try:
            values = [float("nan") if v.strip() == "?" else float(v) for v in text.split(",")]
        except ValueError as error:
            raise InputError(
                f"{path}:{number}: channel {channel} holds a value that is not a number ({error})"
            ) from None
        channels.append(values)
    steps = {len(c) for c in channels}
    if len(steps) != 1:
        raise InputError(
            f"{path}:{number}: channels of one case differ in length {sorted(steps)}; "
            "every channel of a case needs the same number of steps"
        )
    return np.asarray(channels, dtype=np.float32).T, label  # (T, C)


def _check_target(label: str, path: Path, number: int) -> None:
    """A regression target (`@targetLabel true`) must be a number."""
    try:
        float(label)
    except ValueError:
        raise InputError(
            f"{path}:{number}: the target {label[:30]!r} is not a number; a regression file "
            "(@targetLabel true) ends every case with ':<number>'"
        ) from None
