"""`RecurrentEncoder`: stacked, optionally bidirectional and mixed recurrent layers over padded batches.

Built-in cells run on the cuDNN/oneDNN kernels of `torch.nn.RNN/LSTM/GRU` through packed sequences, so
padded steps never enter a recurrence. A uniform stack without residual connections or layer norm runs
as a single `torch.nn` call; everything else runs layer by layer on the packed data, which gives the
same numbers where both apply.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import Tensor, nn
from torch.nn.utils.rnn import PackedSequence, pack_padded_sequence, pad_packed_sequence

from seqnet.nn.masking import lengths_to_mask, validate_lengths

# name -> (torch.nn class, extra constructor kwargs)
CELLS: dict[str, tuple[type[nn.RNNBase], dict[str, str]]] = {
    "rnn": (nn.RNN, {"nonlinearity": "tanh"}),
    "rnn_relu": (nn.RNN, {"nonlinearity": "relu"}),
    "lstm": (nn.LSTM, {}),
    "gru": (nn.GRU, {}),
}
MERGE_MODES = ("concat", "sum", "mean", "mul")
INIT_SCHEMES = ("default", "classic")

# One layer's final state: h (num_directions, B, H_out), or (h, c) for an LSTM layer with
# c (num_directions, B, hidden_size).
LayerState = Tensor | tuple[Tensor, Tensor]


@dataclass
class EncoderOutput:
    """What every encoder returns.

    outputs: (B, T, output_size), merged directions, exactly zero at padded steps.
    last: (B, output_size), the forward direction at each sequence's last valid step merged with the
        backward direction at step 0 (the summary a many-to-one head reads).
    final_state: one entry per layer (bottom first), see `LayerState`.
    mask: (B, T) bool, True at valid steps.
    """

    outputs: Tensor
    last: Tensor
    final_state: list[LayerState]
    mask: Tensor


class RecurrentEncoder(nn.Module):
    """A stack of recurrent layers over variable-length batches.

    Args:
        input_size: features per time step of the input.
        hidden_size: hidden units per direction in every layer.
        cell: a cell name (one of `CELLS`) for a uniform stack, or a list with one name per layer for
            a mixed stack, e.g. ``["lstm", "gru"]`` (LSTM at the bottom).
        num_layers: layers in the stack; with a list of cells it may be left as None.
        bidirectional: run every layer in both directions. Between layers both directions are
            concatenated, as `torch.nn` does; `merge` combines them in the final output.
        merge: how the top layer's two directions are combined: concat, sum, mean or mul.
        dropout: dropout on the outputs of every layer except the last.
        residual: add each layer's input to its output (layers above the first).
        layer_norm: layer norm on the output of every layer except the last.
        proj_size: LSTM projection size (0 = none); only for all-LSTM stacks.
        learn_initial_state: learn the initial hidden (and cell) state instead of zeros.
        init: "default" keeps torch's initialisation; "classic" uses orthogonal recurrent weights,
            Xavier input weights, zero biases and LSTM forget-gate bias 1.
        fuse_layers: run a uniform stack without residual/norm as one `torch.nn` call (cuDNN/oneDNN).
            False forces the layer-by-layer path (same results, slower).
    """

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        cell: str | Sequence[str] = "lstm",
        num_layers: int | None = None,
        bidirectional: bool = False,
        merge: str = "concat",
        dropout: float = 0.0,
        residual: bool = False,
        layer_norm: bool = False,
        proj_size: int = 0,
        learn_initial_state: bool = False,
        init: str = "default",
        fuse_layers: bool = True,
    ) -> None:
        super().__init__()
        cells = _resolve_cells(cell, num_layers)
        _check_arguments(input_size, hidden_size, cells, merge, dropout, proj_size, init)
        if bidirectional is False and merge != "concat":
            warnings.warn(
                f"merge={merge!r} combines the two directions of a bidirectional encoder; "
                "with bidirectional=False it does nothing",
                stacklevel=2,
            )
        if dropout > 0 and len(cells) == 1:
            warnings.warn("dropout acts between layers; with num_layers=1 it does nothing", stacklevel=2)

        self.input_size = input_size
        self.hidden_size = hidden_size
        self.cells = cells
        self.num_layers = len(cells)
        self.bidirectional = bidirectional
        self.num_directions = 2 if bidirectional else 1
        self.merge = merge
        self.residual = residual
        self.proj_size = proj_size
        self.state_size = proj_size or hidden_size  # size of h per direction
        self.fused = fuse_layers and len(set(cells)) == 1 and not residual and not layer_norm

        layer_width = self.state_size * self.num_directions
        if self.fused:
            self.rnns = nn.ModuleList(
                [self._make_rnn(cells[0], input_size, self.num_layers, dropout if len(cells) > 1 else 0.0)]
            )
        else:
            sizes = [input_size] + [layer_width] * (self.num_layers - 1)
            self.rnns = nn.ModuleList(
                [self._make_rnn(c, s, 1, 0.0) for c, s in zip(cells, sizes, strict=True)]
            )
        self.dropout = nn.Dropout(dropout)
        self.norms = nn.ModuleList(
            [nn.LayerNorm(layer_width) for _ in range(self.num_layers - 1)] if layer_norm else []
        )
        self.initial_h = self.initial_c = None
        if learn_initial_state:
            shape = (self.num_layers, self.num_directions, self.state_size)
            self.initial_h = nn.Parameter(torch.zeros(shape))
            if "lstm" in cells:
                self.initial_c = nn.Parameter(torch.zeros(self.num_layers, self.num_directions, hidden_size))
        if init == "classic":
            for rnn in self.rnns:
                classic_init_(rnn)

    @property
    def output_size(self) -> int:
        """Width of `EncoderOutput.outputs` and `EncoderOutput.last`."""
        if self.bidirectional and self.merge == "concat":
            return 2 * self.state_size
        return self.state_size

    def _make_rnn(self, cell: str, input_size: int, num_layers: int, dropout: float) -> nn.RNNBase:
        rnn_class, extra = CELLS[cell]
        kwargs: dict = dict(extra)
        if self.proj_size:
            kwargs["proj_size"] = self.proj_size
        return rnn_class(
            input_size,
            self.hidden_size,
            num_layers=num_layers,
            batch_first=True,
            bidirectional=self.bidirectional,
            dropout=dropout,
            **kwargs,
        )

    def forward(self, x: Tensor, lengths: Tensor | None = None) -> EncoderOutput:
        """x: (B, T, I) padded; lengths: (B,) valid steps per sequence (None = all T)."""
        batch, steps, _ = x.shape
        lengths = validate_lengths(lengths, batch, steps)
        packed = pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False)
        if self.fused:
            packed, final_state = self._forward_fused(packed, batch)
        else:
            packed, final_state = self._forward_layerwise(packed, batch)
        out, _ = pad_packed_sequence(packed, batch_first=True, total_length=steps)  # (B, T, D*H)
        device_lengths = lengths.to(x.device)  # one host-to-device copy for mask and last steps
        return EncoderOutput(
            outputs=self._merge(out),
            last=self._merge(self._last_steps(out, device_lengths)),
            final_state=final_state,
            mask=lengths_to_mask(device_lengths, steps, device=x.device),  # (B, T)
        )

    def _forward_fused(self, packed: PackedSequence, batch: int) -> tuple[PackedSequence, list[LayerState]]:
        rnn = self.rnns[0]
        out, state = rnn(packed, self._initial_state(slice(None), self.cells[0], batch))
        layers, dirs = self.num_layers, self.num_directions
        if isinstance(state, tuple):  # LSTM: (h, c), each (L*D, B, *)
            h, c = (s.view(layers, dirs, batch, -1) for s in state)
            return out, [(h[k], c[k]) for k in range(layers)]
        h = state.view(layers, dirs, batch, -1)
        return out, [h[k] for k in range(layers)]

    def _forward_layerwise(
        self, packed: PackedSequence, batch: int
    ) -> tuple[PackedSequence, list[LayerState]]:
        # Residual, norm and dropout act per step, so they run on packed.data (N, D): padded steps
        # never exist here and need no masking.
        final_state: list[LayerState] = []
        for k, (rnn, cell) in enumerate(zip(self.rnns, self.cells, strict=True)):
            out, state = rnn(packed, self._initial_state(slice(k, k + 1), cell, batch))
            final_state.append(state)
            data = out.data  # (N, D*H)
            if self.residual and k > 0:
                data = data + packed.data
            if k < self.num_layers - 1:
                if self.norms:
                    data = self.norms[k](data)
                data = self.dropout(data)
            packed = out._replace(data=data)
        return packed, final_state

    def _initial_state(self, layers: slice, cell: str, batch: int) -> Tensor | tuple | None:
        """Learned initial state for `layers`, shaped (L*D, B, H) as torch.nn expects; None = zeros."""
        if self.initial_h is None:
            return None
        h = self.initial_h[layers].flatten(0, 1).unsqueeze(1).expand(-1, batch, -1).contiguous()
        if cell != "lstm":
            return h
        c = self.initial_c[layers].flatten(0, 1).unsqueeze(1).expand(-1, batch, -1).contiguous()
        return h, c

    def _last_steps(self, out: Tensor, lengths: Tensor) -> Tensor:
        """out: (B, T, D*H), lengths (B,) on out's device -> (B, D*H): forward half at step
        length-1, backward half at step 0."""
        index = (lengths - 1).view(-1, 1, 1).expand(-1, 1, self.state_size)
        forward = out[..., : self.state_size].gather(1, index).squeeze(1)  # (B, H)
        if not self.bidirectional:
            return forward
        return torch.cat([forward, out[:, 0, self.state_size :]], dim=-1)  # (B, 2H)

    def _merge(self, x: Tensor) -> Tensor:
        """x: (..., D*H) with directions concatenated -> (..., output_size)."""
        if not self.bidirectional or self.merge == "concat":
            return x
        forward, backward = x.split(self.state_size, dim=-1)
        if self.merge == "sum":
            return forward + backward
        if self.merge == "mean":
            return (forward + backward) / 2
        return forward * backward

    def extra_repr(self) -> str:
        return (
            f"cells={self.cells}, bidirectional={self.bidirectional}, merge={self.merge!r}, "
            f"fused={self.fused}, output_size={self.output_size}"
        )


def classic_init_(rnn: nn.RNNBase) -> None:
    """Orthogonal recurrent weights (per gate), Xavier input weights, zero biases, forget bias 1."""
    gates = {nn.LSTM: 4, nn.GRU: 3}.get(type(rnn), 1)
    for name, param in rnn.named_parameters():
        if name.startswith("weight_hh"):
            for block in param.data.chunk(gates, dim=0):
                nn.init.orthogonal_(block)
        elif name.startswith(("weight_ih", "weight_hr")):
            nn.init.xavier_uniform_(param.data)
        elif name.startswith("bias"):
            nn.init.zeros_(param.data)
            if isinstance(rnn, nn.LSTM) and name.startswith("bias_ih"):
                param.data[rnn.hidden_size : 2 * rnn.hidden_size] = 1.0  # gate order i, f, g, o


def _resolve_cells(cell: str | Sequence[str], num_layers: int | None) -> list[str]:
    if isinstance(cell, str):
        layers = 1 if num_layers is None else num_layers
        if layers < 1:
            raise ValueError(f"num_layers must be at least 1, got {num_layers}")
        return [cell] * layers
    cells = list(cell)
    if not cells:
        raise ValueError("cell is an empty list; give one cell name per layer, e.g. ['lstm', 'gru']")
    if num_layers is not None and num_layers != len(cells):
        raise ValueError(
            f"cell lists {len(cells)} cells {cells} but num_layers={num_layers}; give one cell per "
            f"layer or set num_layers={len(cells)} (or null)"
        )
    return cells


def _check_arguments(
    input_size: int,
    hidden_size: int,
    cells: list[str],
    merge: str,
    dropout: float,
    proj_size: int,
    init: str,
) -> None:
    unknown = [c for c in cells if c not in CELLS]
    if unknown:
        raise ValueError(f"unknown cell {unknown[0]!r}; choose from {sorted(CELLS)}")
    if input_size < 1 or hidden_size < 1:
        raise ValueError(f"input_size and hidden_size must be positive, got {input_size} and {hidden_size}")
    if merge not in MERGE_MODES:
        raise ValueError(f"merge must be one of {MERGE_MODES}, got {merge!r}")
    if not 0.0 <= dropout < 1.0:
        raise ValueError(f"dropout must be in [0, 1), got {dropout}")
    if init not in INIT_SCHEMES:
        raise ValueError(f"init must be one of {INIT_SCHEMES}, got {init!r}")
    if proj_size < 0:
        raise ValueError(f"proj_size must be >= 0, got {proj_size}")
    if proj_size and any(c != "lstm" for c in cells):
        other = next(c for c in cells if c != "lstm")
        raise ValueError(f"proj_size works only with cell='lstm', got cell={other!r}")
    if proj_size >= hidden_size:
        raise ValueError(
            f"proj_size must be smaller than hidden_size, got proj_size={proj_size} and "
            f"hidden_size={hidden_size}"
        )
