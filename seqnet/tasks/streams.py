"""`StreamStates`: the recurrent state stateful streams carry from batch to batch, per stage.

With `data.stateful=true` (`seqnet.data.streams`), row i of every batch continues row i of the
batch before it in the same stage (training, validation, test), except where `SeqBatch.continues`
is False: a new document, or the first batch of an epoch. A task keeps one `StreamStates` and
starts each batch from what it returns.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from seqnet.data import SeqBatch
from seqnet.nn import EncoderState


class StreamStates:
    """The state each stage's streams ended their last batch in (detached: no graph is kept)."""

    def __init__(self) -> None:
        self.carried: dict[str, EncoderState] = {}

    def start(self, stage: str, batch: SeqBatch, initial: Callable[[], EncoderState]) -> EncoderState | None:
        """The state `batch` (with `continues` set) starts from: the carried one, with `initial()`
        in rows that start over; None (the encoder's own start) where no row continues."""
        carried = self.carried.get(stage)
        if carried is None or batch.continues is None or not bool(batch.continues.any()):
            return None
        if carried.batch_size != len(batch):
            raise ValueError(
                f"{stage} streams carried {carried.batch_size} rows into a batch of {len(batch)}"
            )
        return carried.to(batch.inputs.device).reset(~batch.continues, initial())

    def end(self, stage: str, state: EncoderState) -> None:
        """Keep the state a batch of `stage` ended in, for the next."""
        self.carried[stage] = state.detach()

    def state_dict(self) -> dict[str, Any]:
        """The training streams' state, for a checkpoint: a resumed run goes on from it."""
        carried = self.carried.get("train")
        return {} if carried is None else {"train": [list(layer) for layer in carried.layers]}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.carried = {stage: EncoderState(layers) for stage, layers in state.items()}
