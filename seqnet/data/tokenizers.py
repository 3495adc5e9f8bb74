"""Character and word tokenizers: text -> list of token strings, and back."""

from __future__ import annotations

import re


class CharTokenizer:
    """One token per character (optionally lower-cased)."""

    name = "char"

    def __init__(self, lowercase: bool = False) -> None:
        self.lowercase = lowercase

    def to_dict(self) -> dict[str, object]:
        """Plain settings that `build_tokenizer(**settings)` turns back into this tokenizer."""
        return {"name": self.name, "lowercase": self.lowercase}

    def tokenize(self, text: str) -> list[str]:
        return list(text.lower() if self.lowercase else text)

    def detokenize(self, tokens: list[str]) -> str:
        return "".join(tokens)


class WordTokenizer:
    """Words and single punctuation marks as tokens (optionally lower-cased).

    `detokenize` joins with spaces, so it restores the words, not the original spacing.
    """

    PATTERN = re.compile(r"\w+(?:'\w+)?|[^\w\s]")
    name = "word"

    def __init__(self, lowercase: bool = True) -> None:
        self.lowercase = lowercase

    def to_dict(self) -> dict[str, object]:
        """Plain settings that `build_tokenizer(**settings)` turns back into this tokenizer."""
        return {"name": self.name, "lowercase": self.lowercase}

    def tokenize(self, text: str) -> list[str]:
        return self.PATTERN.findall(text.lower() if self.lowercase else text)

    def detokenize(self, tokens: list[str]) -> str:
        return " ".join(tokens)


class WhitespaceTokenizer:
    """Tokens as written, split at whitespace (pre-tokenised text: tagging corpora, CoNLL files)."""

    name = "whitespace"

    def __init__(self, lowercase: bool = False) -> None:
        self.lowercase = lowercase

    def to_dict(self) -> dict[str, object]:
        """Plain settings that `build_tokenizer(**settings)` turns back into this tokenizer."""
        return {"name": self.name, "lowercase": self.lowercase}

    def tokenize(self, text: str) -> list[str]:
        return (text.lower() if self.lowercase else text).split()

    def detokenize(self, tokens: list[str]) -> str:
        return " ".join(tokens)


Tokenizer = CharTokenizer | WordTokenizer | WhitespaceTokenizer
TOKENIZERS = {"char": CharTokenizer, "word": WordTokenizer, "whitespace": WhitespaceTokenizer}


def build_tokenizer(name: str, lowercase: bool) -> Tokenizer:
    """The tokenizer called `name` ("char", "word" or "whitespace")."""
    if name not in TOKENIZERS:
        raise ValueError(f"tokenizer must be one of {sorted(TOKENIZERS)}, got {name!r}")
    return TOKENIZERS[name](lowercase=lowercase)
