"""Mask-aware pooling of encoder outputs into one vector per sequence (many-to-one heads)."""

from __future__ import annotations

import torch
from torch import Tensor, nn

from seqnet.errors import InputError
from seqnet.nn.encoder import EncoderOutput


class LastPooling(nn.Module):
    """Forward direction's last valid step, backward direction's first step (`EncoderOutput.last`)."""

    def forward(self, enc: EncoderOutput) -> Tensor:
        return enc.last  # (B, D)


class MeanPooling(nn.Module):
    """Mean over valid steps."""

    def forward(self, enc: EncoderOutput) -> Tensor:
        mask = enc.mask.unsqueeze(-1).to(enc.outputs.dtype)  # (B, T, 1)
        return (enc.outputs * mask).sum(1) / mask.sum(1)  # (B, D)


class MaxPooling(nn.Module):
    """Element-wise maximum over valid steps."""

    def forward(self, enc: EncoderOutput) -> Tensor:
        masked = enc.outputs.masked_fill(~enc.mask.unsqueeze(-1), float("-inf"))  # (B, T, D)
        return masked.max(dim=1).values  # (B, D)


class AttentionPooling(nn.Module):
    """Additive self-attention over valid steps: a_t = softmax(v^T tanh(W o_t)), pooled = sum a_t o_t.

    The weights of the last call are kept in `weights` (B, T) for logging and inspection.
    """

    def __init__(self, input_size: int, attention_size: int | None = None) -> None:
        super().__init__()
        attention_size = attention_size or input_size
        self.project = nn.Linear(input_size, attention_size)
        self.score = nn.Linear(attention_size, 1, bias=False)
        self.weights: Tensor | None = None

    def forward(self, enc: EncoderOutput) -> Tensor:
        scores = self.score(torch.tanh(self.project(enc.outputs))).squeeze(-1)  # (B, T)
        scores = scores.masked_fill(~enc.mask, float("-inf"))
        weights = scores.softmax(dim=-1)  # (B, T), zero at padded steps
        self.weights = weights.detach()
        return torch.bmm(weights.unsqueeze(1), enc.outputs).squeeze(1)  # (B, D)


POOLINGS = ("last", "mean", "max", "attention")


def build_pooling(name: str, input_size: int) -> nn.Module:
    """Pooling layer by name: last, mean, max or attention."""
    if name == "last":
        return LastPooling()
    if name == "mean":
        return MeanPooling()
    if name == "max":
        return MaxPooling()
    if name == "attention":
        return AttentionPooling(input_size)
    raise InputError(f"unknown pooling {name!r}; choose from {POOLINGS}")
