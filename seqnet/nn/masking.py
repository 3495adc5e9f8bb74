"""Lengths and masks: the contract every encoder and pooling layer uses to keep padding out."""

from __future__ import annotations

import torch
from torch import Tensor

from seqnet.errors import InputError


def validate_lengths(lengths: Tensor | None, batch: int, steps: int) -> tuple[Tensor, int]:
    """Check `lengths` (B,) against a padded batch of `steps` steps; return them as CPU int64, and
    the shortest (`steps` for an empty batch), which tells a caller whether every row is full.

    None means every sequence fills all `steps`. Lengths on another device are copied to the CPU,
    where `pack_padded_sequence` needs them (keep them on the CPU to avoid a device sync). A length
    of 0 is allowed: an encoder passes that row's state through unchanged (a stream that ended).
    """
    if lengths is None:
        return torch.full((batch,), steps, dtype=torch.int64), steps
    lengths = torch.as_tensor(lengths)
    if lengths.device.type != "cpu" or lengths.dtype != torch.int64:
        lengths = lengths.to("cpu", torch.int64)
    if lengths.shape != (batch,):
        raise InputError(
            f"lengths must have shape (B,) = ({batch},), got {tuple(lengths.shape)}; "
            "pass one length per sequence in the batch"
        )
    if not batch:
        return lengths, steps
    shortest, longest = (int(v) for v in torch.aminmax(lengths))
    if shortest < 0:
        negative = int((lengths < 0).nonzero()[0])
        raise InputError(f"sequence {negative} in the batch has a negative length {int(lengths[negative])}")
    if longest > steps:
        raise InputError(
            f"a length of {longest} exceeds the padded batch's {steps} steps; "
            "lengths must count valid steps of the padded input"
        )
    return lengths, shortest


def lengths_to_mask(lengths: Tensor, steps: int, device: torch.device | str | None = None) -> Tensor:
    """lengths (B,) -> mask (B, T) bool, True at valid steps."""
    positions = torch.arange(steps, device=device)  # (T,)
    return positions.unsqueeze(0) < lengths.to(device).unsqueeze(1)  # (B, T)


def reverse_padded(x: Tensor, lengths: Tensor) -> Tensor:
    """Reverse each sequence of x (B, T, ...) within its own length; padded steps stay in place.

    lengths: (B,) on x's device. Applying it twice gives x back.
    """
    steps = x.shape[1]
    positions = torch.arange(steps, device=x.device).unsqueeze(0)  # (1, T)
    lengths = lengths.unsqueeze(1)  # (B, 1)
    index = torch.where(positions < lengths, lengths - 1 - positions, positions)  # (B, T)
    index = index.view(*index.shape, *([1] * (x.dim() - 2))).expand_as(x)
    return x.gather(1, index)
