"""What the sources of your own files share: one file per split, and the two-column TSV format."""

from __future__ import annotations

import logging
from pathlib import Path

from seqnet.data.text_files import read_lines
from seqnet.errors import InputError

log = logging.getLogger(__name__)


class UserFilesSource:
    """Base of the sources that read your own files.

    Args:
        train_path / test_path: the files of the two splits; `val_path` optional (else the
            DataModule holds validation out of train).
        min_freq / max_size: vocabulary limits (training split only).
        name: the data set's name (default: the training file's stem).
        comment_prefix: lines starting with it are comments, skipped and counted (None: no line
            is a comment; a tweet's `#hashtag` is data).
    """

    def __init__(
        self,
        train_path: str | Path,
        test_path: str | Path,
        val_path: str | Path | None = None,
        min_freq: int = 1,
        max_size: int | None = None,
        name: str | None = None,
        comment_prefix: str | None = None,
    ) -> None:
        self.paths = {"train": Path(train_path), "test": Path(test_path)}
        if val_path:
            self.paths["val"] = Path(val_path)
        self.min_freq = min_freq
        self.max_size = max_size
        self.name = name or self.paths["train"].stem
        self.comment_prefix = comment_prefix


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
        rows.append((head.strip(), tail, number))
    if comments:
        log.warning("%s: skipped %d comment line(s) starting with %r", path, comments, comment_prefix)
    if not rows:
        raise InputError(f"{path} holds no examples")
    return rows
