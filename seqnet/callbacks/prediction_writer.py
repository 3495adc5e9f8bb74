"""Write a task's predictions to JSONL or CSV as Lightning produces them (`Trainer.predict`)."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import IO, Any

import lightning as L
from lightning.pytorch.callbacks import BasePredictionWriter
from torch import Tensor

from seqnet.data.prediction import PredictionInput
from seqnet.errors import InputError

OUTPUT_FORMATS = ("jsonl", "csv")


class PredictionWriter(BasePredictionWriter):
    """One record per input sequence, with class or tag names and probabilities.

    - many-to-one classes: {"index", "input", "label", "probs": {class: p}}
    - many-to-one values: {"index", "input", "prediction": [K values in data units]}
    - tags: {"index", "input", "tokens", "tags", "probs": [probability of each chosen tag]}
    - per-step values: {"index", "input", "prediction": [[K values] per step]}
    - seq2seq: {"index", "input", "output": the decoded text, "output_tokens": [tokens]}
    - forecasts: {"index", "forecast": [{"step": 1.., "line": the input file's line of that step
      (when known-future rows gave it), "<target>": value, "<target>_lower80", ... per step]}
    - anomaly scores: {"index", "start": the window's first step, "scores": [per step], "flags": [0/1]}

    CSV writes the same fields flat: one row per sequence, per token for tags, per forecast step,
    per scored step ("step", "score", "flag").
    """

    def __init__(self, path: str | Path, inputs: list[PredictionInput], output_format: str = "jsonl") -> None:
        super().__init__(write_interval="batch")
        if output_format not in OUTPUT_FORMATS:
            raise InputError(f"output format must be one of {OUTPUT_FORMATS}, got {output_format!r}")
        self.path = Path(path)
        self.inputs = inputs
        self.output_format = output_format
        self.handle: IO[str] | None = None
        self.csv: csv.DictWriter | None = None
        self.count = 0

    def on_predict_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.handle = self.path.open("w", encoding="utf-8", newline="")
        self.count = 0

    def write_on_batch_end(
        self,
        trainer: L.Trainer,
        pl_module: L.LightningModule,
        prediction: dict[str, Tensor],
        batch_indices: Any,
        batch: Any,
        batch_idx: int,
        dataloader_idx: int = 0,
    ) -> None:
        for row, index in enumerate(batch_indices):
            self._write(record(pl_module, prediction, row, index, self.inputs[index]))

    def on_predict_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if self.handle is not None:
            self.handle.close()
            self.handle = None

    def _write(self, one: dict[str, Any]) -> None:
        assert self.handle is not None
        self.count += 1
        if self.output_format == "jsonl":
            self.handle.write(json.dumps(one, ensure_ascii=False) + "\n")
            return
        for row in flat_rows(one):
            if self.csv is None:
                self.csv = csv.DictWriter(self.handle, fieldnames=list(row))
                self.csv.writeheader()
            self.csv.writerow(row)


def record(
    pl_module: L.LightningModule, prediction: dict[str, Tensor], row: int, index: int, source: PredictionInput
) -> dict[str, Any]:
    """The record of batch row `row` (input `index`) from a task's `predict_step` output."""
    out: dict[str, Any] = {"index": int(index)}
    if source.text is not None:
        out["input"] = source.text
    if "text" in prediction:  # a decoded sequence
        length = int(prediction["lengths"][row])
        out["output"] = prediction["text"][row]
        out["output_tokens"] = pl_module.vocabulary.decode(prediction["tokens"][row, :length].tolist())
        return out
    if getattr(pl_module, "horizon", 0):
        out["forecast"] = forecast_steps(
            pl_module.spec, prediction, row, source.future_lines, source.future_times
        )
        return out
    if "scores" in prediction:
        length = len(source.values)
        out["start"] = source.start or 0
        out["scores"] = [round(float(v), 6) for v in prediction["scores"][row, :length]]
        out["flags"] = [int(v) for v in prediction["flags"][row, :length]]
        return out
    preds = prediction["preds"][row].cpu()
    probs = prediction.get("probs")
    length = len(source.values)
    if probs is None:  # values in data units, one per sequence (K,) or per step (T, K)
        out["prediction"] = (preds[:length] if preds.dim() == 2 else preds).tolist()
    elif preds.dim() == 0:  # one class per sequence
        names = pl_module.output.class_names
        out["label"] = names[int(preds)]
        out["probs"] = {name: round(float(p), 6) for name, p in zip(names, probs[row].tolist(), strict=True)}
    else:  # a tag per step
        tags = preds[:length]
        out["tokens"] = source.tokens
        out["tags"] = [pl_module.output.class_names[int(t)] for t in tags]
        out["probs"] = [
            round(float(p), 6) for p in probs[row, :length].gather(1, tags.unsqueeze(1)).squeeze(1)
        ]
    return out


def forecast_steps(
    spec: Any,
    prediction: dict[str, Tensor],
    row: int,
    lines: list[int] | None,
    times: list[str] | None = None,
) -> list[dict[str, Any]]:
    """One entry per forecast step of batch row `row`: its date (in the time column's name) where
    the series has one, and the values of each target by column name, with `_lower80`-style
    suffixes for interval bounds."""
    names = [spec.feature_names[c] for c in spec.target_features]
    steps = []
    for step in range(prediction["preds"].shape[1]):
        entry: dict[str, Any] = {"step": step + 1}
        if times:
            entry[spec.time_column] = times[step]
        if lines:
            entry["line"] = lines[step]
        for key, values in prediction.items():
            suffix = "" if key == "preds" else f"_{key}"
            for k, name in enumerate(names):
                entry[f"{name}{suffix}"] = round(float(values[row, step, k]), 6)
        steps.append(entry)
    return steps


def flat_rows(one: dict[str, Any]) -> list[dict[str, Any]]:
    """A record as CSV rows: one per token for tags, one per forecast step, else one."""
    if "forecast" in one:
        return [{"index": one["index"], **step} for step in one["forecast"]]
    if "scores" in one:
        return [
            {"step": one["start"] + i, "score": score, "flag": flag}
            for i, (score, flag) in enumerate(zip(one["scores"], one["flags"], strict=True))
        ]
    if "tags" in one:
        tokens = one["tokens"] or [""] * len(one["tags"])
        return [
            {"index": one["index"], "position": i, "token": token, "tag": tag, "prob": prob}
            for i, (token, tag, prob) in enumerate(zip(tokens, one["tags"], one["probs"], strict=True))
        ]
    row = {key: value for key, value in one.items() if key not in ("probs", "prediction", "output_tokens")}
    if "probs" in one:
        row.update({f"prob_{name}": p for name, p in one["probs"].items()})
    if "prediction" in one:
        row["prediction"] = json.dumps(one["prediction"])
    return [row]
