"""Character, word and whitespace tokenizers: text -> list of token strings, and back."""

from __future__ import annotations

import re

from seqnet.errors import InputError


class Tokenizer:
    """What every tokenizer shares: a name, optional lower-casing, and settings that travel in a
    checkpoint's `DataSpec` (`build_tokenizer(**tokenizer.to_dict())` rebuilds it)."""

    name = ""

    def __init__(self, lowercase: bool = False) -> None:
        self.lowercase = lowercase

    def to_dict(self) -> dict[str, object]:
        return {"name": self.name, "lowercase": self.lowercase}

    def cased(self, text: str) -> str:
        return text.lower() if self.lowercase else text

    def tokenize(self, text: str) -> list[str]:
        raise NotImplementedError

    def detokenize(self, tokens: list[str]) -> str:
        return " ".join(tokens)


class CharTokenizer(Tokenizer):
    """One token per character (optionally lower-cased)."""

    name = "char"

    def tokenize(self, text: str) -> list[str]:
        return list(self.cased(text))

    def detokenize(self, tokens: list[str]) -> str:
        return "".join(tokens)


class WordTokenizer(Tokenizer):
    """Words and single punctuation marks as tokens (lower-cased by default).

    `detokenize` joins with spaces, so it restores the words, not the original spacing.
    """

    PATTERN = re.compile(r"\w+(?:'\w+)?|[^\w\s]")
    name = "word"

    def __init__(self, lowercase: bool = True) -> None:
        super().__init__(lowercase)

    def tokenize(self, text: str) -> list[str]:
        return self.PATTERN.findall(self.cased(text))


class WhitespaceTokenizer(Tokenizer):
    """Tokens as written, split at whitespace (pre-tokenised text: tagging corpora, CoNLL files)."""

    name = "whitespace"

    def tokenize(self, text: str) -> list[str]:
        return self.cased(text).split()


TOKENIZERS: dict[str, type[Tokenizer]] = {
    "char": CharTokenizer,
    "word": WordTokenizer,
    "whitespace": WhitespaceTokenizer,
}


def build_tokenizer(name: str, lowercase: bool) -> Tokenizer:
    """The tokenizer called `name` ("char", "word" or "whitespace")."""
    if name not in TOKENIZERS:
        raise InputError(f"tokenizer must be one of {sorted(TOKENIZERS)}, got {name!r}")
    return TOKENIZERS[name](lowercase=lowercase)
