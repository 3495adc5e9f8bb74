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

    def fit(self, texts: list[str]) -> Tokenizer:
        """Learn what `detokenize` needs from the training texts (nothing, unless a tokenizer
        drops information that it must put back); returns itself."""
        return self


class CharTokenizer(Tokenizer):
    """One token per character (optionally lower-cased)."""

    name = "char"

    def tokenize(self, text: str) -> list[str]:
        return list(self.cased(text))

    def detokenize(self, tokens: list[str]) -> str:
        return "".join(tokens)


# Chinese characters (CJK ideographs): text written without spaces between words, so each one is a
# token, as BERT's basic tokenizer does (a run of them would otherwise be one "word" per phrase)
IDEOGRAPHS = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0002ffff"
WORD = rf"(?:(?![{IDEOGRAPHS}])\w)"  # a word character that is not an ideograph
IDEOGRAPH = re.compile(f"[{IDEOGRAPHS}]")


class WordTokenizer(Tokenizer):
    """Words and single punctuation marks as tokens (lower-cased by default); each Chinese
    character is a token of its own, and they are put back without spaces between them.

    `detokenize` puts words back with a space between them and each punctuation mark back the way
    the training texts (`fit`) mostly wrote it: `2021 - 03 - 03` becomes `2021-03-03` when the
    data writes dates so, `hello , world !` becomes `hello, world!`. A mark never seen in training
    follows English typography (no space before `.,;:!?%)]}`, none after `([{`).

    Args:
        lowercase: lower-case the text first.
        spacing: per punctuation mark, "b" if a space mostly precedes it and "a" if one mostly
            follows it ("" for `-` in dates, "a" for a comma); what `fit` learns.
    """

    PATTERN = re.compile(rf"[{IDEOGRAPHS}]|{WORD}+(?:'{WORD}+)?|[^\w\s]")
    name = "word"
    CLOSING, OPENING = set(".,;:!?%)]}"), set("([{")

    def __init__(self, lowercase: bool = True, spacing: dict[str, str] | None = None) -> None:
        super().__init__(lowercase)
        self.spacing = dict(spacing or {})

    def to_dict(self) -> dict[str, object]:
        return {**super().to_dict(), "spacing": dict(self.spacing)}

    def tokenize(self, text: str) -> list[str]:
        return self.PATTERN.findall(self.cased(text))

    def fit(self, texts: list[str]) -> WordTokenizer:
        # mark -> [(times with a token before it, with a space there), (with a token after, a space)]
        counts: dict[str, list[list[int]]] = {}
        self.spacing = {}  # what it learns replaces what it knew
        for text in texts:
            text = self.cased(text).strip()
            for match in self.PATTERN.finditer(text):
                mark = match.group()
                if is_word(mark):
                    continue
                (before, after) = counts.setdefault(mark, [[0, 0], [0, 0]])
                start, end = match.span()
                if start > 0:
                    before[0] += 1
                    before[1] += text[start - 1].isspace()
                if end < len(text):
                    after[0] += 1
                    after[1] += text[end].isspace()
        default = self._spaced
        self.spacing = {
            mark: "".join(
                (flag if 2 * spaced > seen else "") if seen else (flag if flag in default(mark) else "")
                for flag, (seen, spaced) in zip("ba", sides, strict=True)
            )
            for mark, sides in counts.items()
        }
        return self

    def _spaced(self, mark: str) -> str:
        if mark in self.spacing:
            return self.spacing[mark]
        return "a" if mark in self.CLOSING else "b" if mark in self.OPENING else "ba"

    def detokenize(self, tokens: list[str]) -> str:
        pieces: list[str] = []
        for previous, token in zip([None, *tokens], tokens, strict=False):
            if previous is not None and not self._glued(previous, token):
                pieces.append(" ")
            pieces.append(token)
        return "".join(pieces)

    def _glued(self, previous: str, token: str) -> bool:
        """Whether `token` follows `previous` without a space."""
        if is_ideograph(previous) and is_ideograph(token):
            return True
        if not is_word(token) and "b" not in self._spaced(token):
            return True
        return not is_word(previous) and "a" not in self._spaced(previous)


def is_ideograph(token: str) -> bool:
    """One Chinese character (a token of its own, see `IDEOGRAPHS`)."""
    return len(token) == 1 and IDEOGRAPH.fullmatch(token) is not None


def is_word(token: str) -> bool:
    """A word (or a special token such as `<unk>`), not one punctuation mark."""
    return len(token) != 1 or token.isalnum() or token == "_"


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


def build_tokenizer(name: str, lowercase: bool, **learned: object) -> Tokenizer:
    """The tokenizer called `name` ("char", "word" or "whitespace"); `learned` is what its `fit`
    learned, as `to_dict` wrote it."""
    if name not in TOKENIZERS:
        raise InputError(f"tokenizer must be one of {sorted(TOKENIZERS)}, got {name!r}")
    return TOKENIZERS[name](lowercase=lowercase, **learned)
