"""`SeqBatch` and the collate function that pads variable-length examples into one."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, fields, replace

import torch
from torch import Tensor
from torch.nn.utils.rnn import pad_sequence

from seqnet.errors import InputError

IGNORE_INDEX = -100  # pads class-id targets per step; torch's cross entropy skips it by default

# (inputs, target, condition, known-future covariates) of one example
Item = tuple[Tensor, Tensor, Tensor | None, Tensor | None]


@dataclass
class SeqBatch:
    """A padded batch.

    inputs: (B, T, F) float features or (B, T) int64 token ids, zero/pad beyond each length.
    lengths: (B,) int64 valid steps per sequence; always on the CPU (packing needs them there).
    targets: (B,) class ids or (B, K) regression values, one per sequence; or per step:
        (B, T') tag ids / anomaly labels padded with `IGNORE_INDEX`, (B, T') token ids padded with
        the target pad id, or (B, T', K) series padded with zeros.
    target_lengths: (B,) int64 valid target steps for per-step targets, else None (CPU).
    conditions: (B,) condition class ids or (B, C) condition values, else None.
    future: (B, H, Cf) known-future covariates over the forecast steps (forecasting), else None.
    continues: stateful streams (`seqnet.data.streams`): (B,) bool, True where a row continues the
        same row of the previous batch (its recurrent state carries over), on the CPU; None for
        batches of independent sequences.
    """

    inputs: Tensor
    lengths: Tensor
    targets: Tensor
    target_lengths: Tensor | None = None
    conditions: Tensor | None = None
    future: Tensor | None = None
    continues: Tensor | None = None

    @property
    def mask(self) -> Tensor:
        """(B, T) bool, True at valid input steps, on the inputs' device."""
        return _mask(self.lengths, self.inputs.shape[1], self.inputs.device)

    @property
    def target_mask(self) -> Tensor:
        """(B, T') bool, True at valid target steps, on the targets' device (per-step targets)."""
        if self.target_lengths is None:
            raise ValueError("this batch has one target per sequence, so no target mask")
        return _mask(self.target_lengths, self.targets.shape[1], self.targets.device)

    def __len__(self) -> int:
        return self.inputs.shape[0]

    def head(self, rows: int) -> SeqBatch:
        """A copy of the first `rows` rows, every tensor copied (lengths too), so later changes
        to this batch do not reach it."""

        def first(t: Tensor | None) -> Tensor | None:
            return None if t is None else t[:rows].clone()

        return SeqBatch(**{f.name: first(getattr(self, f.name)) for f in fields(self)})

    def to(self, device: torch.device | str, non_blocking: bool = False) -> SeqBatch:
        """Move every tensor but the lengths, which stay on the CPU. Lightning calls this."""
        return self._apply(lambda t: t.to(device, non_blocking=non_blocking))

    def pin_memory(self) -> SeqBatch:
        return self._apply(Tensor.pin_memory)

    def _apply(self, move: Callable[[Tensor], Tensor]) -> SeqBatch:
        """`move` applied to inputs, targets, conditions and future covariates."""
        return replace(
            self,
            inputs=move(self.inputs),
            targets=move(self.targets),
            conditions=None if self.conditions is None else move(self.conditions),
            future=None if self.future is None else move(self.future),
        )


def _mask(lengths: Tensor, steps: int, device: torch.device) -> Tensor:
    positions = torch.arange(steps, device=device)
    return positions.unsqueeze(0) < lengths.to(device).unsqueeze(1)


def collate_sequences(
    examples: list[Item], pad_value: float = 0.0, target_pad_value: float | None = None
) -> SeqBatch:
    """Pad a list of (inputs (T, F) or (T,), target, condition or None[, future covariates (H, Cf)
    or None]) into a `SeqBatch`; the fourth entry may be left out when there are none.

    target_pad_value: None stacks one target per sequence; a number pads per-step targets with it
        and fills `target_lengths`.
    """
    if not examples:
        raise ValueError("cannot collate an empty list of examples")
    inputs = [x for x, *_ in examples]
    lengths = torch.tensor([x.shape[0] for x in inputs], dtype=torch.int64)
    if int(lengths.min()) == 0:
        empty = int((lengths == 0).nonzero()[0])
        raise InputError(
            f"example {empty} of the batch is an empty sequence; drop empty sequences from the "
            "data set (sources do this with a logged count) before batching"
        )
    padded = pad_sequence(inputs, batch_first=True, padding_value=pad_value)  # (B, T, ...)
    targets = [example[1] for example in examples]
    target_lengths = None
    if target_pad_value is None:
        stacked = torch.stack(targets)  # (B,) or (B, K)
    else:
        target_lengths = torch.tensor([y.shape[0] for y in targets], dtype=torch.int64)
        stacked = pad_sequence(targets, batch_first=True, padding_value=target_pad_value)  # (B, T', ...)
    conditions = [example[2] for example in examples]
    future = [example[3] if len(example) > 3 else None for example in examples]
    return SeqBatch(
        inputs=padded,
        lengths=lengths,
        targets=stacked,
        target_lengths=target_lengths,
        conditions=None if conditions[0] is None else torch.stack(conditions),
        future=None if future[0] is None else torch.stack(future),  # (B, H, Cf)
    )
