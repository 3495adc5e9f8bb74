import subprocess
from pathlib import Path

import pytest

from tests.commands import run_cli


@pytest.fixture
def cli(tmp_path):
    def call(program: str, *args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
        return run_cli(program, *args, cwd=cwd or tmp_path)

    return call


@pytest.fixture
def user_files(tmp_path):
    """Small files of every kind the user-file data configs read (`USER_FILES` in test_data_configs)."""
    files = {
        "tsv": "great\tgood soup\nother\tcold fries\ngreat\tfine\nother\tmeh\n" * 5,
        "conll": "the DET\ncat NOUN\n\nit PRON\nsat VERB\n\n" * 5,
        "pairs": "hello\tHH AH0 L OW1\nworld\tW ER1 L D\n" * 5,
        "corpus.txt": "To be, or not to be, that is the question.\n" * 10,
        "series": "date,load,temp,label\n"
        + "".join(f"{i},{i % 7},{i % 5},{int(i == 170)}\n" for i in range(200)),
    }
    paths = {}
    for name, text in files.items():
        path = tmp_path / name
        path.write_text(text)
        paths[name.split(".")[0]] = path
    return paths
