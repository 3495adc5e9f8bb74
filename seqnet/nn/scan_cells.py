"""Parallel-scan cells: minGRU and minLSTM (Feng et al., 2024, "Were RNNs All We Needed?").

Their gates read x_t alone, so each layer is a linear recurrence h_t = a_t * h_{t-1} + b_t with
a_t in (0, 1) and b_t > 0, computed for every step at once by a log-space scan (Heinsen, 2023):
cumulative sums and `logcumsumexp` over time, no Python loop over steps.

    minGRU:  z = sigmoid(W_z x),  h~ = g(W_h x);  a = 1 - z,  b = z * h~
    minLSTM: f = sigmoid(W_f x),  i = sigmoid(W_i x),  h~ = g(W_h x);
             a = f / (f + i),  b = i / (f + i) * h~

with g(v) = v + 1/2 for v >= 0 and sigmoid(v) below (positive, so b is too). The scan adds the
start state linearly, h_t = A_t * h_0 + sum_k (A_t / A_k) b_k with A_t = a_1 ... a_t, so any
start state (zeros, learned, carried, negative) is exact, not only positive ones. A padded step
has a = 1 and b = 0: it leaves the state as it was, so the final state is each row's own.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from seqnet.nn.cells import LayerStateTuple, register_cell
from seqnet.nn.masking import lengths_to_mask


def log_g(v: Tensor) -> Tensor:
    """log g(v): log(v + 1/2) for v >= 0, log sigmoid(v) below."""
    return torch.where(v >= 0, torch.log(F.relu(v) + 0.5), -F.softplus(-v))


def linear_scan(log_a: Tensor, log_b: Tensor, start: Tensor) -> Tensor:
    """h_t = a_t * h_{t-1} + b_t for every t: log_a, log_b (B, T, H), start h_0 (B, H) -> (B, T, H)."""
    cumulative = torch.cumsum(log_a, dim=1)  # (B, T, H) log A_t
    carried = torch.exp(cumulative) * start.unsqueeze(1)  # A_t * h_0
    return carried + torch.exp(cumulative + torch.logcumsumexp(log_b - cumulative, dim=1))


class ScanLayer(nn.Module):
    """One layer (one direction) of a cell whose recurrence is linear in h: subclasses give
    `coefficients(x) -> (log a, log b)`, each (B, T, H); this class scans them over padded
    batches and steps them one at a time (generation, streaming)."""

    num_layers = 1
    num_directions = 1

    def __init__(self, input_size: int, hidden_size: int, gates: int) -> None:
        super().__init__()
        self.hidden_size = hidden_size
        self.state_sizes = (hidden_size,)
        self.linear = nn.Linear(input_size, gates * hidden_size)

    def coefficients(self, x: Tensor) -> tuple[Tensor, Tensor]:
        raise NotImplementedError

    def forward(self, x: Tensor, lengths: Tensor, state: LayerStateTuple) -> tuple[Tensor, LayerStateTuple]:
        """x (B, T, I), lengths (B,), state ((1, B, H),) -> ((B, T, H), state after each row's end)."""
        log_a, log_b = self.coefficients(x)  # (B, T, H) each
        valid = lengths_to_mask(lengths, x.shape[1], x.device).unsqueeze(-1)  # (B, T, 1)
        log_a = log_a.masked_fill(~valid, 0.0)  # padding: a = 1 ...
        log_b = log_b.masked_fill(~valid, float("-inf"))  # ... and b = 0, the state stays
        h = linear_scan(log_a, log_b, state[0][0])  # (B, T, H)
        return h * valid, (h[:, -1].unsqueeze(0),)

    def graph_forward(self, x: Tensor, lengths: Tensor, state: LayerStateTuple) -> Tensor:
        """`forward`'s outputs (plain tensor operations already: exported as they are)."""
        return self(x, lengths, state)[0]

    def step(self, x_t: Tensor, state: LayerStateTuple) -> tuple[Tensor, LayerStateTuple]:
        """x_t (B, I), state ((1, B, H),) -> (h_t (B, H), state)."""
        log_a, log_b = self.coefficients(x_t.unsqueeze(1))  # (B, 1, H)
        h = torch.exp(log_a[:, 0]) * state[0][0] + torch.exp(log_b[:, 0])  # (B, H)
        return h, (h.unsqueeze(0),)


class MinGRU(ScanLayer):
    """minGRU: a = 1 - z, b = z * g(W_h x), z = sigmoid(W_z x)."""

    gate_names = ("update", "candidate")  # the blocks of `linear`, in order (gradient diagnostics)

    def __init__(self, input_size: int, hidden_size: int) -> None:
        super().__init__(input_size, hidden_size, gates=2)

    def coefficients(self, x: Tensor) -> tuple[Tensor, Tensor]:
        gate, candidate = self.linear(x).chunk(2, dim=-1)  # (B, T, H) each
        return -F.softplus(gate), -F.softplus(-gate) + log_g(candidate)  # log(1 - z), log(z h~)


class MinLSTM(ScanLayer):
    """minLSTM: a = f / (f + i), b = i / (f + i) * g(W_h x), f and i sigmoids of W_f x, W_i x."""

    gate_names = ("forget", "input", "candidate")

    def __init__(self, input_size: int, hidden_size: int) -> None:
        super().__init__(input_size, hidden_size, gates=3)

    def coefficients(self, x: Tensor) -> tuple[Tensor, Tensor]:
        forget, keep, candidate = self.linear(x).chunk(3, dim=-1)  # (B, T, H) each
        difference = F.softplus(-forget) - F.softplus(-keep)  # log i - log f
        return -F.softplus(difference), -F.softplus(-difference) + log_g(candidate)


register_cell("mingru", MinGRU)
register_cell("minlstm", MinLSTM)
