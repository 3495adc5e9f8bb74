"""`RecurrentDecoder`: a token decoder with attention over the encoder's outputs, run one step at a
time through `RecurrentEncoder.step` (so any registered cell, mixed stacks included, decodes), and
`StateBridge`, which starts it from the encoder's summary.

Per step (Luong et al. 2015, as OpenNMT's RNN decoder):

    x_t   = [embed(y_{t-1}); a_{t-1}]          (a_{t-1} only with input feeding)
    h_t   = core(x_t, state)
    c_t   = attention(h_t, memory)             (masked over padded source steps)
    a_t   = tanh(W [h_t; c_t])                 (h_t itself without attention)
    logits = V a_t
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import torch
from torch import Tensor, nn

from seqnet.errors import InputError
from seqnet.nn.attention import build_attention
from seqnet.nn.encoder import RecurrentEncoder
from seqnet.nn.state import EncoderState


@dataclass
class DecoderState:
    """What the decoder carries between steps; `index_select` follows beam hypotheses.

    rnn: the core's `EncoderState`.
    feed: (B, H) the last attentional vector (input feeding), else None.
    memory: (B, S, M) encoder outputs; keys: (B, S, K) the attention's keys; mask: (B, S) valid
        source steps (all None without attention).
    limit: (B,) how many tokens each row may produce (a decoding bound), else None.
    steps: tokens produced so far.
    """

    rnn: EncoderState
    feed: Tensor | None = None
    memory: Tensor | None = None
    keys: Tensor | None = None
    mask: Tensor | None = None
    limit: Tensor | None = None
    steps: int = 0

    def index_select(self, rows: Tensor) -> DecoderState:
        """Rows (R,) of batch indices -> the state of batch R (rows may repeat or reorder)."""

        def pick(t: Tensor | None) -> Tensor | None:
            return None if t is None else t.index_select(0, rows.to(t.device))

        return DecoderState(
            self.rnn.index_select(rows),
            pick(self.feed),
            pick(self.memory),
            pick(self.keys),
            pick(self.mask),
            pick(self.limit),
            self.steps,
        )


class RecurrentDecoder(nn.Module):
    """Embed the previous token, step the recurrent core, attend, predict the next token.

    Args:
        vocab_size: target vocabulary size (logits width).
        memory_size: width of the encoder outputs attended to.
        embedding_dim: target token embedding width.
        cell / hidden_size / num_layers / dropout / **core_options: the recurrent core, a
            unidirectional `RecurrentEncoder` (cell may be a list, one per layer, or your own).
        attention: "none", "dot", "general", "additive", or a scorer's import path.
        input_feed: feed the last attentional vector into the next step (needs attention).
        pad_id: the target padding id (its embedding stays zero).
    """

    def __init__(
        self,
        vocab_size: int,
        memory_size: int,
        embedding_dim: int = 64,
        cell: str | list[str] = "lstm",
        hidden_size: int = 128,
        num_layers: int | None = None,
        dropout: float = 0.0,
        attention: str | None = "general",
        input_feed: bool = True,
        pad_id: int = 0,
        **core_options: Any,
    ) -> None:
        super().__init__()
        if core_options.get("bidirectional"):
            raise InputError("a decoder produces tokens left to right, so its core cannot be bidirectional")
        self.embedding = nn.Embedding(vocab_size, embedding_dim, padding_idx=pad_id)
        self.dropout = nn.Dropout(dropout)
        self.input_feed = bool(input_feed and attention not in (None, "none"))
        self.core = RecurrentEncoder(
            embedding_dim + (hidden_size if self.input_feed else 0),
            cell=cell,
            hidden_size=hidden_size,
            num_layers=num_layers,
            dropout=dropout,
            **core_options,
        )
        query_size = self.core.output_size
        self.attention = build_attention(attention, query_size, memory_size)
        if self.input_feed and query_size != hidden_size:
            raise InputError(
                f"input feeding feeds the attentional vector ({query_size}) back as input sized for "
                f"hidden_size ({hidden_size}); drop proj_size or set input_feed=false"
            )
        self.combine = nn.Linear(query_size + memory_size, query_size, bias=False) if self.attention else None
        self.output = nn.Linear(query_size, vocab_size)

    @property
    def output_size(self) -> int:
        """Width of the attentional vector the output layer reads."""
        return self.core.output_size

    def start(
        self, rnn: EncoderState, memory: Tensor | None = None, mask: Tensor | None = None
    ) -> DecoderState:
        """The state before the first token: the core's state and the memory (B, S, M) with its
        mask (B, S); the attention's keys are computed here once."""
        batch = rnn.batch_size
        feed = rnn.top.new_zeros(batch, self.output_size) if self.input_feed else None
        if self.attention is None:
            return DecoderState(rnn, feed)
        if memory is None or mask is None:
            raise InputError("an attentional decoder needs the encoder outputs (memory) and their mask")
        return DecoderState(rnn, feed, memory, self.attention.keys(memory), mask)

    def step(self, tokens: Tensor, state: DecoderState) -> tuple[Tensor, DecoderState]:
        """tokens (B,) and the state before them -> (logits (B, V), state after them)."""
        logits, state, _ = self._step(tokens, state)
        return logits, state

    def _step(self, tokens: Tensor, state: DecoderState) -> tuple[Tensor, DecoderState, Tensor | None]:
        x = self.embedding(tokens)  # (B, E)
        if self.input_feed:
            x = torch.cat([x, state.feed], dim=-1)  # (B, E + H)
        h, rnn = self.core.step(self.dropout(x), state.rnn)  # (B, H)
        attended, weights = self._attend(h, state)
        state = replace(state, rnn=rnn, feed=attended if self.input_feed else None, steps=state.steps + 1)
        return self.output(self.dropout(attended)), state, weights

    def _attend(self, h: Tensor, state: DecoderState) -> tuple[Tensor, Tensor | None]:
        """h (B, H) -> (attentional vector (B, H), weights (B, S) or None)."""
        if self.attention is None:
            return h, None
        context, weights = self.attention(h, state.keys, state.memory, state.mask)  # (B, M), (B, S)
        return torch.tanh(self.combine(torch.cat([h, context], dim=-1))), weights

    def forward(
        self, inputs: Tensor, lengths: Tensor, state: DecoderState, sampling_ratio: float = 0.0
    ) -> tuple[Tensor, Tensor | None]:
        """Teacher forcing: inputs (B, T) previous tokens (`<bos>` then the reference), lengths (B,)
        -> (logits (B, T, V), attention weights (B, T, S) or None).

        sampling_ratio: the chance that a step (after the first) is fed the model's own most
        likely previous token instead of the reference (scheduled sampling; torch's global RNG).
        Without input feeding or sampling the core runs over all steps in one call.
        """
        if self.input_feed or sampling_ratio > 0:
            return self._forward_stepwise(inputs, state, sampling_ratio)
        outputs = self.core(self.dropout(self.embedding(inputs)), lengths, state.rnn).outputs  # (B, T, H)
        if self.attention is None:
            return self.output(self.dropout(outputs)), None
        steps = [self._attend(outputs[:, t], state) for t in range(inputs.shape[1])]
        attended = torch.stack([a for a, _ in steps], dim=1)  # (B, T, H)
        weights = torch.stack([w for _, w in steps], dim=1)  # (B, T, S)
        return self.output(self.dropout(attended)), weights

    def _forward_stepwise(
        self, inputs: Tensor, state: DecoderState, sampling_ratio: float
    ) -> tuple[Tensor, Tensor | None]:
        logits, weights = [], []
        for t in range(inputs.shape[1]):
            tokens = inputs[:, t]  # (B,)
            if t > 0 and sampling_ratio > 0:
                own = torch.rand(tokens.shape, device=tokens.device) < sampling_ratio
                tokens = torch.where(own, logits[-1].argmax(-1), tokens)
            step_logits, state, step_weights = self._step(tokens, state)
            logits.append(step_logits)
            weights.append(step_weights)
        stacked = torch.stack(weights, dim=1) if self.attention else None  # (B, T, S)
        return torch.stack(logits, dim=1), stacked  # (B, T, V)


class StateBridge(nn.Module):
    """The decoder core's initial state from the encoder's summary `EncoderOutput.last` (B, I):
    one tanh(linear) per decoder layer and state tensor, so any encoder (bidirectional, another
    cell or size) can start any decoder.

    Args:
        summary_size: width of the summary.
        state_sizes: the core's `state_sizes` (per layer, the width of h, or of h and c).
    """

    def __init__(self, summary_size: int, state_sizes: list[tuple[int, ...]]) -> None:
        super().__init__()
        self.maps = nn.ModuleList(
            nn.ModuleList(nn.Linear(summary_size, size) for size in sizes) for sizes in state_sizes
        )

    def forward(self, summary: Tensor) -> EncoderState:
        """summary (B, I) -> `EncoderState` of the decoder core, each tensor (1, B, size)."""
        return EncoderState(
            tuple(tuple(torch.tanh(m(summary)).unsqueeze(0) for m in layer) for layer in self.maps)
        )
