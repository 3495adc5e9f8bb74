"""Input layers: token ids through an embedding (with each word's characters and casing where the
data carries them), continuous features through a projection."""

from __future__ import annotations

import torch
from torch import Tensor, nn

from seqnet.errors import InputError

INPUT_KINDS = ("tokens", "features")
WORD_COLUMNS = 2  # token inputs with characters: word id, casing class, then the characters
CASING_CLASSES = 8  # casing classes of `seqnet.data.word_chars.CASINGS`, the pad included


class CharWordEmbedding(nn.Module):
    """A word read three ways: its embedding, its casing class, and a convolution over its characters
    max-pooled across the word (Ma & Hovy 2016; casing as in Reimers & Gurevych 2017), concatenated.
    Words never seen in training share `<unk>`'s embedding but keep their form.

    Args:
        num_words / word_dim: word vocabulary size and embedding width.
        num_chars: character vocabulary size (id 0 pads).
        char_dim / filters / width: character embedding width, convolution filters and kernel width.
        casing_dim: casing embedding width.

    forward: inputs (B, T, 2 + L) int64 (word id, casing, L character ids) -> (B, T, output_size).
    """

    def __init__(
        self,
        num_words: int,
        word_dim: int,
        num_chars: int,
        pad_id: int = 0,
        char_dim: int = 25,
        filters: int = 50,
        width: int = 3,
        casing_dim: int = 8,
    ) -> None:
        super().__init__()
        self.words = nn.Embedding(num_words, word_dim, padding_idx=pad_id)
        self.casing = nn.Embedding(CASING_CLASSES, casing_dim, padding_idx=0)
        self.chars = nn.Embedding(num_chars, char_dim, padding_idx=0)
        self.conv = nn.Conv1d(char_dim, filters, width, padding=width // 2)
        self.output_size = word_dim + casing_dim + filters

    def forward(self, inputs: Tensor) -> Tensor:
        chars = inputs[..., WORD_COLUMNS:]  # (B, T, L)
        batch, steps, length = chars.shape
        flat = chars.reshape(batch * steps, length)  # (B*T, L)
        h = self.conv(self.chars(flat).transpose(1, 2))  # (B*T, F, L)
        present = (flat != 0).unsqueeze(1)  # (B*T, 1, L)
        pooled = h.masked_fill(~present, torch.finfo(h.dtype).min).amax(-1)  # (B*T, F)
        pooled = pooled * present.any(-1).to(h.dtype)  # words without characters (padding): zeros
        return torch.cat(
            [self.words(inputs[..., 0]), self.casing(inputs[..., 1]), pooled.reshape(batch, steps, -1)], -1
        )  # (B, T, E + C + F)


class InputEmbedding(nn.Module):
    """Map a padded input batch to (B, T, E) vectors.

    Args:
        kind: "tokens" for integer ids (B, T) or "features" for real values (B, T, F).
        input_size: vocabulary size for tokens, features per step for features.
        embedding_dim: embedding width; for features None keeps the raw features (identity).
        pad_id: padding id of the vocabulary (its embedding stays zero).
        num_chars: token inputs that carry each word's casing and characters, (B, T, 2 + L)
            (`seqnet.data.word_chars`): the character vocabulary's size; 0 for ids alone (B, T).
        char_features: with such inputs, read the casing and characters (`CharWordEmbedding`);
            False reads the word ids alone.
        word_dropout: token inputs in training: this share of the words, drawn anew every step,
            read as `unk_id`, so the model learns to tag words it does not know from their context
            and form (Lample et al. 2016).
        unk_id: the vocabulary's `<unk>`.
    """

    def __init__(
        self,
        kind: str,
        input_size: int,
        embedding_dim: int | None = None,
        pad_id: int = 0,
        num_chars: int = 0,
        char_features: bool = True,
        word_dropout: float = 0.0,
        unk_id: int = 1,
    ) -> None:
        super().__init__()
        if kind not in INPUT_KINDS:
            raise InputError(f"input kind must be one of {INPUT_KINDS}, got {kind!r}")
        if not 0 <= word_dropout < 1:
            raise InputError(f"word_dropout is a share of the words, in [0, 1); got {word_dropout}")
        if word_dropout and kind != "tokens":
            raise InputError("word_dropout replaces token ids by <unk>; these inputs are features")
        self.kind = kind
        self.pad_id, self.unk_id = pad_id, unk_id
        self.word_dropout = word_dropout
        self.with_chars = bool(num_chars)  # inputs (B, T, 2 + L)
        if kind == "tokens":
            if not embedding_dim:
                raise InputError("token inputs need an embedding_dim, e.g. embedding_dim=64")
            if num_chars and char_features:
                self.layer: nn.Module = CharWordEmbedding(input_size, embedding_dim, num_chars, pad_id)
            else:
                self.layer = nn.Embedding(input_size, embedding_dim, padding_idx=pad_id)
        elif embedding_dim:
            self.layer = nn.Linear(input_size, embedding_dim)
        else:
            self.layer = nn.Identity()
        self.output_size = getattr(self.layer, "output_size", embedding_dim or input_size)

    def forward(self, inputs: Tensor) -> Tensor:
        """inputs: (B, T) ids, (B, T, 2 + L) ids with characters, or (B, T, F) features -> (B, T, E)."""
        if self.training and self.word_dropout:
            inputs = self._drop_words(inputs)
        if self.with_chars and not isinstance(self.layer, CharWordEmbedding):
            inputs = inputs[..., 0]  # (B, T) word ids alone
        return self.layer(inputs)

    def _drop_words(self, inputs: Tensor) -> Tensor:
        words = inputs[..., 0] if self.with_chars else inputs  # (B, T)
        drop = (torch.rand(words.shape, device=words.device) < self.word_dropout) & (words != self.pad_id)
        words = words.masked_fill(drop, self.unk_id)
        if not self.with_chars:
            return words
        return torch.cat([words.unsqueeze(-1), inputs[..., 1:]], -1)  # (B, T, 2 + L)
