"""Words with their characters and casing: the input layout of character-aware taggers.

A tagger that reads only word ids sees every word it never met in training as `<unk>`, and in
new text (tweets, names, another domain) that is a large share of the words that matter. Reading
each word's characters and its casing as well (Lample et al. 2016; Ma & Hovy 2016; the casing
classes of Reimers & Gurevych 2017) lets a model tag those words from their form.

Layout of one sentence of T words: int64 (T, 2 + max_chars), per word its id in the word
vocabulary, its casing class (`CASINGS`, 0 pads), then the ids of its first `max_chars`
characters in the character vocabulary, 0-padded.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np

from seqnet.data.vocab import Vocabulary

CASINGS = ("<pad>", "numeric", "mostly_numeric", "lower", "upper", "title", "has_digit", "other")
WORD_COLUMNS = 2  # word id and casing class come before the characters
DEFAULT_MAX_CHARS = 20


def casing(word: str) -> int:
    """The casing class of a word, an index into `CASINGS` (never 0)."""
    digits = sum(c.isdigit() for c in word)
    if word.isdigit():
        return CASINGS.index("numeric")
    if digits / max(len(word), 1) > 0.5:
        return CASINGS.index("mostly_numeric")
    if word.islower():
        return CASINGS.index("lower")
    if word.isupper():
        return CASINGS.index("upper")
    if word[:1].isupper():
        return CASINGS.index("title")
    if digits:
        return CASINGS.index("has_digit")
    return CASINGS.index("other")


def char_vocabulary(sentences: Iterable[Sequence[str]]) -> Vocabulary:
    """Every character of the words of `sentences` (the training split), by frequency."""
    return Vocabulary.build(list(word) for sentence in sentences for word in sentence)


def encode_words(
    words: Sequence[str],
    vocab: Vocabulary,
    chars: Vocabulary,
    max_chars: int,
    forms: Sequence[str] | None = None,
) -> np.ndarray:
    """One sentence in the layout of the module doc: (T, 2 + max_chars) int64.

    words: the words as the word vocabulary knows them (lower-cased, say); forms: as written, for
    the casing and the characters (None: `words`).
    """
    forms = words if forms is None else forms
    rows = np.zeros((len(words), WORD_COLUMNS + max_chars), dtype=np.int64)  # (T, 2 + L)
    rows[:, 0] = vocab.encode(words)
    for t, form in enumerate(forms):
        rows[t, 1] = casing(form)
        ids = chars.encode(list(form[:max_chars]))
        rows[t, WORD_COLUMNS : WORD_COLUMNS + len(ids)] = ids
    return rows
