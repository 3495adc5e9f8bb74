"""What a run directory keeps besides checkpoints and TensorBoard events."""

from __future__ import annotations

import json
import os
import platform
import subprocess
from importlib import metadata
from pathlib import Path
from typing import Any

from seqnet.cli.process import CHOSEN

PACKAGES = (
    "seqnet",
    "torch",
    "lightning",
    "hydra-core",
    "omegaconf",
    "torchmetrics",
    "tensorboard",
    "numpy",
)


def write_run_record(run_dir: str | Path, config_yaml: str, metrics: dict[str, float]) -> None:
    """Write config_resolved.yaml, metrics.json and environment.json (versions, git commit)."""
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    (run_dir / "config_resolved.yaml").write_text(config_yaml)
    (run_dir / "metrics.json").write_text(json.dumps(metrics, indent=2, sort_keys=True) + "\n")
    (run_dir / "environment.json").write_text(json.dumps(environment(), indent=2) + "\n")


def environment() -> dict[str, Any]:
    """Python and package versions, threads, and the git commit of the seqnet source if any."""
    import torch

    versions = {}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return {
        "python": platform.python_version(),
        "packages": versions,
        "torch_threads": torch.get_num_threads(),
        "omp_wait_policy": os.environ.get("OMP_WAIT_POLICY"),
        "omp_wait_policy_reason": CHOSEN.get("omp_wait_policy_reason"),
        "git_commit": git_commit(),
    }


def git_commit() -> str | None:
    source = Path(__file__).resolve().parents[2]
    try:
        result = subprocess.run(
            ["git", "-C", str(source), "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
            timeout=10,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return result.stdout.strip() or None
