import hashlib
import zipfile

import pytest

from seqnet.data.download import download_and_extract


def test_checksum_is_enforced_when_given(tmp_path):
    archive = tmp_path / "a.zip"
    with zipfile.ZipFile(archive, "w") as zipped:
        zipped.writestr("x.txt", "hello")
    digest = hashlib.sha256(archive.read_bytes()).hexdigest()
    with pytest.raises(OSError, match="does not match the expected"):
        download_and_extract(f"file://{archive}", tmp_path / "bad", sha256="0" * 64)
    assert not (tmp_path / "bad" / ".complete").exists()
    folder = download_and_extract(f"file://{archive}", tmp_path / "good", sha256=digest)
    assert (folder / "x.txt").read_text() == "hello"
