"""Lengths and masks: the contract every encoder and pooling layer uses to keep padding out."""

from __future__ import annotations

import torch
from torch import Tensor


def validate_lengths(lengths: Tensor | None, batch: int, steps: int) -> Tensor:
    """Check `lengths` (B,) against a padded batch of `steps` steps; return them as CPU int64.

    None means every sequence fills all `steps`. Lengths on another device are copied to the CPU,
    where `pack_padded_sequence` needs them (keep them on the CPU to avoid a device sync).
    """
    if lengths is None:
        return torch.full((batch,), steps, dtype=torch.int64)
    lengths = torch.as_tensor(lengths).to("cpu", torch.int64)
    if lengths.shape != (batch,):
        raise ValueError(
            f"lengths must have shape (B,) = ({batch},), got {tuple(lengths.shape)}; "
            "pass one length per sequence in the batch"
        )
    if batch and int(lengths.min()) < 1:
        empty = int((lengths < 1).nonzero()[0])
        raise ValueError(
            f"sequence {empty} in the batch has length {int(lengths[empty])}; recurrent encoders "
            "need at least one step per sequence: drop empty sequences before batching"
        )
    if batch and int(lengths.max()) > steps:
        raise ValueError(
            f"a length of {int(lengths.max())} exceeds the padded batch's {steps} steps; "
            "lengths must count valid steps of the padded input"
        )
    return lengths


def lengths_to_mask(lengths: Tensor, steps: int, device: torch.device | str | None = None) -> Tensor:
    """lengths (B,) -> mask (B, T) bool, True at valid steps."""
    positions = torch.arange(steps, device=device)  # (T,)
    return positions.unsqueeze(0) < lengths.to(device).unsqueeze(1)  # (B, T)
