"""`LinearChainCRF`: a conditional random field output layer for tagging, with Viterbi decoding.

Scores a tag sequence y for emissions e (B, T, C) as
    start[y_1] + sum_t e_t[y_t] + sum_t transitions[y_{t-1}, y_t] + end[y_T]
and normalises over all C^T sequences with the forward algorithm (log-space), so the model learns
which tag follows which (an I-PER never follows an O in BIO) instead of deciding each step alone.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn


class LinearChainCRF(nn.Module):
    """Transitions between `num_tags` tags, plus start and end scores.

    Every method takes a mask (B, T) of valid steps; each sequence must have its first step valid
    and its valid steps first (right padding).
    """

    def __init__(self, num_tags: int) -> None:
        super().__init__()
        self.num_tags = num_tags
        self.transitions = nn.Parameter(torch.zeros(num_tags, num_tags))  # [from, to]
        self.start = nn.Parameter(torch.zeros(num_tags))
        self.end = nn.Parameter(torch.zeros(num_tags))

    def log_partition(self, emissions: Tensor, mask: Tensor) -> Tensor:
        """log sum over all tag sequences of exp(score): (B,)."""
        alpha = self.start + emissions[:, 0]  # (B, C)
        for t in range(1, emissions.shape[1]):
            scores = alpha.unsqueeze(2) + self.transitions + emissions[:, t].unsqueeze(1)  # (B, C, C)
            alpha = torch.where(mask[:, t : t + 1], scores.logsumexp(dim=1), alpha)
        return (alpha + self.end).logsumexp(dim=1)

    def score(self, emissions: Tensor, tags: Tensor, mask: Tensor) -> Tensor:
        """Score of the given tags (B, T) (values at padded steps are ignored): (B,)."""
        tags = tags.masked_fill(~mask, 0)
        valid = mask.to(emissions.dtype)
        emitted = emissions.gather(2, tags.unsqueeze(2)).squeeze(2)  # (B, T)
        total = self.start[tags[:, 0]] + (emitted * valid).sum(1)
        moves = self.transitions[tags[:, :-1], tags[:, 1:]]  # (B, T-1)
        total = total + (moves * valid[:, 1:]).sum(1)
        last = tags.gather(1, (mask.sum(1) - 1).clamp(min=0).unsqueeze(1)).squeeze(1)  # (B,)
        return total + self.end[last]

    def nll(self, emissions: Tensor, tags: Tensor, mask: Tensor) -> Tensor:
        """Negative log-likelihood of the tags: (B,)."""
        return self.log_partition(emissions, mask) - self.score(emissions, tags, mask)

    def decode(self, emissions: Tensor, mask: Tensor, pad_value: int = -100) -> Tensor:
        """The most likely tag sequence (Viterbi): (B, T), `pad_value` at padded steps."""
        batch, steps, _ = emissions.shape
        best = self.start + emissions[:, 0]  # (B, C)
        # a padded step points each tag to itself, so backtracking passes through it unchanged
        identity = torch.arange(self.num_tags, device=emissions.device).expand(batch, -1)  # (B, C)
        pointers = []
        for t in range(1, steps):
            scores = best.unsqueeze(2) + self.transitions  # (B, C_from, C_to)
            value, pointer = scores.max(dim=1)  # (B, C)
            step_valid = mask[:, t : t + 1]
            best = torch.where(step_valid, value + emissions[:, t], best)
            pointers.append(torch.where(step_valid, pointer, identity))
        tag = (best + self.end).argmax(dim=1)  # (B,)
        path = [tag]
        for pointer in reversed(pointers):
            tag = pointer.gather(1, tag.unsqueeze(1)).squeeze(1)
            path.append(tag)
        tags = torch.stack(path[::-1], dim=1)  # (B, T)
        return tags.masked_fill(~mask, pad_value)
