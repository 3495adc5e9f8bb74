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
    """One record per input sequence: its "index" and what the task's `records` says of it (each
    task's `record` documents its fields; a task with the "predict" capability has one), e.g.

    - many-to-one classes: {"index", "input", "label", "probs": {class: p}}
    - tags: {"index", "input", "tokens", "tags", "probs", "spans": [(text, type, start, end)]}
    - forecasts: {"index", "forecast": [{"step": 1.., "<target>": value, ...} per step]}

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
        found = pl_module.records(prediction, [self.inputs[index] for index in batch_indices])
        for index, one in zip(batch_indices, found, strict=True):
            self._write({"index": int(index), **one})

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
