"""Recurrent layers and the registry that maps a cell name to one.

A layer runs one or more stacked recurrent layers over a padded batch. Every layer implements

    forward(x (B, T, I), lengths (B,) CPU int64 >= 1, state) -> (outputs (B, T, D*H), state)
    step(x_t (B, I), state) -> (y_t (B, H), state)              # unidirectional only

where `state` is a tuple of tensors, each (num_layers * D, B, S) with S from `state_sizes`, the
outputs are exactly zero at padded steps and the returned state is each row's state after its last
valid step. `RecurrentEncoder` passes a full state (zeros or learned) and never a row of length 0.

Built-in cells (`rnn`, `rnn_relu`, `lstm`, `gru`) are `TorchRecurrentLayer`s on the fused
cuDNN/oneDNN kernels of `torch.nn.RNN/LSTM/GRU`. Your own cell: subclass `CellLayer`, write one
time step in `cell`, and register it (or name its import path, `my_module.MyCell`, as the cell):

    register_cell("peephole_lstm", PeepholeLSTM)
    RecurrentEncoder(12, 64, cell="peephole_lstm", bidirectional=True)
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

import torch
from torch import Tensor, nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from seqnet.nn.masking import lengths_to_mask, reverse_padded

LayerStateTuple = tuple[Tensor, ...]


@dataclass(frozen=True)
class CellSpec:
    """A registered cell.

    factory: builds a layer, called as factory(input_size, hidden_size, **options).
    native_bidirectional: the factory accepts `bidirectional=True` itself; otherwise a
        bidirectional layer is two instances wrapped in `Bidirectional`.
    stackable: the factory accepts `num_layers` and `dropout` and runs a whole uniform stack in
        one call (the fused path).
    accepts_proj_size: the factory accepts `proj_size` (LSTM projections).
    """

    factory: Callable[..., nn.Module]
    native_bidirectional: bool = False
    stackable: bool = False
    accepts_proj_size: bool = False


CELLS: dict[str, CellSpec] = {}


def register_cell(
    name: str,
    factory: Callable[..., nn.Module],
    *,
    native_bidirectional: bool = False,
    stackable: bool = False,
    accepts_proj_size: bool = False,
) -> None:
    """Make `name` usable as `RecurrentEncoder(cell=name)` (and `model.encoder.cell=name`).

    `factory(input_size, hidden_size)` must build a layer with the protocol of this module; a
    `CellLayer` subclass is the easy way. Registering a taken name replaces it.
    """
    CELLS[name] = CellSpec(factory, native_bidirectional, stackable, accepts_proj_size)


def cell_spec(name: str) -> CellSpec:
    """The registered cell `name`; an import path `package.module.Class` registers that class."""
    if name in CELLS:
        return CELLS[name]
    module_name, _, attribute = name.rpartition(".")
    if not module_name:
        raise ValueError(
            f"unknown cell {name!r}; choose from {sorted(CELLS)}, register your own with "
            "seqnet.nn.register_cell, or give its import path (my_module.MyCell)"
        )
    try:
        factory = getattr(importlib.import_module(module_name), attribute)
    except (ImportError, AttributeError) as error:
        raise ValueError(
            f"cell {name!r} is neither registered ({sorted(CELLS)}) nor importable ({error}); "
            "check the import path, and that its module is on PYTHONPATH"
        ) from None
    register_cell(name, factory)
    return CELLS[name]


def build_layer(
    cell: str,
    input_size: int,
    hidden_size: int,
    *,
    bidirectional: bool = False,
    num_layers: int = 1,
    dropout: float = 0.0,
    proj_size: int = 0,
) -> nn.Module:
    """The layer for `cell` (see `CellSpec` for which options each cell takes)."""
    spec = cell_spec(cell)
    options: dict = {}
    if spec.stackable:
        options.update(num_layers=num_layers, dropout=dropout)
    elif num_layers != 1:
        raise ValueError(f"cell {cell!r} builds one layer at a time; got num_layers={num_layers}")
    if proj_size:
        if not spec.accepts_proj_size:
            raise ValueError(f"proj_size works only with cell='lstm', got cell={cell!r}")
        options["proj_size"] = proj_size
    if spec.native_bidirectional:
        return spec.factory(input_size, hidden_size, bidirectional=bidirectional, **options)
    if bidirectional:
        return Bidirectional(
            spec.factory(input_size, hidden_size, **options), spec.factory(input_size, hidden_size, **options)
        )
    return spec.factory(input_size, hidden_size, **options)


# --- built-in cells: torch.nn's fused kernels ------------------------------------------------------
TORCH_CELLS: dict[str, tuple[type[nn.RNNBase], dict[str, str]]] = {
    "rnn": (nn.RNN, {"nonlinearity": "tanh"}),
    "rnn_relu": (nn.RNN, {"nonlinearity": "relu"}),
    "lstm": (nn.LSTM, {}),
    "gru": (nn.GRU, {}),
}


class TorchRecurrentLayer(nn.Module):
    """A (possibly multi-layer, bidirectional) `torch.nn.RNN/LSTM/GRU` with the layer protocol.

    Equal lengths run on the padded tensor; variable lengths are packed, so padded steps never
    enter the recurrence and the final state is each row's own.
    """

    def __init__(
        self,
        kind: str,
        input_size: int,
        hidden_size: int,
        *,
        bidirectional: bool = False,
        num_layers: int = 1,
        dropout: float = 0.0,
        proj_size: int = 0,
    ) -> None:
        super().__init__()
        rnn_class, extra = TORCH_CELLS[kind]
        kwargs: dict = dict(extra)
        if proj_size:
            kwargs["proj_size"] = proj_size
        self.rnn = rnn_class(
            input_size,
            hidden_size,
            num_layers=num_layers,
            batch_first=True,
            bidirectional=bidirectional,
            dropout=dropout,
            **kwargs,
        )
        self.is_lstm = rnn_class is nn.LSTM
        self.num_layers = num_layers
        self.num_directions = 2 if bidirectional else 1
        self.hidden_size = proj_size or hidden_size
        self.state_sizes = (self.hidden_size, hidden_size) if self.is_lstm else (hidden_size,)

    def forward(self, x: Tensor, lengths: Tensor, state: LayerStateTuple) -> tuple[Tensor, LayerStateTuple]:
        """x (B, T, I), lengths (B,) CPU, state tensors (L*D, B, S) -> ((B, T, D*H), state)."""
        hx = state if self.is_lstm else state[0]
        steps = x.shape[1]
        if bool((lengths == steps).all()):
            out, hn = self.rnn(x, hx)  # (B, T, D*H)
        else:
            packed = pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False)
            out, hn = self.rnn(packed, hx)
            out, _ = pad_packed_sequence(out, batch_first=True, total_length=steps)  # (B, T, D*H)
        return out, tuple(hn) if self.is_lstm else (hn,)

    def step(self, x_t: Tensor, state: LayerStateTuple) -> tuple[Tensor, LayerStateTuple]:
        """x_t (B, I) -> y_t (B, H) and the state after this step."""
        out, hn = self.rnn(x_t.unsqueeze(1), state if self.is_lstm else state[0])
        return out[:, 0], tuple(hn) if self.is_lstm else (hn,)


for _kind in TORCH_CELLS:
    register_cell(
        _kind,
        partial(TorchRecurrentLayer, _kind),
        native_bidirectional=True,
        stackable=True,
        accepts_proj_size=_kind == "lstm",
    )


# --- your own cells --------------------------------------------------------------------------------
class CellLayer(nn.Module):
    """Base class of a cell written one time step at a time (one layer, one direction).

    Subclasses set `hidden_size` (output width) and `state_sizes` (width of each state tensor)
    and implement `cell(x_t (B, I), state) -> (h_t (B, H), state)` with state a tuple of (B, S)
    tensors. This class runs it over padded batches (a Python loop over time: flexible, slower
    than the fused kernels), holding each row's state once its sequence has ended.
    """

    num_layers = 1
    num_directions = 1
    hidden_size: int
    state_sizes: tuple[int, ...]

    def cell(self, x_t: Tensor, state: LayerStateTuple) -> tuple[Tensor, LayerStateTuple]:
        raise NotImplementedError

    def forward(self, x: Tensor, lengths: Tensor, state: LayerStateTuple) -> tuple[Tensor, LayerStateTuple]:
        """x (B, T, I), lengths (B,), state tensors (1, B, S) -> ((B, T, H), state)."""
        valid = lengths_to_mask(lengths, x.shape[1], x.device).unsqueeze(-1)  # (B, T, 1)
        current = tuple(s[0] for s in state)  # each (B, S)
        outputs = []
        for t in range(x.shape[1]):
            h_t, updated = self.cell(x[:, t], current)
            keep = valid[:, t]  # (B, 1)
            current = tuple(torch.where(keep, new, old) for new, old in zip(updated, current, strict=True))
            outputs.append(h_t * keep)
        return torch.stack(outputs, dim=1), tuple(s.unsqueeze(0) for s in current)  # (B, T, H)

    def step(self, x_t: Tensor, state: LayerStateTuple) -> tuple[Tensor, LayerStateTuple]:
        h_t, updated = self.cell(x_t, tuple(s[0] for s in state))
        return h_t, tuple(s.unsqueeze(0) for s in updated)


class Bidirectional(nn.Module):
    """Two one-direction layers: the second reads each sequence reversed within its own length."""

    num_directions = 2

    def __init__(self, forward_layer: nn.Module, backward_layer: nn.Module) -> None:
        super().__init__()
        self.forward_layer = forward_layer
        self.backward_layer = backward_layer
        self.num_layers = forward_layer.num_layers
        self.hidden_size = forward_layer.hidden_size
        self.state_sizes = forward_layer.state_sizes

    def forward(self, x: Tensor, lengths: Tensor, state: LayerStateTuple) -> tuple[Tensor, LayerStateTuple]:
        """state tensors (2, B, S): forward direction first."""
        device_lengths = lengths.to(x.device)
        out_f, state_f = self.forward_layer(x, lengths, tuple(s[0:1] for s in state))
        reversed_x = reverse_padded(x, device_lengths)
        out_b, state_b = self.backward_layer(reversed_x, lengths, tuple(s[1:2] for s in state))
        outputs = torch.cat([out_f, reverse_padded(out_b, device_lengths)], dim=-1)  # (B, T, 2H)
        return outputs, tuple(torch.cat(pair, dim=0) for pair in zip(state_f, state_b, strict=True))

    def step(self, x_t: Tensor, state: LayerStateTuple) -> tuple[Tensor, LayerStateTuple]:
        raise ValueError("a bidirectional layer cannot run one step: its backward direction needs the end")
