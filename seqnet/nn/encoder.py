"""`RecurrentEncoder`: stacked, optionally bidirectional and mixed recurrent layers over padded batches,
with state in and out and a one-step call.

Each layer comes from the cell registry (`seqnet.nn.cells`). Built-in cells run on the fused
cuDNN/oneDNN kernels of `torch.nn.RNN/LSTM/GRU`, or for GRU and Elman layers (and an LSTM's exact
final state over variable lengths) on the CPU on seqnet's own fused kernel (`seqnet.nn.fused`), with
variable lengths on an exact route that keeps padded steps out of every recurrence (`route`: fused,
padded or packed). A uniform stack of built-in cells without residual connections or layer norm
runs as one `torch.nn` call; everything else runs layer by layer, which gives the same numbers
where both apply.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence

import torch
from torch import Tensor, nn

from seqnet.errors import InputError
from seqnet.nn.cells import build_layer, cell_spec
from seqnet.nn.masking import lengths_to_mask, validate_lengths
from seqnet.nn.state import EncoderState, LayerState

MERGE_MODES = ("concat", "sum", "mean", "mul")
INIT_SCHEMES = ("default", "classic")


class EncoderOutput:
    """What every encoder returns.

    outputs: (B, T, output_size), merged directions, exactly zero at padded steps.
    last: (B, output_size), the forward direction at each sequence's last valid step merged with the
        backward direction at step 0 (the summary a many-to-one head reads); zero for empty rows.
    final_state: `EncoderState` after each row's last valid step; pass it back in to continue.
        Computed on first access when the fast route could not observe it (an LSTM's c over
        variable lengths), so training that never reads it never pays for it.
    mask: (B, T) bool, True at valid steps (also computed on first access when given as a function).
    """

    def __init__(
        self,
        outputs: Tensor,
        last: Tensor,
        final_state: EncoderState | Callable[[], EncoderState],
        mask: Tensor | Callable[[], Tensor],
    ) -> None:
        self.outputs = outputs
        self.last = last
        self._final_state = final_state
        self._mask = mask

    @property
    def final_state(self) -> EncoderState:
        if not isinstance(self._final_state, EncoderState):
            self._final_state = self._final_state()
        return self._final_state

    @property
    def mask(self) -> Tensor:
        if not isinstance(self._mask, Tensor):
            self._mask = self._mask()
        return self._mask


class RecurrentEncoder(nn.Module):
    """A stack of recurrent layers over variable-length batches, with state in and out.

    Args:
        input_size: features per time step of the input.
        hidden_size: hidden units per direction in every layer.
        cell: a cell name (`rnn`, `rnn_relu`, `lstm`, `gru`, one you registered with
            `seqnet.nn.register_cell`, or an import path `my_module.MyCell`) for a uniform stack, or
            a list with one name per layer for a mixed stack, e.g. ``["lstm", "gru"]`` (LSTM at the
            bottom).
        num_layers: layers in the stack; with a list of cells it may be left as None.
        bidirectional: run every layer in both directions. Between layers both directions are
            concatenated, as `torch.nn` does; `merge` combines them in the final output.
        merge: how the top layer's two directions are combined: concat, sum, mean or mul.
        dropout: dropout on the outputs of every layer except the last.
        residual: add each layer's input to its output (layers above the first).
        layer_norm: layer norm on the output of every layer except the last.
        proj_size: LSTM projection size (0 = none); only for all-LSTM stacks.
        learn_initial_state: learn the initial state (every tensor of every layer) instead of zeros.
        init: "default" keeps torch's initialisation; "classic" uses orthogonal recurrent weights,
            Xavier input weights, zero biases and LSTM forget-gate bias 1 (built-in cells).
        fuse_layers: run a uniform stack of built-in cells without residual/norm as one `torch.nn`
            call (cuDNN/oneDNN). False forces the layer-by-layer path (same results, slower).
        route: how built-in cells run: "auto" (on the CPU: GRU and Elman layers on seqnet's fused
            kernel, LSTM layers padded, or fused for their final state over variable lengths; on
            CUDA packed), "fused" (CPU; no LSTM projections), "padded" or "packed". Every route
            gives the same outputs, states and gradients; equal lengths never pack.
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
        route: str = "auto",
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
        self.fused = (
            fuse_layers
            and len(set(cells)) == 1
            and cell_spec(cells[0]).stackable
            and not residual
            and not layer_norm
        )

        options = dict(bidirectional=bidirectional, proj_size=proj_size, route=route)
        if self.fused:
            fused_dropout = dropout if len(cells) > 1 else 0.0
            blocks = [
                build_layer(
                    cells[0], input_size, hidden_size, num_layers=len(cells), dropout=fused_dropout, **options
                )
            ]
        else:
            blocks = []
            for cell in cells:
                size = blocks[-1].num_directions * blocks[-1].hidden_size if blocks else input_size
                blocks.append(build_layer(cell, size, hidden_size, **options))
        self.layers = nn.ModuleList(blocks)
        self.state_size = blocks[-1].hidden_size  # width of h (and of the output) per direction
        # per layer (bottom first): the width of each of its state tensors
        self.state_sizes = [block.state_sizes for block in blocks for _ in range(block.num_layers)]
        layer_width = self.num_directions * self.state_size
        self.dropout = nn.Dropout(dropout)
        self.norms = nn.ModuleList(
            [nn.LayerNorm(layer_width) for _ in range(self.num_layers - 1)] if layer_norm else []
        )
        self.initial_states = nn.ModuleList(
            [
                nn.ParameterList([nn.Parameter(torch.zeros(self.num_directions, size)) for size in sizes])
                for sizes in self.state_sizes
            ]
            if learn_initial_state
            else []
        )
        if init == "classic":
            for module in self.modules():
                if isinstance(module, nn.RNNBase):
                    classic_init_(module)

    @property
    def output_size(self) -> int:
        """Width of `EncoderOutput.outputs`, `EncoderOutput.last` and of `step`'s output."""
        if self.bidirectional and self.merge == "concat":
            return 2 * self.state_size
        return self.state_size

    def initial_state(
        self, batch_size: int, device: torch.device | str | None = None, dtype: torch.dtype | None = None
    ) -> EncoderState:
        """The state a sequence starts from: zeros, or the learned initial state."""
        if self.initial_states:
            return EncoderState(
                tuple(
                    tuple(
                        p.to(device=device, dtype=dtype).unsqueeze(1).expand(-1, batch_size, -1)
                        for p in params
                    )
                    for params in self.initial_states
                )
            )
        return EncoderState(
            tuple(
                tuple(
                    torch.zeros(self.num_directions, batch_size, s, device=device, dtype=dtype) for s in sizes
                )
                for sizes in self.state_sizes
            )
        )

    def forward(
        self,
        x: Tensor,
        lengths: Tensor | None = None,
        state: EncoderState | None = None,
        need_state: bool = False,
    ) -> EncoderOutput:
        """x: (B, T, I) padded; lengths: (B,) valid steps per sequence (None = all T; 0 passes the
        row's state through unchanged); state: where each row starts (None = `initial_state`);
        need_state: compute `final_state` in this pass. Without it, an LSTM over variable lengths
        takes its fastest route, which cannot see the final cell state, and reading `final_state`
        runs the encoder again.

        Feeding a sequence in chunks while carrying `final_state` gives the outputs and final
        state of one call over the whole sequence (unidirectional encoders).
        """
        if torch.compiler.is_exporting() or torch.jit.is_tracing():
            return self._traced(x, lengths, state)
        self._check_input(x, 3, "(B, T, I) = (batch, steps, features)")
        batch, steps, _ = x.shape
        lengths, shortest = validate_lengths(lengths, batch, steps)
        state = self._check_state(state, batch, x)
        full = steps > 0 and shortest == steps  # every row fills all T steps
        present = full or shortest > 0
        if present:
            outputs, final_state = self._run(x, lengths, state, need_state)  # (B, T, D*H)
        else:
            outputs = x.new_zeros(batch, steps, self.num_directions * self.state_size)
            final_state = state
            rows = (lengths > 0).nonzero().squeeze(1)  # (R,)
            if len(rows):
                device_rows = rows.to(x.device)
                sub = (x.index_select(0, device_rows), lengths[rows], state.index_select(device_rows))
                sub_outputs, sub_state = self._run(*sub, need_state=need_state)
                outputs = outputs.index_copy(0, device_rows, sub_outputs)
                final_state = self._scatter(state, device_rows, sub_state, sub)
        device_lengths = lengths.to(x.device)  # one host-to-device copy for mask and last steps
        last = self._full_last_steps(outputs) if full else self._last_steps(outputs, device_lengths, present)
        return EncoderOutput(
            outputs=self._merge(outputs),
            last=self._merge(last),
            final_state=final_state,
            mask=lambda: lengths_to_mask(device_lengths, steps, device=x.device),  # (B, T)
        )

    def _traced(self, x: Tensor, lengths: Tensor | None, state: EncoderState | None) -> EncoderOutput:
        """`forward` while `torch.export` (or ONNX's exporter) traces it: every layer's padded
        route as plain tensor operations (`graph_forward`), lengths on x's device, no checks that
        read values; outputs and last steps only (a full-sequence graph has no final state: the
        streaming graph carries it, through `step`)."""
        batch, steps, _ = x.shape
        lengths = torch.full((batch,), steps, device=x.device) if lengths is None else lengths.to(x.device)
        state = self.initial_state(batch, x.device, x.dtype) if state is None else state

        def run(block: nn.Module, inputs: Tensor, start: LayerState) -> tuple[Tensor, None]:
            if not hasattr(block, "graph_forward"):
                raise InputError(
                    f"{type(block).__name__} has no graph_forward (its outputs as plain tensor "
                    "operations), so it does not export; see seqnet.nn.cells.TorchRecurrentLayer"
                )
            return block.graph_forward(inputs, lengths, start), None

        outputs, _ = self._through_layers(x, state, run)
        mask = lengths_to_mask(lengths, steps, x.device)  # (B, T)
        if self.residual or self.norms:
            outputs = outputs * mask.unsqueeze(-1).to(outputs.dtype)
        return EncoderOutput(
            outputs=self._merge(outputs),
            last=self._merge(self._last_steps(outputs, lengths, present=True)),
            final_state=_no_final_state,
            mask=mask,
        )

    def _scatter(
        self,
        state: EncoderState,
        rows: Tensor,
        sub_state: EncoderState | Callable[[], EncoderState],
        sub: tuple[Tensor, Tensor, EncoderState],
    ) -> EncoderState | Callable[[], EncoderState]:
        """`state` with `rows` replaced by the state the non-empty rows reached (lazily if need be)."""
        if isinstance(sub_state, EncoderState):
            return state.index_copy(rows, sub_state)
        return lambda: state.index_copy(rows, self._run(*sub, need_state=True)[1])

    def _check_input(self, x: Tensor, dims: int, layout: str) -> None:
        """Refuse an input of the wrong rank or feature width, naming the shape expected."""
        if x.dim() != dims or x.shape[-1] != self.input_size:
            raise InputError(
                f"the encoder expects {layout} with I = {self.input_size}, got shape {tuple(x.shape)}"
                + ("; add the batch dimension with x.unsqueeze(0)" if x.dim() == dims - 1 else "")
            )

    def step(self, x_t: Tensor, state: EncoderState | None = None) -> tuple[Tensor, EncoderState]:
        """One time step for a batch: x_t (B, I) -> (y_t (B, output_size), state after the step).

        Running a sequence through `step` T times gives `forward`'s outputs and final state.
        """
        if self.bidirectional:
            raise InputError(
                "step() runs one time step forward, but this encoder is bidirectional: its backward "
                "direction starts from the end of the sequence, which a step-by-step caller does not "
                "have yet; call forward(x, lengths) on whole sequences, or use a unidirectional encoder"
            )
        self._check_input(x_t, 2, "(B, I) = (batch, features), one time step")
        state = self._check_state(state, x_t.shape[0], x_t)
        y_t, finals = self._through_layers(x_t, state, lambda block, inputs, start: block.step(inputs, start))
        return y_t, EncoderState(tuple(finals))

    def _run(
        self, x: Tensor, lengths: Tensor, state: EncoderState, need_state: bool = False
    ) -> tuple[Tensor, EncoderState | Callable[[], EncoderState]]:
        """Every layer over rows of length >= 1: (B, T, D*H) outputs and the final state (or a
        function computing it, when a layer's fast route could not observe it)."""

        def run(block: nn.Module, inputs: Tensor, start: LayerState) -> tuple[Tensor, LayerState | None]:
            if getattr(block, "lazy_state", False):
                return block(inputs, lengths, start, need_state=need_state)
            return block(inputs, lengths, start)

        inputs, finals = self._through_layers(x, state, run)
        if self.residual or self.norms:  # they act on padded steps too: zero those again
            mask = lengths_to_mask(lengths, x.shape[1], x.device)
            inputs = inputs * mask.unsqueeze(-1).to(inputs.dtype)
        if any(layer is None for layer in finals):
            return inputs, lambda: self._run(x, lengths, state, need_state=True)[1]
        return inputs, EncoderState(tuple(finals))

    def _through_layers(
        self,
        x: Tensor,
        state: EncoderState,
        run: Callable[[nn.Module, Tensor, LayerState], tuple[Tensor, LayerState | None]],
    ) -> tuple[Tensor, list[LayerState | None]]:
        """Feed x through every block with `run(block, inputs, its state)` (a whole sequence or one
        step), with residual/norm/dropout between layers; the top outputs and each layer's state
        (None for a layer whose state was deferred)."""
        inputs, finals = x, []
        for index, block in enumerate(self.layers):
            first, count = (0, block.num_layers) if self.fused else (index, 1)
            out, new = run(block, inputs, self._join(list(state.layers[first : first + count])))
            finals += self._split(new, count) if new is not None else [None] * count
            inputs = self._between_layers(out, inputs, first)
        return inputs, finals

    @staticmethod
    def _join(layers: list[LayerState]) -> LayerState:
        """Per-layer states (each (D, B, S)) -> one block's state (each (L*D, B, S))."""
        return (
            layers[0]
            if len(layers) == 1
            else tuple(torch.cat(parts, dim=0) for parts in zip(*layers, strict=True))
        )

    def _split(self, state: LayerState, count: int) -> list[LayerState]:
        if count == 1:
            return [state]
        parts = [t.chunk(count, dim=0) for t in state]  # each tensor -> count x (D, B, S)
        return [tuple(p[k] for p in parts) for k in range(count)]

    def _between_layers(self, out: Tensor, inputs: Tensor, layer: int) -> Tensor:
        """Residual, layer norm and dropout after layer `layer` of the layer-by-layer path."""
        if self.fused:
            return out
        if self.residual and layer > 0:
            out = out + inputs
        if layer < self.num_layers - 1:
            if self.norms:
                out = self.norms[layer](out)
            out = self.dropout(out)
        return out

    def _check_state(self, state: EncoderState | None, batch: int, like: Tensor) -> EncoderState:
        if state is None:
            return self.initial_state(batch, like.device, like.dtype)
        if not isinstance(state, EncoderState):
            raise TypeError(
                f"state must be an EncoderState (e.g. a previous final_state), got {type(state).__name__}"
            )
        if len(state) != self.num_layers or state.batch_size != batch:
            raise InputError(
                f"state holds {len(state)} layers for a batch of {state.batch_size}, but this encoder has "
                f"{self.num_layers} layers and the input a batch of {batch}"
            )
        return state

    def _last_steps(self, out: Tensor, lengths: Tensor, present: bool) -> Tensor:
        """out: (B, T, D*H), lengths (B,) on out's device, present: no row is empty -> (B, D*H):
        forward half at step length-1, backward half at step 0 (zeros for empty rows)."""
        index = (lengths - 1).clamp(min=0).view(-1, 1, 1).expand(-1, 1, self.state_size)
        forward = out[..., : self.state_size].gather(1, index).squeeze(1)  # (B, H)
        if self.bidirectional:
            forward = torch.cat([forward, out[:, 0, self.state_size :]], dim=-1)  # (B, 2H)
        return forward if present else forward * (lengths > 0).unsqueeze(1).to(forward.dtype)

    def _full_last_steps(self, out: Tensor) -> Tensor:
        """`_last_steps` when every row fills all T steps: out (B, T, D*H) -> (B, D*H)."""
        if not self.bidirectional:
            return out[:, -1]
        return torch.cat([out[:, -1, : self.state_size], out[:, 0, self.state_size :]], dim=-1)

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


def _no_final_state() -> EncoderState:
    raise InputError(
        "an exported full-sequence graph has no final state; export the streaming graph "
        "(seqnet-export ... streaming=true), which carries the state one step at a time"
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
        if isinstance(layers, bool) or not isinstance(layers, int) or layers < 1:
            raise InputError(f"num_layers must be a whole number of at least 1, got {num_layers!r}")
        return [cell] * layers
    cells = list(cell)
    if not cells:
        raise InputError("cell is an empty list; give one cell name per layer, e.g. ['lstm', 'gru']")
    if num_layers is not None and num_layers != len(cells):
        raise InputError(
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
    for name, value in (("input_size", input_size), ("hidden_size", hidden_size), ("proj_size", proj_size)):
        if isinstance(value, bool) or not isinstance(value, int):
            raise InputError(f"{name} must be a whole number, got {value!r}")
    if isinstance(dropout, bool) or not isinstance(dropout, int | float):
        raise InputError(f"dropout must be a number in [0, 1), got {dropout!r}")
    for cell in cells:
        cell_spec(cell)  # an unknown cell fails here, listing the registered ones
    if input_size < 1 or hidden_size < 1:
        raise InputError(f"input_size and hidden_size must be positive, got {input_size} and {hidden_size}")
    if merge not in MERGE_MODES:
        raise InputError(f"merge must be one of {MERGE_MODES}, got {merge!r}")
    if not 0.0 <= dropout < 1.0:
        raise InputError(f"dropout must be in [0, 1), got {dropout}")
    if init not in INIT_SCHEMES:
        raise InputError(f"init must be one of {INIT_SCHEMES}, got {init!r}")
    if proj_size < 0:
        raise InputError(f"proj_size must be >= 0, got {proj_size}")
    if proj_size and any(not cell_spec(c).accepts_proj_size for c in cells):
        other = next(c for c in cells if not cell_spec(c).accepts_proj_size)
        raise InputError(f"proj_size works only with cell='lstm', got cell={other!r}")
    if proj_size >= hidden_size:
        raise InputError(
            f"proj_size must be smaller than hidden_size, got proj_size={proj_size} and "
            f"hidden_size={hidden_size}"
        )
