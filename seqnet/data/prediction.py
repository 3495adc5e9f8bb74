"""Inputs for prediction from a checkpoint alone: a user's file, read in its data set's own format
and encoded with the vocabulary and tokenizer that the checkpoint's `DataSpec` carries.

Formats (`input_format`, or `auto` from the file's extension and the model's input kind):

- `ts`: a UCR/UEA `.ts` file, one series per case (labels, if any, are ignored);
- `csv`: one series per file, a header row, one row per step, one column per input feature;
  for a forecaster, the columns it was trained on by name (`read_forecast_input`): the history,
  then rows with empty targets that carry the known-future covariates of the steps to forecast;
  for an anomaly detector, its value columns by name, cut into windows it scores
  (`read_anomaly_inputs`);
- `conll`: CoNLL-style tokens, one per line (first column), blank line between sentences;
- `tsv`: `label<TAB>text` or `text` per line (the last column is read);
- `text`: one raw text per line (token models).
"""

from __future__ import annotations

import csv
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from seqnet.data.batch import Item
from seqnet.data.series import fill_missing, read_csv_columns, read_csv_header, zscore_series
from seqnet.data.sources.tagging import read_conll
from seqnet.data.spec import DataSpec
from seqnet.data.text_files import read_lines
from seqnet.data.timestamps import infer_frequency, parse_times, read_column, times_after
from seqnet.data.ts_format import read_ts
from seqnet.data.vocab import Vocabulary
from seqnet.data.word_chars import encode_words
from seqnet.errors import InputError

INPUT_FORMATS = ("auto", "ts", "csv", "conll", "tsv", "text")
log = logging.getLogger(__name__)
EXTENSIONS = {".ts": "ts", ".csv": "csv", ".conll": "conll", ".conllu": "conll", ".tsv": "tsv"}


@dataclass
class PredictionInput:
    """One sequence to predict: its values ((T, F) float32, (T,) int64 ids or (T, 2 + L) ids with
    characters, `seqnet.data.word_chars`), plus the tokens or
    text it came from (token inputs), which the written predictions repeat."""

    values: np.ndarray
    tokens: list[str] | None = None
    text: str | None = None
    future: np.ndarray | None = None  # forecasting: known-future covariates (H, Cf)
    future_lines: list[int] | None = None  # forecasting: the file lines of the forecast steps
    future_times: list[str] | None = None  # forecasting: the dates of the forecast steps
    start: int | None = None  # a window of a longer series (anomaly scores): its first step

    def item(self) -> Item:
        """(inputs, placeholder target, no condition, future covariates or None), as the collate
        function expects."""
        future = None if self.future is None else torch.from_numpy(np.ascontiguousarray(self.future))
        return torch.from_numpy(np.ascontiguousarray(self.values)), torch.tensor(0), None, future


def read_prediction_inputs(
    path: str | Path, spec: DataSpec, input_format: str = "auto", horizon: int | None = None
) -> list[PredictionInput]:
    """The sequences of `path`, encoded for a model trained on data described by `spec`; a
    forecaster's dates cover `horizon` steps (default: its trained horizon)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"input file {path} does not exist")
    kind = resolve_format(path, spec, input_format)
    if spec.horizon and spec.feature_names:
        if kind != "csv":
            raise InputError(
                f"a forecaster reads a CSV file with the columns {spec.feature_names}, not {kind}"
            )
        return [read_forecast_input(path, spec, horizon)]
    if spec.target_kind == "anomaly" and spec.feature_names:
        if kind != "csv":
            raise InputError(f"an anomaly detector reads a CSV file with the columns {spec.feature_names}")
        return read_anomaly_inputs(path, spec)
    if spec.input_kind == "features":
        if kind not in ("ts", "csv"):
            raise InputError(
                f"this model reads {spec.input_size} features per step: give a .ts or .csv file, not {kind}"
            )
        series = read_ts(path).series if kind == "ts" else [_read_csv_series(path)]
        if spec.normalize == "series":  # as the source did in training
            series = [zscore_series(values) for values in series]
        inputs = [PredictionInput(values.astype(np.float32)) for values in series]
        for number, one in enumerate(inputs):
            if one.values.shape[1] != spec.input_size:
                raise InputError(
                    f"{path}: sequence {number} has {one.values.shape[1]} channels, but the model was "
                    f"trained on {spec.input_size}"
                )
    else:
        if kind in ("ts", "csv"):
            raise InputError(f"this model reads tokens: give text (text, tsv or conll), not a {kind} file")
        inputs = _token_inputs(_texts(path, kind), spec)
    empty = [i for i, one in enumerate(inputs) if len(one.values) == 0]
    if empty:
        raise InputError(f"{path}: sequence {empty[0]} is empty (no steps or tokens); remove it")
    if not inputs:
        raise InputError(f"{path} holds no sequence to predict")
    return inputs


def raw_prediction_inputs(raw: Sequence[Any], spec: DataSpec) -> list[PredictionInput]:
    """In-memory inputs encoded for a model trained on data described by `spec`: strings or token
    lists for a token model (its own tokenizer and vocabulary), arrays (T, F) or (T,) for a series
    model (a forecaster's: its history, the trained columns in order; scaled by the model itself)."""
    if isinstance(raw, str | np.ndarray) or not len(raw):
        raise InputError("predict takes a list of inputs (texts, token lists or arrays), not one input")
    if spec.input_kind == "tokens":
        if not all(isinstance(one, str | list | tuple) for one in raw):
            raise InputError("this model reads text: give strings, or lists of tokens")
        inputs = _token_inputs([one if isinstance(one, str) else list(one) for one in raw], spec)
    elif spec.future_features:
        raise InputError(
            "this forecaster reads known-future covariates over the forecast steps: predict from a CSV "
            "file that holds them (seqnet-predict, or read_prediction_inputs)"
        )
    else:
        series = [np.asarray(one, dtype=np.float32) for one in raw]
        series = [values.reshape(len(values), -1) for values in series]  # (T, F)
        if spec.normalize == "series":  # as the source did in training
            series = [zscore_series(values) for values in series]
        inputs = [PredictionInput(values) for values in series]
        for number, one in enumerate(inputs):
            if one.values.shape[1] != spec.input_size:
                raise InputError(
                    f"input {number} has {one.values.shape[1]} features per step, but the model was "
                    f"trained on {spec.input_size}"
                )
            if spec.window and len(one.values) < spec.window:
                raise InputError(f"input {number} has {len(one.values)} steps; the model reads {spec.window}")
    empty = [i for i, one in enumerate(inputs) if len(one.values) == 0]
    if empty:
        raise InputError(f"input {empty[0]} is empty (no steps or tokens)")
    if spec.horizon:  # a forecaster reads the last `window` steps of each history
        inputs = [PredictionInput(one.values[-spec.window :]) for one in inputs]
    return inputs


def resolve_format(path: Path, spec: DataSpec, input_format: str) -> str:
    if input_format not in INPUT_FORMATS:
        raise InputError(f"input_format must be one of {INPUT_FORMATS}, got {input_format!r}")
    if input_format != "auto":
        return input_format
    return EXTENSIONS.get(path.suffix.lower(), "text" if spec.input_kind == "tokens" else "csv")


def _texts(path: Path, kind: str) -> list[str | list[str]]:
    """Raw texts (strings) or pre-split token lists (CoNLL) of a text file."""
    if kind == "conll":
        return [tokens for tokens, _ in read_conll(path, token_column=0, tag_column=0)]
    lines = [line for line in read_lines(path, "input file") if line.strip()]
    return [line.split("\t")[-1] for line in lines] if kind == "tsv" else lines


def _token_inputs(texts: list[str | list[str]], spec: DataSpec) -> list[PredictionInput]:
    tokenizer = spec.text_tokenizer()
    vocab = Vocabulary(spec.vocab)
    chars = Vocabulary(spec.char_vocab) if spec.char_vocab else None
    inputs = []
    for text in texts:
        if isinstance(text, list):  # pre-split tokens: only normalise each (e.g. lower-case)
            tokens = [piece for token in text for piece in tokenizer.tokenize(token)]
            shown = " ".join(text)
        else:
            tokens, shown = tokenizer.tokenize(text), text
        if chars is None:
            values = np.array(vocab.encode(tokens), dtype=np.int64)  # (T,)
        else:  # words with their casing and characters as written (the tokenizer splits at whitespace)
            values = encode_words(tokens, vocab, chars, spec.max_word_chars, forms=shown.split())
        inputs.append(PredictionInput(values, tokens, shown))
    total = sum(len(one.values) for one in inputs)
    unknown = sum(
        int((one.values.reshape(len(one.values), -1)[:, 0] == vocab.unk_id).sum()) for one in inputs
    )
    if unknown:
        log.warning(
            "%d of %d input tokens are not in the model's vocabulary and read as <unk>: %s",
            unknown, total, sorted({t for one in inputs for t in one.tokens if t not in vocab})[:10],
        )  # fmt: skip
    return inputs


def _read_csv_series(path: Path) -> np.ndarray:
    """A CSV file as one series (T, F): every column is a feature, every row after the header a
    step; a missing or non-numeric value is an error naming the file, line or step and column."""
    with path.open(newline="", encoding="utf-8") as handle:
        header = [name.strip() for name in next(csv.reader(handle), [])]
    values = read_csv_columns(path, header)  # (T, F)
    return fill_missing(values, "error", str(path))


def read_forecast_input(path: Path, spec: DataSpec, horizon: int | None = None) -> PredictionInput:
    """A forecaster's input from a CSV file read by the column names it was trained on.

    The rows up to the last one with every target present are the history (its last
    `spec.window` rows are read; no gaps allowed there). A model with known-future covariates
    needs `spec.horizon` more rows after it, with empty targets and the covariates filled in.
    """
    names = spec.feature_names
    table = read_csv_columns(path, names)  # (N, F), NaN where a cell is empty
    targets = table[:, spec.target_features]
    present = np.flatnonzero(np.isfinite(targets).all(axis=1))
    if not len(present):
        raise InputError(f"{path}: no row has every target column {_names(spec, spec.target_features)}")
    end = int(present[-1]) + 1  # rows [0, end) are the history
    if end < spec.window:
        raise InputError(
            f"{path}: the model reads {spec.window} past steps, but the file has {end} rows of history"
        )
    history = fill_missing(
        table[end - spec.window : end], "error", f"{path} (the last {spec.window} rows of history)"
    )
    future, lines = None, None
    if spec.future_features:
        future = table[end : end + spec.horizon][:, spec.future_features]
        if len(future) < spec.horizon or not np.isfinite(future).all():
            columns = _names(spec, spec.future_features)
            first, last = end + 2, end + spec.horizon + 1  # file lines: the header is line 1
            raise InputError(
                f"{path}: forecasting {spec.horizon} steps needs the known-future covariates {columns} "
                f"of each: add rows {first}-{last} (lines after the last target) with empty "
                f"{_names(spec, spec.target_features)} and {columns} filled in"
            )
        lines = list(range(end + 2, end + spec.horizon + 2))
    times = forecast_times(path, spec, end, horizon or spec.horizon)
    return PredictionInput(history.astype(np.float32), future=future, future_lines=lines, future_times=times)


def forecast_times(path: Path, spec: DataSpec, end: int, steps: int) -> list[str] | None:
    """The dates of the `steps` steps after row `end` of a forecaster's input file: read from
    its time column where the rows are there, else continued at the frequency of its history (or
    the training series'); None for a model trained without a time column."""
    if not spec.time_column or spec.time_column not in read_csv_header(path):
        return None
    cells = read_column(path, spec.time_column)
    times = parse_times(cells[: end + steps], f"{path}: {spec.time_column}")
    if len(times) >= end + steps:
        return [str(t).replace("T", " ") for t in times[end : end + steps]]
    frequency = infer_frequency(times[:end]) if end > 1 else spec.frequency
    return times_after(times[end - 1], frequency, steps)


def read_anomaly_inputs(path: Path, spec: DataSpec) -> list[PredictionInput]:
    """A series from a CSV file (the value columns the detector was trained on, by name), cut into
    back-to-back windows of `spec.window` steps (the last may be shorter), each to be scored."""
    values = fill_missing(read_csv_columns(path, spec.feature_names), "error", str(path))
    return [
        PredictionInput(values[start : start + spec.window], start=start)
        for start in range(0, len(values), spec.window)
    ]


def _names(spec: DataSpec, channels: list[int]) -> list[str]:
    return [spec.feature_names[c] for c in channels]
