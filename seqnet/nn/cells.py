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

import itertools
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial

import torch
from torch import _VF, Tensor, nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from seqnet.errors import InputError
from seqnet.nn import fused
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


ROUTES = ("auto", "padded", "packed", "fused")
# Auto route on the CPU: padded while at most this share of the batch is padding. A packed step
# costs more than a padded one on CPU kernels (a packed LSTM also leaves oneDNN's fused kernel for
# ATen's loop), and the padded route skips most padding itself by cutting time into segments
# (below), so packing wins only on extremely skewed lengths. `python scripts/bench.py crossover`
# (forward+backward, B64 T100 H128, benchmarks/bench_crossover.json, 2026-12-05): padded beats
# packed at every share up to 0.95 with one long row and the rest short (LSTM 2.6-4.6x, GRU
# 1.25-2.05x, Elman RNN 1.46-1.52x); with power-law lengths the GRU is still 1.03x at 0.915 (the
# highest share drawn), the Elman RNN 1.34x at 0.87 but 0.86x at 0.96, the LSTM 2.0x at 0.93.
PADDED_MAX_WASTE = {"lstm": 1.0, "gru": 0.9, "rnn": 0.9, "rnn_relu": 0.9}
# The padded route cuts time into up to 1 + this many segments at the rows' length quartiles (and
# the shortest length), and runs each segment on the rows still active there, so steps after most rows
# have ended are not computed for them. It pays when the cut saves at least SEGMENT_MIN_SAVING of
# the padded row-steps. `python scripts/bench.py segments` (benchmarks/bench_segments.json,
# 2026-12-05), run whole / segmented: lengths 20-100 (saving 0.3) LSTM 1.53, GRU 1.09, Elman RNN
# 1.08; power-law lengths (saving 0.58-0.76) 2.0-2.7, 1.31-1.55, 1.12-1.34; lengths 85-100 (saving
# 0.06-0.07, where it is not cut) 0.99, 0.99, 0.93.
PADDED_SEGMENTS = 4
SEGMENT_MIN_SAVING = 0.15
# An LSTM on the CPU: oneDNN's LSTM over equal lengths at every size, where seqnet's fused kernel
# took 1.17-1.84x its time in training (forward+backward, medians over B8-128 x H16-128, T50)
# under OpenMP's default wait policy and 0.85-1.29x under PASSIVE (`python scripts/bench.py
# lstm_kernel --reps 21`, quiet machine, 2026-12-08: benchmarks/bench_lstm_kernel.json and
# benchmarks/passive/; a 2026-12-06 run that had the kernel ahead up to 1024 cells does not
# repeat). Over variable lengths the kernel skips the padding that the padded route computes or cuts
# around, and on small layers that wins: where at least `SEGMENT_MIN_SAVING` of the batch is
# padding and the layer has at most this many cells per step (batch x hidden), an LSTM takes the
# kernel. `python scripts/bench.py lstm_lengths --reps 11` (bidirectional, T40; lengths 10-40 /
# 20-40 / 36-40, padding 35-39 % / 23-29 % / 4-6 %; benchmarks/bench_lstm_lengths.json), kernel /
# padded route in training: 0.59 / 0.66 / 1.28 at 1024 cells, 0.73 / 0.76 / 1.36 at 2048,
# 0.88-0.92 / 0.95-0.96 / 1.35-1.39 at 4096, 0.98-1.26 / 1.06-1.15 / 0.97-1.33 above; inference at
# lengths 10-40: 0.70, 0.78, 0.90-0.98, 1.13-1.37. It also gives an LSTM its exact final c over
# variable lengths (`need_state`).
FUSED_LSTM_MAX_CELLS = 4096
_FUNCTIONS = {"gru": _VF.gru, "rnn": _VF.rnn_tanh, "rnn_relu": _VF.rnn_relu, "lstm": _VF.lstm}
_NO_BIDIRECTIONAL_STEP = "a bidirectional layer cannot run one step: its backward direction needs the end"
# One time step (`step`) runs ATen's cell of each layer, what `nn.LSTMCell` and its kin run, not
# torch.nn's sequence kernel with T=1, which pays its per-call floor on every step (oneDNN's LSTM
# most: `python scripts/bench.py step`, benchmarks/bench_step.json).
_CELL_FUNCTIONS = {
    "gru": torch.gru_cell,
    "rnn": torch.rnn_tanh_cell,
    "rnn_relu": torch.rnn_relu_cell,
    "lstm": torch.lstm_cell,
}


def padding_share(lengths: Tensor, steps: int) -> float:
    """The share of a padded batch of `steps` steps that is padding, for lengths (B,)."""
    return 1.0 - float(lengths.sum()) / (lengths.numel() * steps)


def time_segments(lengths: Tensor, steps: int, count: int) -> list[tuple[int, int, int]]:
    """Cut `steps` at the shortest length and at the length quantiles (quartiles for count 4) of
    `lengths` (B,) sorted longest first -> [(begin, end, rows)], rows: how many of the first rows
    are still active at `begin` (those longer than it: none past the longest); one segment for
    count 1."""
    longest_first = lengths.tolist()  # plain ints: this runs on every forward
    batch = len(longest_first)
    cuts = {longest_first[batch * k // count] for k in range(1, count)} | {longest_first[-1]}
    bounds = sorted({0, steps} | {cut for cut in cuts if 0 < cut < steps} if count > 1 else {0, steps})
    return [(begin, end, sum(n > begin for n in longest_first)) for begin, end in itertools.pairwise(bounds)]


def row_steps(segments: list[tuple[int, int, int]]) -> int:
    """How many (row, step) pairs a run over `segments` (from `time_segments`) computes."""
    return sum((end - begin) * rows for begin, end, rows in segments)


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

    On the CPU, GRU and Elman layers run on seqnet's fused kernel ("fused", `seqnet.nn.fused`):
    one call per layer and direction, computing only each row's valid steps, at any lengths, with
    each row's exact final state. It is auto's choice wherever it can run (CPU, float32/float64,
    kernel built, no LSTM projection); an LSTM takes it over variable lengths where the layer is
    small and enough of the batch is padding (`FUSED_LSTM_MAX_CELLS`), or where the caller needs
    its final state (`need_state`), and otherwise runs on oneDNN's LSTM, which is faster.
    Otherwise equal lengths run as one fused torch call over the padded tensor, and variable
    lengths take one of two exact routes (`route`: "auto" picks by device and padding share, or
    force one):

    - "padded": every layer and direction runs over the padded tensor with the same kernel (the
      backward direction over each sequence reversed within its own length), so padding only
      follows valid steps and never enters them; padded outputs are zeroed. Where that skips at
      least `SEGMENT_MIN_SAVING` of the padded steps, rows are sorted by length and time cut into
      a few segments, each run on the rows still active (`PADDED_SEGMENTS`). The final h is read
      at each row's last valid step; an LSTM's final c is not observable that way, so when the
      caller needs it (`need_state`) the layer takes the fused route, or packing without it.
    - "packed": `pack_padded_sequence`, so padded steps are never computed (cuDNN's native path).

    All routes give the same outputs, states and gradients (tests/nn/test_routes.py).
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
        if route == "fused" and proj_size:
            raise InputError(
                "route='fused' does not run an LSTM with proj_size; use route=auto, padded or packed"
            )
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
        full = bool((lengths == steps).all())
        if self.uses_fused(
            x, lstm_needs_kernel=self.is_lstm and not full and self._lstm_gains(x, lengths, need_state)
        ):
            return self._padded(x, lengths, state, on_fused_kernel=True)
        if full:
            out, hn = self.rnn(x, self._torch_state(state))  # (B, T, D*H)
            return out, self._layer_state(hn)
        if self.chooses_padded(x, lengths) and not (self.is_lstm and need_state):
            return self._padded(x, lengths, state)
        packed = pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False)
        out, hn = self.rnn(packed, self._torch_state(state))
        out, _ = pad_packed_sequence(out, batch_first=True, total_length=steps)  # (B, T, D*H)
        return out, self._layer_state(hn)

    def graph_forward(self, x: Tensor, lengths: Tensor, state: LayerStateTuple) -> Tensor:
        """The padded route as plain tensor operations, for export: x (B, T, I), lengths (B,) on
        x's device, state tensors (L*D, B, S) -> outputs (B, T, D*H), zero at padded steps. No
        host reads, no packing and no fused kernel, so `torch.export` and ONNX trace it with a
        dynamic batch and length."""
        run = partial(self._one_layer, segments=[(0, x.shape[1], x.shape[0])])
        return self._padded_stack(x, lengths, state, run, mask=True)[0]

    def _torch_state(self, state: LayerStateTuple) -> Tensor | LayerStateTuple:
        """The protocol's state tuple -> what torch.nn takes: h, or (h, c) for an LSTM."""
        return state if self.is_lstm else state[0]

    def _layer_state(self, hn: Tensor | tuple[Tensor, Tensor]) -> LayerStateTuple:
        """What torch.nn returns -> the protocol's state tuple."""
        return tuple(hn) if self.is_lstm else (hn,)

    def uses_fused(self, x: Tensor, lstm_needs_kernel: bool = False) -> bool:
        """Whether x runs on the fused kernel: forced, or auto wherever the kernel can run, but for
        an LSTM only where `lstm_needs_kernel` (`_lstm_gains`)."""
        if self.route == "auto":
            return (
                (not self.is_lstm or lstm_needs_kernel)
                and fused.enabled()
                and not self.rnn.proj_size
                and fused.supports(self.kind, x)
                and fused.kernels() is not None
            )
        if self.route != "fused":
            return False
        if not fused.supports(self.kind, x):
            raise InputError(
                f"route='fused' runs on CPU float32/float64 tensors, got {x.dtype} on {x.device.type}; "
                "use route=auto, which picks the fastest route for each device"
            )
        if fused.kernels() is None:
            raise InputError(
                "route='fused' needs seqnet's fused CPU kernels, which could not be built (see the warning "
                "above); install a C++ compiler and ninja, or use route=auto"
            )
        return True

    def _lstm_gains(self, x: Tensor, lengths: Tensor, need_state: bool) -> bool:
        """Whether an LSTM over x (B, T, I) with variable lengths (B,) is better off on the kernel:
        it needs its exact final c (which packing gave 2-3x slower), or the layer is small and
        enough of the batch is padding for skipping it to pay (`FUSED_LSTM_MAX_CELLS`)."""
        small = x.shape[0] * self.rnn.hidden_size <= FUSED_LSTM_MAX_CELLS
        return need_state or (small and padding_share(lengths, x.shape[1]) >= SEGMENT_MIN_SAVING)

    def chooses_padded(self, x: Tensor, lengths: Tensor) -> bool:
        """Whether variable lengths run padded: forced, or auto on the CPU below the waste limit
        (on CUDA auto keeps cuDNN's packed kernels, which skip padding natively)."""
        if self.route != "auto":
            return self.route == "padded"
        waste = padding_share(lengths, x.shape[1])
        return x.device.type == "cpu" and waste <= PADDED_MAX_WASTE[self.kind]

    def _padded(
        self, x: Tensor, lengths: Tensor, state: LayerStateTuple, on_fused_kernel: bool = False
    ) -> tuple[Tensor, LayerStateTuple | None]:
        """Over the padded tensor on length-sorted rows: on the fused kernel, or in time segments
        of torch's kernel where those pay."""
        batch, steps = x.shape[:2]
        order = torch.argsort(lengths, descending=True, stable=True)  # (B,) CPU
        sorted_lengths = lengths[order]
        if on_fused_kernel:
            run = partial(self._fused_layer, lengths=sorted_lengths.tolist())
        else:
            segments = time_segments(sorted_lengths, steps, PADDED_SEGMENTS)
            if row_steps(segments) > (1.0 - SEGMENT_MIN_SAVING) * batch * steps:  # not cut: any order
                return self._padded_stack(
                    x, lengths, state, partial(self._one_layer, segments=[(0, steps, batch)])
                )
            run = partial(self._one_layer, segments=segments)
        if bool((order == torch.arange(batch)).all()):  # already longest first (equal lengths too)
            return self._padded_stack(x, lengths, state, run, zeroed=on_fused_kernel)
        device_order = order.to(x.device)
        sorted_x = x.index_select(0, device_order)  # (B, T, I)
        sorted_state = tuple(s.index_select(1, device_order) for s in state)
        outputs, final = self._padded_stack(
            sorted_x, sorted_lengths, sorted_state, run, zeroed=on_fused_kernel
        )
        restore = torch.argsort(device_order)  # (B,)
        if final is not None:  # each (L*D, B, S)
            final = tuple(s.index_select(1, restore) for s in final)
        return outputs.index_select(0, restore), final

    def _padded_stack(
        self,
        x: Tensor,
        lengths: Tensor,
        state: LayerStateTuple,
        run: Callable[..., tuple[Tensor, LayerStateTuple | None]],
        zeroed: bool = False,
        mask: bool | None = None,
    ) -> tuple[Tensor, LayerStateTuple | None]:
        """Layer by layer and direction by direction over the padded tensor (see class doc), each
        through `run(index, sequence, start) -> (outputs, final state or None)` (`_one_layer` or
        `_fused_layer`); `zeroed`: `run` leaves padded steps zero (the fused kernel), so they need
        no mask; `mask`: zero padded steps (None: where `run` did not and some row is short)."""
        device_lengths = lengths.to(x.device)
        last = (device_lengths - 1).view(-1, 1, 1)  # (B, 1, 1)
        inputs, finals = x, []
        for layer in range(self.num_layers):
            outputs = []
            for direction in range(self.num_directions):
                index = layer * self.num_directions + direction
                sequence = inputs if direction == 0 else reverse_padded(inputs, device_lengths)
                out, final = run(index, sequence, tuple(s[index] for s in state))
                if final is None and not self.is_lstm:  # h is the output at the last valid step
                    final = (out.gather(1, last.expand(-1, 1, out.shape[2])).squeeze(1),)  # (B, H)
                finals.append(final)  # an LSTM's c at the last valid step is not observable here
                outputs.append(out if direction == 0 else reverse_padded(out, device_lengths))
            inputs = torch.cat(outputs, dim=-1) if len(outputs) > 1 else outputs[0]  # (B, T, D*H)
            if layer < self.num_layers - 1 and self.rnn.dropout:
                inputs = nn.functional.dropout(inputs, self.rnn.dropout, self.training)
        outputs = inputs
        if mask is None:
            mask = not zeroed and int(lengths.min()) < x.shape[1]
        if mask:
            valid = lengths_to_mask(device_lengths, x.shape[1], x.device).unsqueeze(-1)  # (B, T, 1)
            outputs = inputs * valid.to(inputs.dtype)
        if any(final is None for final in finals):
            return outputs, None
        return outputs, tuple(torch.stack(parts) for parts in zip(*finals, strict=True))  # each (L*D, B, S)

    def _one_layer(
        self, index: int, sequence: Tensor, start: LayerStateTuple, segments: list[tuple[int, int, int]]
    ) -> tuple[Tensor, None]:
        """Layer and direction `index` (layer * D + direction) alone, with its own weights, over a
        padded sequence (B, T, I) from its start state (each (B, S)) -> (outputs (B, T, H), zero
        where a segment leaves rows out; None: the final state is read from the outputs). Each
        segment continues from the state the last one reached, on its first `rows` rows."""
        batch, carried, pieces = sequence.shape[0], tuple(s[None] for s in start), []
        for begin, end, rows in segments:
            if not rows:  # past the longest row
                pieces.append(sequence.new_zeros(batch, end - begin, self.hidden_size))
                continue
            with _quiet_weight_copy(sequence.device):
                out, *carried = _FUNCTIONS[self.kind](
                    sequence[:rows, begin:end],
                    self._torch_state(tuple(s[:, :rows] for s in carried)),
                    self._weights(index),
                    self.rnn.bias,
                    1,
                    0.0,
                    self.training,
                    False,
                    True,
                )  # out (rows, end - begin, H)
            pieces.append(nn.functional.pad(out, (0, 0, 0, 0, 0, batch - rows)) if rows < batch else out)
        return (torch.cat(pieces, dim=1) if len(pieces) > 1 else pieces[0]), None  # (B, T, H)

    def _fused_layer(
        self, index: int, sequence: Tensor, start: LayerStateTuple, lengths: list[int]
    ) -> tuple[Tensor, LayerStateTuple]:
        """Layer and direction `index` on the fused kernel over sequence (B, T, I) of rows sorted
        longest first, from its start state (each (B, S)) -> (outputs (B, T, H), zero past each
        length; the state after each row's last valid step)."""
        return fused.fused_recurrence(self.kind, sequence, start, self._weights(index), lengths)

    def _weights(self, index: int) -> list[Tensor]:
        """torch's weights of layer and direction `index`: [w_ih, w_hh, b_ih, b_hh] (+ w_hr)."""
        weights = self.rnn._flat_weights
        per_call = len(weights) // (self.num_layers * self.num_directions)
        return weights[index * per_call : (index + 1) * per_call]

    def step(self, x_t: Tensor, state: LayerStateTuple) -> tuple[Tensor, LayerStateTuple]:
        """x_t (B, I), state tensors (L, B, S) -> y_t (B, H) and the state after this step: each
        layer through ATen's cell (`_CELL_FUNCTIONS`), with torch.nn's dropout between layers."""
        if self.num_directions > 1:
            raise InputError(_NO_BIDIRECTIONAL_STEP)
        if self.rnn.proj_size:  # ATen's LSTM cell has no projection: torch's own loop runs it
            return self.sequence_step(x_t, state)
        inputs, finals = x_t, []
        for layer in range(self.num_layers):
            if layer and self.rnn.dropout:
                inputs = nn.functional.dropout(inputs, self.rnn.dropout, self.training)
            finals.append(self._cell_step(layer, inputs, tuple(s[layer] for s in state)))
            inputs = finals[-1][0]  # (B, H)
        if len(finals) == 1:  # a view rather than a copy: this runs on every generated token
            return inputs, tuple(s.unsqueeze(0) for s in finals[0])
        return inputs, tuple(torch.stack(parts) for parts in zip(*finals, strict=True))  # each (L, B, S)

    def _cell_step(self, layer: int, x_t: Tensor, start: LayerStateTuple) -> LayerStateTuple:
        """Layer `layer` one step through ATen's cell: x_t (B, I), start state (each (B, S)) -> the
        state after it (each (B, S); h, its first, is the layer's output)."""
        cell = _CELL_FUNCTIONS[self.kind]
        return self._layer_state(cell(x_t, self._torch_state(start), *self._weights(layer)))

    def sequence_step(self, x_t: Tensor, state: LayerStateTuple) -> tuple[Tensor, LayerStateTuple]:
        """`step` through torch.nn's sequence module called with T=1 (the same numbers, slower
        where its kernel pays a floor per call: `python scripts/bench.py step`)."""
        out, hn = self.rnn(x_t.unsqueeze(1), self._torch_state(state))  # out (B, 1, H)
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

    def graph_forward(self, x: Tensor, lengths: Tensor, state: LayerStateTuple) -> Tensor:
        raise InputError(
            f"{type(self).__name__} loops over time in Python, which an exported graph cannot hold for "
            "inputs of any length; export its streaming graph (streaming=true: one step, the state "
            "outside) or train a built-in or scan cell"
        )

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

    def graph_forward(self, x: Tensor, lengths: Tensor, state: LayerStateTuple) -> Tensor:
        """`forward`'s outputs as plain tensor operations (export); lengths (B,) on x's device."""
        out_f = self.forward_layer.graph_forward(x, lengths, tuple(s[0:1] for s in state))
        reversed_x = reverse_padded(x, lengths)
        out_b = self.backward_layer.graph_forward(reversed_x, lengths, tuple(s[1:2] for s in state))
        return torch.cat([out_f, reverse_padded(out_b, lengths)], dim=-1)  # (B, T, 2H)

    def step(self, x_t: Tensor, state: LayerStateTuple) -> tuple[Tensor, LayerStateTuple]:
        raise InputError(_NO_BIDIRECTIONAL_STEP)
