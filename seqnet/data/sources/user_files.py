"""What the sources of your own files share: one file per split, and the two-column TSV format."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import numpy as np

from seqnet.data.splits import held_out
from seqnet.data.text_files import read_lines
from seqnet.errors import InputError

log = logging.getLogger(__name__)
T = TypeVar("T")


class UserFilesSource:
    """Base of the sources that read your own files.

    Args:
        train_path: the training file.
        test_path: the test file; None holds out `test_fraction` of the training file's examples
            (seeded by `seed`, before any vocabulary is built) and says so in the log.
        val_path: optional (else the DataModule holds validation out of train).
        min_freq / max_size: vocabulary limits (training split only).
        name: the data set's name (default: the training file's stem).
        comment_prefix: lines starting with it are comments, skipped and counted (None: no line
            is a comment; a tweet's `#hashtag` is data).
    """

    def __init__(
        self,
        train_path: str | Path,
        test_path: str | Path | None = None,
        val_path: str | Path | None = None,
        min_freq: int = 1,
        max_size: int | None = None,
        name: str | None = None,
        comment_prefix: str | None = None,
        test_fraction: float = 0.2,
        seed: int = 0,
    ) -> None:
        if not 0.0 < test_fraction < 1.0:
            raise InputError(f"test_fraction must be between 0 and 1, got {test_fraction}")
        self.paths = {"train": Path(train_path)}
        if test_path:
            self.paths["test"] = Path(test_path)
        if val_path:
            self.paths["val"] = Path(val_path)
        self.min_freq = min_freq
        self.max_size = max_size
        self.name = name or self.paths["train"].stem
        self.comment_prefix = comment_prefix
        self.test_fraction, self.seed = test_fraction, seed

    def read_splits(self, read: Callable[[Path], list[T]]) -> tuple[dict[str, list[T]], dict[str, Path]]:
        """Each split's examples as `read` gives them from its file, and the file each split came
        from. Without a test file, a seeded `test_fraction` of the training file is the test split."""
        rows = {split: read(path) for split, path in self.paths.items()}
        files = dict(self.paths)
        if "test" not in rows:
            train = self.paths["train"]
            if len(rows["train"]) < 2:
                raise InputError(
                    f"{train} holds one example: give a test file too (data.source.test_path=...)"
                )
            rows["train"], rows["test"] = held_out(
                rows["train"], self.test_fraction, np.random.default_rng(self.seed)
            )
            files["test"] = train
            total = len(rows["test"]) + len(rows["train"])
            log.info(
                "no test file (data.source.test_path): %d of the %d examples of %s are the test split "
                "(data.source.test_fraction=%g, seed %d)",
                len(rows["test"]), total, train, self.test_fraction, self.seed,
            )  # fmt: skip
        return rows, files


def read_tsv_pairs(
    path: Path, first: str, second: str, second_required: bool = True, comment_prefix: str | None = None
) -> list[tuple[str, str, int]]:
    """`first<TAB>second` lines -> [(first, second, line number)]; blank lines are skipped, and so are lines
    starting with `comment_prefix` (None: no line is a comment), counted in a logged warning.

    The first field is stripped and must not be empty; so must the second when `second_required`.
    A malformed line is an error naming the file, the line and the expected form.
    """
    rows = []
    comments = 0
    for number, line in enumerate(read_lines(path, f"{first}/{second} file"), start=1):
        if not line.strip():
            continue
        if comment_prefix and line.startswith(comment_prefix):
            comments += 1
            continue
        head, tab, tail = line.partition("\t")
        if not tab or not head.strip() or (second_required and not tail.strip()):
            hint = "" if comment_prefix else " (a comment line? set comment_prefix, e.g. '#')"
            raise InputError(
                f"{path}:{number}: expected '{first}<TAB>{second}', got {line[:60]!r}; separate "
                f"the {first} from the {second} with one tab character{hint}"
            )
        if "\t" in tail:
            raise InputError(
                f"{path}:{number}: {line.count(chr(9)) + 1} tab-separated columns where "
                f"'{first}<TAB>{second}' has 2: {line[:60]!r}; remove the extra column (or the tab "
                f"inside the {second})"
            )
        rows.append((head.strip(), tail, number))
    if comments:
        log.warning("%s: skipped %d comment line(s) starting with %r", path, comments, comment_prefix)
    if not rows:
        raise InputError(f"{path} holds no examples")
    return rows
