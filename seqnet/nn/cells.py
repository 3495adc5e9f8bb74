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

import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial

import torch
from torch import _VF, Tensor, nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from seqnet.errors import InputError
from seqnet.nn.importing import import_object
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
    accepts_route: the factory accepts `route` (how variable lengths run: see `TorchRecurrentLayer`).
    """

    factory: Callable[..., nn.Module]
    native_bidirectional: bool = False
    stackable: bool = False
    accepts_proj_size: bool = False
    accepts_route: bool = False


CELLS: dict[str, CellSpec] = {}


def register_cell(
    name: str,
    factory: Callable[..., nn.Module],
    *,
    native_bidirectional: bool = False,
    stackable: bool = False,
    accepts_proj_size: bool = False,
    accepts_route: bool = False,
) -> None:
    """Make `name` usable as `RecurrentEncoder(cell=name)` (and `model.encoder.cell=name`).

    `factory(input_size, hidden_size)` must build a layer with the protocol of this module; a
    `CellLayer` subclass is the easy way. Registering a taken name replaces it.
    """
    CELLS[name] = CellSpec(factory, native_bidirectional, stackable, accepts_proj_size, accepts_route)


def cell_spec(name: str) -> CellSpec:
    """The registered cell `name`; an import path `package.module.Class` registers that class."""
    if name in CELLS:
        return CELLS[name]
    if "." not in name:
        raise InputError(
            f"unknown cell {name!r}; choose from {sorted(CELLS)}, register your own with "
            "seqnet.nn.register_cell, or give its import path (my_module.MyCell)"
        )
    try:
        factory = import_object(name)
    except ImportError as error:
        raise InputError(
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
    route: str = "auto",
) -> nn.Module:
    """The layer for `cell` (see `CellSpec` for which options each cell takes)."""
    spec = cell_spec(cell)
    options: dict = {"route": route} if spec.accepts_route else {}
    if spec.stackable:
        options.update(num_layers=num_layers, dropout=dropout)
    elif num_layers != 1:
        raise InputError(f"cell {cell!r} builds one layer at a time; got num_layers={num_layers}")
    if proj_size:
        if not spec.accepts_proj_size:
            raise InputError(f"proj_size works only with cell='lstm', got cell={cell!r}")
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


ROUTES = ("auto", "padded", "packed")
# Auto route on the CPU: padded while at most this share of the batch is padding. Packing pays
# ~2-3x per real step on CPU kernels (a packed LSTM also leaves oneDNN's fused kernel for ATen's
# loop), so it wins only on skewed lengths. The routes tie (forward+backward, B64 T100 H128,
# `python scripts/bench.py crossover`) at LSTM ~0.87, GRU ~0.49, Elman RNN ~0.50 in
# benchmarks/bench_crossover.json (2026-12-05), and at 0.78, 0.58, 0.62 in the run before it (in
# its git history, 2026-11-23). The limits sit between: for GRU and RNN the route taken is within
# ~6 % of the other in both runs; for LSTM the runs disagree most, and 0.8 costs up to ~5 % at
# 0.78-0.8 in the earlier run and up to ~20 % at 0.8-0.87 in the later (0.75 cost ~30 % there).
PADDED_MAX_WASTE = {"lstm": 0.8, "gru": 0.55, "rnn": 0.6, "rnn_relu": 0.6}
_FUNCTIONS = {"gru": _VF.gru, "rnn": _VF.rnn_tanh, "rnn_relu": _VF.rnn_relu, "lstm": _VF.lstm}


@contextmanager
def _quiet_weight_copy(device: torch.device) -> Iterator[None]:
    """On CUDA, silence cuDNN's warning that an RNN's weights are copied into one buffer per call.

    The padded route calls cuDNN once per layer and direction with that layer's slice of the
    module's flat weights. Every slice but the first starts inside the buffer, so cuDNN copies it
    (one layer's weights: small next to the activations) and advises `flatten_parameters()`, which
    cannot help there. The CPU kernels take the slices as they are."""
    if device.type != "cuda":
        yield
        return
    with warnings.catch_warnings():
        warnings.filterwarnings(
            "ignore", "RNN module weights are not part of single contiguous chunk", UserWarning
        )
        yield


class TorchRecurrentLayer(nn.Module):
    """A (possibly multi-layer, bidirectional) `torch.nn.RNN/LSTM/GRU` with the layer protocol.

    Equal lengths run as one fused call over the padded tensor. Variable lengths take one of two
    exact routes (`route`: "auto" picks by device and padding share, or force one):

    - "padded": every layer and direction runs over the padded tensor with the same kernel (the
      backward direction over each sequence reversed within its own length), so padding only
      follows valid steps and never enters them; padded outputs are zeroed. The final h is read at
      each row's last valid step; an LSTM's final c is not observable that way, so when the caller
      needs it (`need_state`) the layer takes the packed route instead.
    - "packed": `pack_padded_sequence`, so padded steps are never computed (cuDNN's native path).
    """

    lazy_state = True  # forward accepts need_state=False and may then return None for the state

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
        route: str = "auto",
    ) -> None:
        super().__init__()
        if route not in ROUTES:
            raise InputError(f"route must be one of {ROUTES}, got {route!r}")
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
        self.kind = kind
        self.route = route
        self.is_lstm = rnn_class is nn.LSTM
        self.num_layers = num_layers
        self.num_directions = 2 if bidirectional else 1
        self.hidden_size = proj_size or hidden_size
        self.state_sizes = (self.hidden_size, hidden_size) if self.is_lstm else (hidden_size,)

    def forward(
        self, x: Tensor, lengths: Tensor, state: LayerStateTuple, need_state: bool = True
    ) -> tuple[Tensor, LayerStateTuple | None]:
        """x (B, T, I), lengths (B,) CPU, state tensors (L*D, B, S) -> ((B, T, D*H), state).

        need_state=False allows the padded route to skip an LSTM's final state (returns None).
        """
        steps = x.shape[1]
        if bool((lengths == steps).all()):
            out, hn = self.rnn(x, self._torch_state(state))  # (B, T, D*H)
            return out, self._layer_state(hn)
        if self.chooses_padded(x, lengths) and not (self.is_lstm and need_state):
            return self._padded(x, lengths, state)
        packed = pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False)
        out, hn = self.rnn(packed, self._torch_state(state))
        out, _ = pad_packed_sequence(out, batch_first=True, total_length=steps)  # (B, T, D*H)
        return out, self._layer_state(hn)

    def _torch_state(self, state: LayerStateTuple) -> Tensor | LayerStateTuple:
        """The protocol's state tuple -> what torch.nn takes: h, or (h, c) for an LSTM."""
        return state if self.is_lstm else state[0]

    def _layer_state(self, hn: Tensor | tuple[Tensor, Tensor]) -> LayerStateTuple:
        """What torch.nn returns -> the protocol's state tuple."""
        return tuple(hn) if self.is_lstm else (hn,)

    def chooses_padded(self, x: Tensor, lengths: Tensor) -> bool:
        """Whether variable lengths run padded: forced, or auto on the CPU below the waste limit
        (on CUDA auto keeps cuDNN's packed kernels, which skip padding natively)."""
        if self.route != "auto":
            return self.route == "padded"
        waste = 1.0 - float(lengths.sum()) / (lengths.numel() * x.shape[1])
        return x.device.type == "cpu" and waste <= PADDED_MAX_WASTE[self.kind]

    def _padded(
        self, x: Tensor, lengths: Tensor, state: LayerStateTuple
    ) -> tuple[Tensor, LayerStateTuple | None]:
        """Layer by layer and direction by direction over the padded tensor (see class doc)."""
        device_lengths = lengths.to(x.device)
        last = (device_lengths - 1).view(-1, 1, 1)  # (B, 1, 1)
        inputs, final_h = x, []
        for layer in range(self.num_layers):
            outputs = []
            for direction in range(self.num_directions):
                index = layer * self.num_directions + direction
                sequence = inputs if direction == 0 else reverse_padded(inputs, device_lengths)
                out = self._one_layer(index, sequence, tuple(s[index : index + 1] for s in state))
                if not self.is_lstm:  # an LSTM's state is completed lazily, h with c
                    final_h.append(out.gather(1, last.expand(-1, 1, out.shape[2])).squeeze(1))  # (B, H)
                outputs.append(out if direction == 0 else reverse_padded(out, device_lengths))
            inputs = torch.cat(outputs, dim=-1) if len(outputs) > 1 else outputs[0]  # (B, T, D*H)
            if layer < self.num_layers - 1 and self.rnn.dropout:
                inputs = nn.functional.dropout(inputs, self.rnn.dropout, self.training)
        mask = lengths_to_mask(device_lengths, x.shape[1], x.device).unsqueeze(-1)  # (B, T, 1)
        outputs = inputs * mask.to(inputs.dtype)
        if self.is_lstm:
            return outputs, None  # c at the last valid step is not observable here
        return outputs, (torch.stack(final_h),)  # (L*D, B, H)

    def _one_layer(self, index: int, sequence: Tensor, start: LayerStateTuple) -> Tensor:
        """Layer and direction `index` (layer * D + direction) alone, with its own weights, over a
        padded sequence (B, T, I) from its start state (each (1, B, S)) -> outputs (B, T, H)."""
        weights = self.rnn._flat_weights
        per_call = len(weights) // (self.num_layers * self.num_directions)
        with _quiet_weight_copy(sequence.device):
            return _FUNCTIONS[self.kind](
                sequence,
                self._torch_state(start),
                weights[index * per_call : (index + 1) * per_call],
                self.rnn.bias,
                1,
                0.0,
                self.training,
                False,
                True,
            )[0]  # (B, T, H)

    def step(self, x_t: Tensor, state: LayerStateTuple) -> tuple[Tensor, LayerStateTuple]:
        """x_t (B, I) -> y_t (B, H) and the state after this step."""
        out, hn = self.rnn(x_t.unsqueeze(1), self._torch_state(state))
        return out[:, 0], self._layer_state(hn)


for _kind in TORCH_CELLS:
    register_cell(
        _kind,
        partial(TorchRecurrentLayer, _kind),
        native_bidirectional=True,
        stackable=True,
        accepts_proj_size=_kind == "lstm",
        accepts_route=True,
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
        raise InputError("a bidirectional layer cannot run one step: its backward direction needs the end")
