"""Labelled text from your own files: one `label<TAB>text` example per line (TSV).

    great	The soup was excellent and the service quick.
    other	Cold fries again.

Lines starting with `#` and blank lines are skipped. The vocabulary is built on the training file
only (`min_freq`, `max_size`); words of the other splits that it lacks become `<unk>`.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from seqnet.data.sources.base import SequenceExample, SequenceSplits, split_paths, token_fields
from seqnet.data.tokenizers import CharTokenizer, WordTokenizer, build_tokenizer
from seqnet.data.vocab import Vocabulary


class LabelledTextSource:
    """Many-to-one text classification from TSV files.

    Args:
        train_path / test_path: TSV files of `label<TAB>text` lines; `val_path` optional (else
            validation is held out of train by the DataModule).
        tokenizer: "word" or "char".
        lowercase: lower-case the text before tokenizing.
        min_freq / max_size: vocabulary limits (see `Vocabulary.build`).
    """

    def __init__(
        self,
        train_path: str | Path,
        test_path: str | Path,
        val_path: str | Path | None = None,
        tokenizer: str = "word",
        lowercase: bool = True,
        min_freq: int = 1,
        max_size: int | None = None,
        name: str | None = None,
    ) -> None:
        self.paths = split_paths(train_path, test_path, val_path)
        self.tokenizer = build_tokenizer(tokenizer, lowercase)
        self.min_freq = min_freq
        self.max_size = max_size
        self.name = name or self.paths["train"].stem

    def load(self) -> SequenceSplits:
        rows = {split: read_labelled_tsv(path) for split, path in self.paths.items()}
        return labelled_text_splits(self.name, rows, self.tokenizer, self.min_freq, self.max_size)


def labelled_text_splits(
    name: str,
    rows: dict[str, list[tuple[str, str]]],
    tokenizer: CharTokenizer | WordTokenizer,
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


def read_labelled_tsv(path: Path) -> list[tuple[str, str]]:
    """`label<TAB>text` lines -> [(label, text)]; a malformed line names the file and line."""
    if not path.is_file():
        raise FileNotFoundError(f"labelled text file {path} does not exist")
    rows = []
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            line = line.rstrip("\n")
            if not line.strip() or line.startswith("#"):
                continue
            label, tab, text = line.partition("\t")
            if not tab or not label.strip():
                raise ValueError(
                    f"{path}:{number}: expected 'label<TAB>text', got {line[:60]!r}; separate the "
                    "label from the text with one tab character"
                )
            rows.append((label.strip(), text))
    if not rows:
        raise ValueError(f"{path} holds no examples")
    return rows
