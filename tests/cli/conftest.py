import subprocess
from pathlib import Path

import pytest

from tests.commands import run_cli


@pytest.fixture
def cli(tmp_path):
    def call(program: str, *args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
        return run_cli(program, *args, cwd=cwd or tmp_path)

    return call
