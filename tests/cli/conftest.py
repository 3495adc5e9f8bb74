import os
import subprocess
import sys
from pathlib import Path

import pytest


def run_cli(program: str, *args: str, cwd: Path, timeout: int = 600) -> subprocess.CompletedProcess:
    """Run a console script of this environment, as a user would."""
    executable = Path(sys.executable).parent / program
    env = {**os.environ, "SEQNET_LOG_DIR": str(cwd / "logs"), "PYTHONWARNINGS": "ignore"}
    return subprocess.run(
        [str(executable), *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


@pytest.fixture
def cli(tmp_path):
    def call(program: str, *args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
        return run_cli(program, *args, cwd=cwd or tmp_path)

    return call
