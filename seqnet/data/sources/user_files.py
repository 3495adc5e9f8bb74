"""What the sources of your own files share: one file per split, and the two-column TSV format."""

from __future__ import annotations

from pathlib import Path


class UserFilesSource:
    """Base of the sources that read your own files.

    Args:
        train_path / test_path: the files of the two splits; `val_path` optional (else the
            DataModule holds validation out of train).
        min_freq / max_size: vocabulary limits (training split only).
        name: the data set's name (default: the training file's stem).
    """

    def __init__(
        self,
        train_path: str | Path,
        test_path: str | Path,
        val_path: str | Path | None = None,
        min_freq: int = 1,
        max_size: int | None = None,
        name: str | None = None,
    ) -> None:
        self.paths = {"train": Path(train_path), "test": Path(test_path)}
        if val_path:
            self.paths["val"] = Path(val_path)
        self.min_freq = min_freq
        self.max_size = max_size
        self.name = name or self.paths["train"].stem


def read_tsv_pairs(
    path: Path, first: str, second: str, second_required: bool = True
) -> list[tuple[str, str]]:
    """`first<TAB>second` lines -> [(first, second)], `#` lines and blank lines skipped.

    The first field is stripped and must not be empty; so must the second when `second_required`.
    A malformed line is an error naming the file, the line and the expected form.
    """
    if not path.is_file():
        raise FileNotFoundError(f"{first}/{second} file {path} does not exist")
    rows = []
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            line = line.rstrip("\n")
            if not line.strip() or line.startswith("#"):
                continue
            head, tab, tail = line.partition("\t")
            if not tab or not head.strip() or (second_required and not tail.strip()):
                raise ValueError(
                    f"{path}:{number}: expected '{first}<TAB>{second}', got {line[:60]!r}; separate "
                    f"the {first} from the {second} with one tab character"
                )
            rows.append((head.strip(), tail))
    if not rows:
        raise ValueError(f"{path} holds no examples")
    return rows
