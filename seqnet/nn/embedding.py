"""Input layers: token ids through an embedding, continuous features through a projection."""

from __future__ import annotations

from torch import Tensor, nn

from seqnet.errors import InputError

INPUT_KINDS = ("tokens", "features")


class InputEmbedding(nn.Module):
    """Map a padded input batch to (B, T, E) vectors.

    Args:
        kind: "tokens" for integer ids (B, T) or "features" for real values (B, T, F).
        input_size: vocabulary size for tokens, features per step for features.
        embedding_dim: embedding width; for features None keeps the raw features (identity).
        pad_id: padding id of the vocabulary (its embedding stays zero).
    """

    def __init__(self, kind: str, input_size: int, embedding_dim: int | None = None, pad_id: int = 0) -> None:
        super().__init__()
        if kind not in INPUT_KINDS:
            raise InputError(f"input kind must be one of {INPUT_KINDS}, got {kind!r}")
        self.kind = kind
        if kind == "tokens":
            if not embedding_dim:
                raise InputError("token inputs need an embedding_dim, e.g. embedding_dim=64")
            self.layer: nn.Module = nn.Embedding(input_size, embedding_dim, padding_idx=pad_id)
        elif embedding_dim:
            self.layer = nn.Linear(input_size, embedding_dim)
        else:
            self.layer = nn.Identity()
        self.output_size = embedding_dim or input_size

    def forward(self, inputs: Tensor) -> Tensor:
        """inputs: (B, T) ids or (B, T, F) features -> (B, T, E)."""
        return self.layer(inputs)
