"""Process-wide settings (threads, CPU numerics) that every console script applies first."""

from __future__ import annotations

import os
import sys

from omegaconf import DictConfig

from seqnet.cli.overrides import OverrideError

WAIT_POLICIES = ("PASSIVE", "ACTIVE")


def apply_process_settings(cfg: DictConfig) -> None:
    """Apply `cfg.process` (configs/process/default.yaml).

    The OpenMP wait policy is read once, when torch loads its OpenMP runtime, so it is set in the
    environment before torch is imported; the console scripts call this before importing it. In a
    process that imported torch already it only reaches child processes (DataLoader workers).
    Denormal floats (which appear once losses get tiny) make CPU kernels up to 20x slower; flushing
    them to zero changes no result at float32 precision that matters.
    """
    settings = cfg.get("process") or {}
    policy = settings.get("omp_wait_policy")
    if policy:
        if str(policy).upper() not in WAIT_POLICIES:
            raise OverrideError(
                f"process.omp_wait_policy={policy!r} is not an OpenMP wait policy; use PASSIVE "
                "(idle threads sleep: the default), ACTIVE (they spin) or null (leave it to OpenMP)"
            )
        if "torch" not in sys.modules:
            os.environ["OMP_WAIT_POLICY"] = str(policy).upper()
    import torch

    torch.set_flush_denormal(bool(settings.get("flush_denormal", True)))
    if settings.get("num_threads"):
        torch.set_num_threads(int(settings.num_threads))
    check_accelerator(str((cfg.get("trainer") or {}).get("accelerator", "cpu")))


def check_accelerator(accelerator: str) -> None:
    """Refuse a GPU trainer on a machine where torch sees no GPU, before any data is loaded."""
    import torch

    if accelerator in ("gpu", "cuda") and not (
        torch.cuda.is_available() or torch.backends.mps.is_available()
    ):
        build = "a CPU-only build" if torch.version.cuda is None else f"built for CUDA {torch.version.cuda}"
        raise OverrideError(
            f"trainer.accelerator={accelerator} needs a GPU, but torch {torch.__version__} ({build}) sees "
            "none here (torch.cuda.is_available() is False); use trainer=cpu, or install a CUDA build "
            "of torch on a machine with a GPU"
        )
    if accelerator == "mps" and not torch.backends.mps.is_available():
        raise OverrideError("trainer.accelerator=mps needs Apple silicon with MPS; use trainer=cpu")
