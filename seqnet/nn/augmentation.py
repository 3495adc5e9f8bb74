"""Augmentation of feature series during training: jitter, scaling and window slicing."""

from __future__ import annotations

import torch
from torch import Tensor, nn

from seqnet.errors import InputError
from seqnet.nn.masking import lengths_to_mask


class SeriesAugmentation(nn.Module):
    """Random changes to a padded batch of feature series, for small training sets (Um et al.
    2017; Le Guennec et al. 2016). Draws come from torch's generator, which `seed` fixes and
    checkpoints save, so runs repeat and resume exactly. Padded steps stay zero; lengths keep.

    Args:
        jitter: standard deviation of Gaussian noise added to every valid step, in units of each
            channel's `scale` (0: off).
        scaling: standard deviation of a Gaussian factor around 1 per sequence and channel (0: off).
        window_slice: share of each sequence kept (1: off): a random window of that many steps is
            cut out and stretched back to the sequence's length by linear interpolation.

    forward: x (B, T, F), lengths (B,), scale (F,) or scalar -> (B, T, F).
    """

    def __init__(self, jitter: float = 0.0, scaling: float = 0.0, window_slice: float = 1.0) -> None:
        super().__init__()
        if jitter < 0 or scaling < 0 or not 0 < window_slice <= 1:
            raise InputError(
                f"augmentation needs jitter >= 0, scaling >= 0 and 0 < window_slice <= 1, got "
                f"jitter={jitter}, scaling={scaling}, window_slice={window_slice}"
            )
        self.jitter = jitter
        self.scaling = scaling
        self.window_slice = window_slice

    def forward(self, x: Tensor, lengths: Tensor, scale: Tensor | float = 1.0) -> Tensor:
        mask = lengths_to_mask(lengths, x.shape[1], x.device).unsqueeze(-1).to(x.dtype)  # (B, T, 1)
        if self.window_slice < 1:
            x = self._slice(x, lengths.to(x.device))
        if self.scaling:
            x = x * (
                1 + self.scaling * torch.randn(x.shape[0], 1, x.shape[2], device=x.device, dtype=x.dtype)
            )
        if self.jitter:
            x = x + self.jitter * scale * torch.randn_like(x)
        return x * mask  # (B, T, F)

    def _slice(self, x: Tensor, lengths: Tensor) -> Tensor:
        """Stretch a random window of each sequence over its whole length."""
        n = lengths.to(x.dtype)  # (B,)
        window = torch.clamp(torch.ceil(n * self.window_slice), min=1.0)  # (B,)
        start = torch.floor(torch.rand_like(n) * (n - window + 1))  # (B,)
        steps = torch.arange(x.shape[1], device=x.device, dtype=x.dtype)  # (T,)
        span = (window - 1) / torch.clamp(n - 1, min=1.0)  # (B,)
        position = start.unsqueeze(1) + steps.unsqueeze(0) * span.unsqueeze(1)  # (B, T)
        position = torch.minimum(position, (n - 1).unsqueeze(1))  # padded steps read the last one
        low = position.floor().long()  # (B, T)
        high = torch.minimum(low + 1, (lengths - 1).unsqueeze(1))  # (B, T)
        weight = (position - low.to(x.dtype)).unsqueeze(-1)  # (B, T, 1)
        index = low.unsqueeze(-1).expand_as(x)
        upper = high.unsqueeze(-1).expand_as(x)
        return torch.lerp(x.gather(1, index), x.gather(1, upper), weight)  # (B, T, F)
