"""Reading a user's text files: UTF-8 text and its lines, with errors that name the file, the line
and the fix."""

from __future__ import annotations

import io
from pathlib import Path

from seqnet.errors import InputError


def read_text(path: str | Path, what: str = "text file") -> str:
    """A UTF-8 file's text (a leading byte-order mark dropped).

    Raises:
        FileNotFoundError: the path is missing or a directory, naming `what` it should be.
        ValueError: bytes that are not UTF-8, naming the file, the line and the byte offset.
    """
    path = Path(path)
    if not path.is_file():
        problem = "is a directory, not a file" if path.is_dir() else "does not exist"
        raise FileNotFoundError(f"{what} {path} {problem}")
    data = path.read_bytes()
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        offset = error.start + (3 if data.startswith(b"\xef\xbb\xbf") else 0)
        line = data.count(b"\n", 0, offset) + 1
        raise InputError(
            f"{path}:{line}: not UTF-8 text (byte {offset} is {data[offset : offset + 1]!r}); save the "
            f"file as UTF-8, e.g. iconv -f latin1 -t utf-8 {path.name} > {path.stem}.utf8{path.suffix}"
        ) from None


def read_lines(path: str | Path, what: str = "text file") -> list[str]:
    """A UTF-8 file's lines without their line ends (`\\n`, `\\r\\n` or `\\r`), numbered from 1 as
    an editor numbers them; errors as `read_text`."""
    return [line.rstrip("\n") for line in io.StringIO(read_text(path, what), newline=None)]
