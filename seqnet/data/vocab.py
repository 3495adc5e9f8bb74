"""`Vocabulary`: token strings <-> ids, with special tokens, frequency limits and save/load."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path

from seqnet.errors import InputError

PAD, UNK, BOS, EOS = "<pad>", "<unk>", "<bos>", "<eos>"
SPECIALS = (PAD, UNK, BOS, EOS)


class Vocabulary:
    """Ids for tokens. The special tokens come first, so `pad_id` is 0 and `unk_id` is 1.

    Unknown tokens encode to `unk_id`, never an error, so prediction on new text cannot crash.
    `to_list()` is plain Python and travels inside a checkpoint's `DataSpec.vocab`.
    """

    def __init__(self, tokens: Sequence[str]) -> None:
        missing = [s for s in SPECIALS if s not in tokens]
        if missing:
            raise InputError(f"a vocabulary needs the special tokens {SPECIALS}; missing {missing}")
        if len(set(tokens)) != len(tokens):
            duplicate = next(t for t, n in Counter(tokens).items() if n > 1)
            raise InputError(f"token {duplicate!r} appears twice in the vocabulary")
        self.tokens = list(tokens)
        self.index = {token: i for i, token in enumerate(self.tokens)}
        self.pad_id, self.unk_id, self.bos_id, self.eos_id = (self.index[s] for s in SPECIALS)

    @classmethod
    def build(
        cls, sequences: Iterable[Sequence[str]], min_freq: int = 1, max_size: int | None = None
    ) -> Vocabulary:
        """Count tokens over `sequences` (the training split); keep those seen `min_freq` times,
        the `max_size` most frequent (specials included in the size), ties broken alphabetically."""
        if min_freq < 1:
            raise InputError(f"min_freq must be at least 1, got {min_freq}")
        if max_size is not None and max_size <= len(SPECIALS):
            raise InputError(f"max_size must exceed the {len(SPECIALS)} special tokens, got {max_size}")
        counts = Counter(token for sequence in sequences for token in sequence)
        ranked = sorted(
            (t for t, n in counts.items() if n >= min_freq and t not in SPECIALS),
            key=lambda t: (-counts[t], t),
        )
        if max_size is not None:
            ranked = ranked[: max_size - len(SPECIALS)]
        return cls([*SPECIALS, *ranked])

    def __len__(self) -> int:
        return len(self.tokens)

    def __contains__(self, token: str) -> bool:
        return token in self.index

    def encode(self, tokens: Sequence[str], add_bos: bool = False, add_eos: bool = False) -> list[int]:
        ids = [self.index.get(token, self.unk_id) for token in tokens]
        return [self.bos_id] * add_bos + ids + [self.eos_id] * add_eos

    def decode(self, ids: Iterable[int], skip_specials: bool = True) -> list[str]:
        specials = {self.pad_id, self.bos_id, self.eos_id}
        return [self.tokens[i] for i in ids if not (skip_specials and i in specials)]

    def to_list(self) -> list[str]:
        return list(self.tokens)

    def save(self, path: str | Path) -> None:
        Path(path).write_text(json.dumps({"tokens": self.tokens}, ensure_ascii=False) + "\n")

    @classmethod
    def load(cls, path: str | Path) -> Vocabulary:
        try:
            tokens = json.loads(Path(path).read_text())["tokens"]
        except (json.JSONDecodeError, KeyError, TypeError) as error:
            raise InputError(f"{path} is not a saved seqnet vocabulary ({error})") from None
        return cls(tokens)
