"""What the benchmark scripts beside this one write: a JSON file with the machine it ran on."""

from __future__ import annotations

import json
import os
import platform
from datetime import date
from pathlib import Path
from typing import Any

import torch


def environment() -> dict[str, Any]:
    """The date, machine, torch, intra-op threads and OpenMP wait policy a figure was taken with."""
    return {
        "date": date.today().isoformat(),
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs",
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "omp_wait_policy": os.environ.get("OMP_WAIT_POLICY", "default"),
    }


def write_benchmark(path: str | Path, case: str, rows: list[dict], **details: Any) -> None:
    """`{"case", "environment", **details, "rows"}` as JSON at `path` (folders made)."""
    result = {"case": case, "environment": environment(), **details, "rows": rows}
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_text(json.dumps(result, indent=2) + "\n")
