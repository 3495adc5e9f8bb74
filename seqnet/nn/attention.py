"""Attention of a decoder over the encoder's outputs (the memory): masked, with three scorers.

    attention = build_attention("general", query_size=256, memory_size=512)
    keys = attention.keys(memory)                            # once per source batch: (B, S, K)
    context, weights = attention(query, keys, memory, mask)  # every decoder step

- `dot` (Luong): score = q . m; needs query and memory of one width.
- `general` (Luong): score = q . W m.
- `additive` (Bahdanau): score = v . tanh(W m + U q).

Padded source steps get weight exactly 0 and the valid ones sum to 1. A scorer of your own
subclasses `Attention` and overrides `score` (and `keys`, to precompute from the memory); name it
by its import path (`model.decoder.attention=my_module.MyScorer`) or `register_attention` it.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor, nn

from seqnet.errors import InputError
from seqnet.nn.importing import import_object


class Attention(nn.Module):
    """Base class: `keys(memory)` once per source batch, `score(query, keys)` every step.

    Args:
        query_size: width of the decoder state that asks (B, Q).
        memory_size: width of the encoder outputs attended to (B, S, M).
    """

    def __init__(self, query_size: int, memory_size: int) -> None:
        super().__init__()
        self.query_size = query_size
        self.memory_size = memory_size

    def keys(self, memory: Tensor) -> Tensor:
        """memory (B, S, M) -> keys (B, S, K) that `score` compares the query with."""
        return memory

    def score(self, query: Tensor, keys: Tensor) -> Tensor:
        """query (B, Q), keys (B, S, K) -> unnormalised scores (B, S)."""
        raise NotImplementedError

    def forward(self, query: Tensor, keys: Tensor, memory: Tensor, mask: Tensor) -> tuple[Tensor, Tensor]:
        """query (B, Q), keys (B, S, K), memory (B, S, M), mask (B, S) True at valid steps ->
        (context (B, M), weights (B, S)). A row without valid steps gets zero weights and context."""
        scores = self.score(query, keys).masked_fill(~mask, float("-inf"))  # (B, S)
        weights = torch.softmax(scores, dim=-1).masked_fill(~mask, 0.0)  # an all-padding row: 0, not NaN
        context = torch.bmm(weights.unsqueeze(1), memory).squeeze(1)  # (B, M)
        return context, weights


class DotAttention(Attention):
    """Luong's dot score q . m (query and memory of one width)."""

    def __init__(self, query_size: int, memory_size: int) -> None:
        super().__init__(query_size, memory_size)
        if query_size != memory_size:
            raise InputError(
                f"dot attention compares the decoder state ({query_size}) with the encoder outputs "
                f"({memory_size}) directly, so their widths must match; use attention=general, which "
                "learns the map between them, or make the sizes equal"
            )

    def score(self, query: Tensor, keys: Tensor) -> Tensor:
        return torch.bmm(keys, query.unsqueeze(2)).squeeze(2)  # (B, S)


class GeneralAttention(Attention):
    """Luong's general score q . W m (W maps the memory to the query's width once per batch)."""

    def __init__(self, query_size: int, memory_size: int) -> None:
        super().__init__(query_size, memory_size)
        self.project = nn.Linear(memory_size, query_size, bias=False)

    def keys(self, memory: Tensor) -> Tensor:
        return self.project(memory)  # (B, S, Q)

    def score(self, query: Tensor, keys: Tensor) -> Tensor:
        return torch.bmm(keys, query.unsqueeze(2)).squeeze(2)  # (B, S)


class AdditiveAttention(Attention):
    """Bahdanau's additive score v . tanh(W m + U q), with `hidden_size` units (default: Q)."""

    def __init__(self, query_size: int, memory_size: int, hidden_size: int | None = None) -> None:
        super().__init__(query_size, memory_size)
        hidden_size = hidden_size or query_size
        self.memory_layer = nn.Linear(memory_size, hidden_size, bias=False)
        self.query_layer = nn.Linear(query_size, hidden_size)
        self.v = nn.Linear(hidden_size, 1, bias=False)

    def keys(self, memory: Tensor) -> Tensor:
        return self.memory_layer(memory)  # (B, S, A)

    def score(self, query: Tensor, keys: Tensor) -> Tensor:
        return self.v(torch.tanh(keys + self.query_layer(query).unsqueeze(1))).squeeze(2)  # (B, S)


AttentionFactory = Callable[[int, int], Attention]
ATTENTIONS: dict[str, AttentionFactory] = {
    "dot": DotAttention,
    "general": GeneralAttention,
    "additive": AdditiveAttention,
}


def register_attention(name: str, factory: AttentionFactory) -> None:
    """Make `attention=name` build `factory(query_size, memory_size)`."""
    ATTENTIONS[name] = factory


def build_attention(name: str | None, query_size: int, memory_size: int) -> Attention | None:
    """A registered scorer, one named by import path (`my_module.MyScorer`), or None for "none"."""
    if name in (None, "none"):
        return None
    if name not in ATTENTIONS:
        try:
            register_attention(name, import_object(name))
        except ImportError:
            raise InputError(
                f"unknown attention {name!r}; choose none or one of {sorted(ATTENTIONS)}, register your "
                "own with seqnet.nn.register_attention, or give its import path (my_module.MyScorer)"
            ) from None
    return ATTENTIONS[name](query_size, memory_size)
