"""The model summary a run prints: one short table of the layers that hold parameters."""

from __future__ import annotations

import logging
from typing import Any

from lightning.pytorch.callbacks import ModelSummary

log = logging.getLogger(__name__)


class CompactModelSummary(ModelSummary):
    """Lightning's model summary without the rows of parameter-free modules (metrics, pooling)
    and without the mode and FLOPs columns:

        encoder   RecurrentEncoder   540 K
        output    ClassOutput        2.3 K
        542 K trainable parameters (2.2 MB)
    """

    @staticmethod
    def summarize(
        summary_data: list[tuple[str, list[str]]],
        total_parameters: int,
        trainable_parameters: int,
        model_size: float,
        total_training_modes: dict[str, int],
        total_flops: int,
        **summarize_kwargs: Any,
    ) -> None:
        columns = dict(summary_data)
        rows = [
            (name, kind, params)
            for name, kind, params in zip(columns["Name"], columns["Type"], columns["Params"], strict=True)
            if params.strip() != "0"
        ]
        widths = [max((len(row[i]) for row in rows), default=0) for i in range(3)]
        lines = [
            "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)) for row in rows
        ]
        frozen = total_parameters - trainable_parameters
        lines.append(
            f"{trainable_parameters:,} trainable parameters"
            + (f", {frozen:,} frozen" if frozen else "")
            + f" ({model_size:.1f} MB)"
        )
        log.info("model:\n" + "\n".join(lines))
