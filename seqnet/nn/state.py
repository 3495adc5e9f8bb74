"""`EncoderState`: the recurrent state of every layer of an encoder, one type for all cells.

Each layer holds a tuple of tensors shaped (num_directions, B, size): `(h,)` for Elman and GRU
layers, `(h, c)` for LSTM layers (h has `proj_size` units when the LSTM projects), whatever a
registered cell declares for its own layers. The batch is dimension 1, as in `torch.nn`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

import torch
from torch import Tensor

from seqnet.errors import InputError

LayerState = tuple[Tensor, ...]  # one layer: each tensor (D, B, S)


@dataclass(frozen=True)
class EncoderState:
    """Per-layer recurrent state (bottom layer first); see the module doc for the shapes.

    What decoding, streaming and truncated BPTT need:

    - `detach()`: cut the graph (truncated BPTT carries the values, not the history);
    - `index_select(rows)`: reorder or repeat batch rows (beam search);
    - `reset(rows, initial)`: start new streams in some rows (zeros, or the given initial state);
    - `to(...)`: move or cast, like `Tensor.to`.
    """

    layers: tuple[LayerState, ...]

    def __post_init__(self) -> None:
        object.__setattr__(self, "layers", tuple(tuple(layer) for layer in self.layers))

    # --- views ----------------------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self.layers)

    def __getitem__(self, layer: int) -> LayerState:
        return self.layers[layer]

    def __iter__(self) -> Iterator[LayerState]:
        return iter(self.layers)

    @property
    def batch_size(self) -> int:
        return self.layers[0][0].shape[1]

    @property
    def top(self) -> Tensor:
        """The top layer's hidden state h: (D, B, H)."""
        return self.layers[-1][0]

    # --- operations -----------------------------------------------------------------------------
    def map(self, fn: Callable[[Tensor], Tensor]) -> EncoderState:
        """Apply `fn` to every tensor."""
        return EncoderState(tuple(tuple(fn(t) for t in layer) for layer in self.layers))

    def detach(self) -> EncoderState:
        return self.map(Tensor.detach)

    def to(self, *args, **kwargs) -> EncoderState:
        return self.map(lambda t: t.to(*args, **kwargs))

    def index_select(self, rows: Tensor) -> EncoderState:
        """Rows (R,) of batch indices -> a state of batch R (rows may repeat or reorder)."""
        return self.map(lambda t: t.index_select(1, rows.to(t.device)))

    def index_copy(self, rows: Tensor, source: EncoderState) -> EncoderState:
        """This state with batch rows `rows` (R,) replaced by `source` (a state of batch R)."""
        return EncoderState(
            tuple(
                tuple(t.index_copy(1, rows.to(t.device), s) for t, s in zip(mine, theirs, strict=True))
                for mine, theirs in zip(self.layers, source.layers, strict=True)
            )
        )

    def reset(self, rows: Tensor, initial: EncoderState | None = None) -> EncoderState:
        """Start over in `rows` ((B,) bool, or indices): zeros there, or `initial`'s values.

        Differentiable and out of place: the other rows keep their values and their graph.
        """

        def reset_tensor(t: Tensor, start: Tensor | None) -> Tensor:
            chosen = _row_mask(rows, t.shape[1], t.device).view(1, -1, 1)  # (1, B, 1)
            return torch.where(chosen, torch.zeros_like(t) if start is None else start, t)

        starts = initial.layers if initial is not None else [[None] * len(layer) for layer in self.layers]
        return EncoderState(
            tuple(
                tuple(reset_tensor(t, s) for t, s in zip(layer, start, strict=True))
                for layer, start in zip(self.layers, starts, strict=True)
            )
        )


def _row_mask(rows: Tensor, batch: int, device: torch.device) -> Tensor:
    rows = torch.as_tensor(rows, device=device)
    if rows.dtype == torch.bool:
        if rows.shape != (batch,):
            raise InputError(f"a boolean row mask must have shape ({batch},), got {tuple(rows.shape)}")
        return rows
    mask = torch.zeros(batch, dtype=torch.bool, device=device)
    mask[rows.long()] = True
    return mask
