"""Labelled text from your own files: one `label<TAB>text` example per line (TSV).

    great	The soup was excellent and the service quick.
    other	Cold fries again.

Blank lines are skipped, and so are comment lines when `comment_prefix` is set (e.g. `"#"`). The
vocabulary is built on the training file only (`min_freq`, `max_size`); words of the other splits
that it lacks become `<unk>`.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from seqnet.data.sources.base import SequenceExample, SequenceSplits, mark_origins, token_fields
from seqnet.data.sources.user_files import UserFilesSource, read_tsv_pairs
from seqnet.data.tokenizers import Tokenizer, build_tokenizer
from seqnet.data.vocab import Vocabulary


class LabelledTextSource(UserFilesSource):
    """Many-to-one text classification from TSV files.

    Args:
        train_path / test_path / val_path: TSV files of `label<TAB>text` lines (test and val
            optional: see `UserFilesSource`).
        tokenizer: "word" or "char".
        lowercase: lower-case the text before tokenizing.
        min_freq / max_size: vocabulary limits (see `Vocabulary.build`).
        comment_prefix: lines starting with it are skipped and counted (None: none are).
    """

    def __init__(
        self,
        train_path: str | Path,
        test_path: str | Path | None = None,
        val_path: str | Path | None = None,
        tokenizer: str = "word",
        lowercase: bool = True,
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
        self.tokenizer = build_tokenizer(tokenizer, lowercase)

    def load(self) -> SequenceSplits:
        rows, files = self.read_splits(
            lambda path: read_tsv_pairs(path, "label", "text", False, self.comment_prefix)
        )
        pairs = {split: [(label, text) for label, text, _ in part] for split, part in rows.items()}
        splits = labelled_text_splits(self.name, pairs, self.tokenizer, self.min_freq, self.max_size)
        origins = {split: [f"{files[split]}:{line}" for *_, line in part] for split, part in rows.items()}
        return mark_origins(splits, origins)


def labelled_text_splits(
    name: str,
    rows: dict[str, list[tuple[str, str]]],
    tokenizer: Tokenizer,
    min_freq: int = 1,
    max_size: int | None = None,
    class_names: list[str] | None = None,
) -> SequenceSplits:
    """(label, text) rows per split ("train", "test", optionally "val") -> token-id examples, with
    the vocabulary built on the training rows only."""
    tokens = {
        split: [(label, tokenizer.tokenize(text)) for label, text in lines] for split, lines in rows.items()
    }
    vocab = Vocabulary.build([t for _, t in tokens["train"]], min_freq, max_size)

    examples = {
        split: [SequenceExample(np.array(vocab.encode(t), dtype=np.int64), label) for label, t in part]
        for split, part in tokens.items()
    }
    return SequenceSplits.from_parts(
        name, examples, class_names=class_names, tokenizer=tokenizer.to_dict(), **token_fields(vocab)
    )
