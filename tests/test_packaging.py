"""The wheel ships the Hydra configs, so the console scripts work outside a source checkout."""

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest


@pytest.mark.slow
def test_wheel_ships_configs_and_trains_from_any_directory(tmp_path):
    root = Path(__file__).resolve().parents[1]
    build = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", str(root), "-w", str(tmp_path / "dist")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert build.returncode == 0, build.stderr[-2000:]
    (wheel,) = (tmp_path / "dist").glob("seqnet-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        archive.extractall(tmp_path / "site")
    assert {"seqnet/configs/train.yaml", "seqnet/configs/model/encoder/lstm.yaml", "seqnet/py.typed"} <= names
    script = (
        "import sys; from seqnet.cli import config_dir;"
        f"assert config_dir.CONFIG_DIR.is_relative_to({str(tmp_path / 'site')!r}), config_dir.CONFIG_DIR;"
        f"sys.argv = ['seqnet-train', 'debug=fast', 'hydra.run.dir={tmp_path / 'run'}'];"
        "from seqnet.cli.train import main; main()"
    )
    env = {"PYTHONPATH": str(tmp_path / "site"), "PATH": "/usr/bin:/bin"}
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=tmp_path, env=env, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert (tmp_path / "run" / "metrics.json").is_file()
