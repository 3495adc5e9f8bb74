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


def download_and_extract(url: str, folder: Path, sha256: str | None = None) -> Path:
    """Fetch the zip at `url` into `folder` once and unpack it there; return `folder`.

    A finished download leaves `folder/.complete`; an interrupted one leaves nothing that counts,
    so the next call starts over. `sha256` is checked when given (only pass one the source
    publishes, or one recorded from a file you hold).
    """
    done = folder / ".complete"
    if done.is_file():
        return folder
    folder.mkdir(parents=True, exist_ok=True)
    archive = folder / "download.zip.part"
    log.info("downloading %s to %s", url, folder)
    try:
        with urllib.request.urlopen(url, timeout=60) as response, archive.open("wb") as out:
            shutil.copyfileobj(response, out)
    except OSError as error:
        archive.unlink(missing_ok=True)
        raise OSError(
            f"could not download {url} ({error}); without internet, download it elsewhere and "
            f"unpack it into {folder}, or point data_dir at the files"
        ) from None
    if sha256 is not None:
        digest = hashlib.sha256(archive.read_bytes()).hexdigest()
        if digest != sha256:
            archive.unlink()
            raise OSError(f"{url}: sha256 {digest} does not match the expected {sha256}")
    try:
        with zipfile.ZipFile(archive) as zipped:
            zipped.extractall(folder)
    except zipfile.BadZipFile:
        raise OSError(f"{url} is not a zip archive") from None
    finally:
        archive.unlink(missing_ok=True)
    done.touch()
    return folder
