"""`SeqBatch` and the collate function that pads variable-length examples into one."""

from __future__ import annotations

from dataclasses import dataclass, replace

import torch
from torch import Tensor
from torch.nn.utils.rnn import pad_sequence


@dataclass
class SeqBatch:
    """A padded batch.

    inputs: (B, T, F) float features or (B, T) int64 token ids, zero/pad beyond each length.
    lengths: (B,) int64 valid steps per sequence; always on the CPU (packing needs them there).
    targets: (B,) class ids, (B, K) regression values, or (B, T') per-step targets.
    target_lengths: (B,) int64 for sequence targets, else None.
    """

    inputs: Tensor
    lengths: Tensor
    targets: Tensor
    target_lengths: Tensor | None = None

    @property
    def mask(self) -> Tensor:
        """(B, T) bool, True at valid input steps, on the inputs' device."""
        steps = self.inputs.shape[1]
        positions = torch.arange(steps, device=self.inputs.device)
        return positions.unsqueeze(0) < self.lengths.to(self.inputs.device).unsqueeze(1)

    def __len__(self) -> int:
        return self.inputs.shape[0]

    def to(self, device: torch.device | str, non_blocking: bool = False) -> SeqBatch:
        """Move inputs and targets; lengths stay on the CPU. Lightning calls this for the batch."""
        return replace(
            self,
            inputs=self.inputs.to(device, non_blocking=non_blocking),
            targets=self.targets.to(device, non_blocking=non_blocking),
        )

    def pin_memory(self) -> SeqBatch:
        return replace(self, inputs=self.inputs.pin_memory(), targets=self.targets.pin_memory())


def collate_sequences(examples: list[tuple[Tensor, Tensor]], pad_value: float = 0.0) -> SeqBatch:
    """Pad a list of (inputs (T, F) or (T,), target) pairs into a `SeqBatch`."""
    if not examples:
        raise ValueError("cannot collate an empty list of examples")
    inputs = [x for x, _ in examples]
    lengths = torch.tensor([x.shape[0] for x in inputs], dtype=torch.int64)
    if int(lengths.min()) == 0:
        empty = int((lengths == 0).nonzero()[0])
        raise ValueError(
            f"example {empty} of the batch is an empty sequence; drop empty sequences from the "
            "data set (sources do this with a logged count) before batching"
        )
    padded = pad_sequence(inputs, batch_first=True, padding_value=pad_value)  # (B, T, ...)
    targets = torch.stack([y for _, y in examples])
    return SeqBatch(inputs=padded, lengths=lengths, targets=targets)
