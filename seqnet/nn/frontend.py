"""A convolutional front-end for recurrent encoders: stacked 1-D convolutions over variable-length
batches that never let padding into a valid step (the FCN of LSTM-FCN, Karim et al. 2017)."""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from seqnet.errors import InputError
from seqnet.nn.masking import lengths_to_mask

NORMS = ("batch", "layer", "none")


class MaskedBatchNorm(nn.Module):
    """Batch normalisation over the valid steps of a padded batch: padded steps neither enter the
    statistics nor leave the layer non-zero, so a sequence's output does not change when more
    padding joins its batch. Evaluation uses the running statistics, as `nn.BatchNorm1d` does.

    x (B, T, C), mask (B, T) -> (B, T, C).
    """

    def __init__(self, channels: int, momentum: float = 0.1, eps: float = 1e-5) -> None:
        super().__init__()
        self.momentum = momentum
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(channels))
        self.bias = nn.Parameter(torch.zeros(channels))
        self.register_buffer("running_mean", torch.zeros(channels))
        self.register_buffer("running_var", torch.ones(channels))

    def forward(self, x: Tensor, mask: Tensor) -> Tensor:
        valid = mask.unsqueeze(-1).to(x.dtype)  # (B, T, 1)
        if self.training:
            count = valid.sum().clamp_min(1.0)
            mean = (x * valid).sum((0, 1)) / count  # (C,)
            var = ((x - mean) ** 2 * valid).sum((0, 1)) / count  # (C,)
            with torch.no_grad():
                unbiased = var * count / (count - 1).clamp_min(1.0)
                self.running_mean.lerp_(mean.to(self.running_mean.dtype), self.momentum)
                self.running_var.lerp_(unbiased.to(self.running_var.dtype), self.momentum)
        else:
            mean, var = self.running_mean, self.running_var
        return ((x - mean) * torch.rsqrt(var + self.eps) * self.weight + self.bias) * valid


class ConvFrontend(nn.Module):
    """Stacked 1-D convolutions, each followed by a norm, ReLU and dropout, over a padded batch.

    Each convolution sees zeros beyond every sequence's end, exactly as it would for that sequence
    alone; outputs at padded steps are zero. `stride` (on the first convolution) shortens long
    inputs: a sequence of n steps comes out with ceil(n / stride).

    Args:
        input_size: features per step.
        channels: output channels of each convolution (the last is `output_size`).
        kernel_sizes: kernel width of each convolution (LSTM-FCN: 8, 5, 3).
        stride: step of the first convolution.
        norm: batch (over valid steps, `MaskedBatchNorm`), layer (per step) or none.
        dropout: after each activation.

    forward: x (B, T, I), lengths (B,) on the CPU -> (B, T', C), lengths' (B,).
    """

    def __init__(
        self,
        input_size: int,
        channels: Sequence[int] = (128, 256, 128),
        kernel_sizes: Sequence[int] = (8, 5, 3),
        stride: int = 1,
        norm: str = "batch",
        dropout: float = 0.0,
    ) -> None:
        super().__init__()
        channels, kernel_sizes = list(channels), list(kernel_sizes)
        if not channels or len(channels) != len(kernel_sizes):
            raise InputError(
                f"the front-end needs one kernel size per convolution: channels={channels}, "
                f"kernel_sizes={kernel_sizes}"
            )
        if norm not in NORMS:
            raise InputError(f"frontend norm must be one of {NORMS}, got {norm!r}")
        if stride < 1 or min(kernel_sizes) < 1 or min(channels) < 1:
            raise InputError(
                f"frontend stride, kernel sizes and channels must be at least 1, got stride={stride}, "
                f"kernel_sizes={kernel_sizes}, channels={channels}"
            )
        self.stride = stride
        self.kernel_sizes = kernel_sizes
        widths = [input_size, *channels]
        self.convs = nn.ModuleList(
            nn.Conv1d(widths[i], widths[i + 1], k, stride=stride if i == 0 else 1)
            for i, k in enumerate(kernel_sizes)
        )
        self.norms = nn.ModuleList(
            MaskedBatchNorm(c) if norm == "batch" else nn.LayerNorm(c) if norm == "layer" else nn.Identity()
            for c in channels
        )
        self.dropout = nn.Dropout(dropout)
        self.output_size = channels[-1]

    def forward(self, x: Tensor, lengths: Tensor) -> tuple[Tensor, Tensor]:
        mask = lengths_to_mask(lengths, x.shape[1], x.device)  # (B, T)
        for i, (conv, norm) in enumerate(zip(self.convs, self.norms, strict=True)):
            x = x * mask.unsqueeze(-1).to(x.dtype)  # zeros beyond each end, as for a lone sequence
            k = self.kernel_sizes[i]
            padded = F.pad(x.transpose(1, 2), ((k - 1) // 2, k // 2))  # (B, C, T + k - 1)
            x = conv(padded).transpose(1, 2)  # (B, T', C)
            if i == 0 and self.stride > 1:
                lengths = torch.div(lengths + self.stride - 1, self.stride, rounding_mode="floor")
                mask = lengths_to_mask(lengths, x.shape[1], x.device)
            x = norm(x, mask) if isinstance(norm, MaskedBatchNorm) else norm(x)
            x = self.dropout(torch.relu(x)) * mask.unsqueeze(-1).to(x.dtype)  # (B, T', C)
        return x, lengths


class ConvBranch(nn.Module):
    """The fully convolutional branch of LSTM-FCN: a `ConvFrontend` and the mean of its outputs over
    each sequence's valid steps. x (B, T, I), lengths (B,) -> (B, C)."""

    def __init__(self, input_size: int, **frontend: object) -> None:
        super().__init__()
        self.convs = ConvFrontend(input_size, **frontend)
        self.output_size = self.convs.output_size

    def forward(self, x: Tensor, lengths: Tensor) -> Tensor:
        y, lengths = self.convs(x, lengths)  # (B, T', C), zero beyond each end
        return y.sum(1) / lengths.to(y.device, y.dtype).clamp_min(1).unsqueeze(-1)  # (B, C)
