"""Download-once cache for users with internet (tests use local `file://` URLs, never the network)."""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import urllib.request
import zipfile
from pathlib import Path

log = logging.getLogger(__name__)


def cache_root() -> Path:
    """`$SEQNET_CACHE_DIR`, else `~/.cache/seqnet`."""
    return Path(os.environ.get("SEQNET_CACHE_DIR", "~/.cache/seqnet")).expanduser()


def download_file(url: str, path: Path, sha256: str | None = None, by_hand: str | None = None) -> Path:
    """Fetch `url` to `path` once (a file already there is reused); return `path`.

    The download lands in `path.part` and is renamed when complete, so an interrupted one never
    counts. `sha256` is checked when given (only pass one the source publishes, or one recorded
    from a file you hold). `by_hand` tells a user without internet what to do instead.
    """
    if path.is_file():
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    part = path.with_name(path.name + ".part")
    log.info("downloading %s to %s", url, path)
    try:
        with urllib.request.urlopen(url, timeout=60) as response, part.open("wb") as out:
            shutil.copyfileobj(response, out)
    except OSError as error:
        part.unlink(missing_ok=True)
        raise OSError(
            f"could not download {url} ({error}); without internet, download it elsewhere and "
            f"{by_hand or f'save it as {path}'}, or point the source at a local copy"
        ) from None
    if sha256 is not None:
        digest = hashlib.sha256(part.read_bytes()).hexdigest()
        if digest != sha256:
            part.unlink()
            raise OSError(f"{url}: sha256 {digest} does not match the expected {sha256}")
    part.rename(path)
    return path


def download_and_extract(url: str, folder: Path, sha256: str | None = None) -> Path:
    """Fetch the zip at `url` into `folder` once and unpack it there; return `folder`.

    A finished download leaves `folder/.complete`; an interrupted one leaves nothing that counts,
    so the next call starts over.
    """
    done = folder / ".complete"
    if done.is_file():
        return folder
    archive = download_file(url, folder / "download.zip", sha256, by_hand=f"unpack it into {folder}")
    try:
        with zipfile.ZipFile(archive) as zipped:
            zipped.extractall(folder)
    except zipfile.BadZipFile:
        raise OSError(f"{url} is not a zip archive") from None
    finally:
        archive.unlink(missing_ok=True)
    done.touch()
    return folder
