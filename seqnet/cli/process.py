"""Process-wide settings (threads, CPU numerics) that every console script applies first."""

from __future__ import annotations

import os
import sys
import time

from omegaconf import DictConfig

from seqnet.cli.overrides import OverrideError

WAIT_POLICIES = ("PASSIVE", "ACTIVE")
# `auto`: idle OpenMP threads sleep (PASSIVE) when other work keeps at least this many of this
# process's cores busy as the run starts; on a quiet machine OpenMP's default (spin a while, then
# sleep) is up to 1.6x faster, beside a busy process PASSIVE is 2.2-2.5x (`bench.py threads`).
# Then torch also runs one intra-op thread per core the other work leaves free: beside one busy
# process on 2 cores, one thread took 0.71-0.84x PASSIVE's time with two on 2026-12-07 and
# 0.70-0.88x on 2026-12-08 (`bench.py threads`: the medians of `one_thread` over `passive` in the
# busy rows of benchmarks/bench_threads.json and its git history).
BUSY_CORES = 0.5
SAMPLE_SECONDS = 0.1
# What `apply_process_settings` chose and why, for the run's environment.json.
CHOSEN: dict[str, str | None] = {}


def apply_process_settings(cfg: DictConfig) -> None:
    """Apply `cfg.process` (configs/process/default.yaml).

    The OpenMP wait policy is read once, when torch loads its OpenMP runtime, so it is set in the
    environment before torch is imported; the console scripts call this before importing it. In a
    process that imported torch already it only reaches child processes (DataLoader workers).
    Denormal floats (which appear once losses get tiny) make CPU kernels up to 20x slower; flushing
    them to zero changes no result at float32 precision that matters.
    """
    settings = cfg.get("process") or {}
    policy, threads = settings.get("omp_wait_policy"), settings.get("num_threads")
    reason = "set" if policy else "left to OpenMP"
    if policy and str(policy).lower() == "auto":
        policy, free, reason = thread_settings_for_this_run()
        threads = threads or free  # an explicit process.num_threads wins
    if policy:
        if str(policy).upper() not in WAIT_POLICIES:
            raise OverrideError(
                f"process.omp_wait_policy={policy!r} is not an OpenMP wait policy; use auto (the "
                "default: PASSIVE when other work holds the cores, else OpenMP's own), PASSIVE "
                "(idle threads sleep), ACTIVE (they spin) or null (leave it to OpenMP)"
            )
        if "torch" not in sys.modules:
            os.environ["OMP_WAIT_POLICY"] = str(policy).upper()
    CHOSEN.update(omp_wait_policy=str(policy).upper() if policy else None, omp_wait_policy_reason=reason)
    import torch

    torch.set_flush_denormal(bool(settings.get("flush_denormal", True)))
    if threads:
        torch.set_num_threads(int(threads))
    check_accelerator(str((cfg.get("trainer") or {}).get("accelerator", "cpu")))


def thread_settings_for_this_run() -> tuple[str | None, int | None, str]:
    """`process.omp_wait_policy=auto`: when other work already keeps `BUSY_CORES` of the cores
    this process may use busy, PASSIVE and one intra-op thread per core it leaves free (None where
    that is every core); else OpenMP's default and torch's threads (None, None). And the reason,
    in words."""
    busy, cores = busy_cores()
    if busy < BUSY_CORES:
        return None, None, f"auto: {busy:.2f} of {cores} cores busy with other work at start (quiet)"
    free = max(1, int(cores - busy + 0.5))  # the cores left free, rounded, at least one
    reason = f"auto: {busy:.2f} of {cores} cores busy with other work at start"
    if free == cores:
        return "PASSIVE", None, reason
    return "PASSIVE", free, f"{reason}; {free} intra-op thread(s)"


def busy_cores(seconds: float = SAMPLE_SECONDS) -> tuple[float, int]:
    """How many of the cores this process may run on were busy over `seconds` (while it sleeps,
    so the work is another's), and how many cores it may run on. Linux reads /proc/stat; other
    systems fall back to the one-minute load average."""
    allowed = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []
    cores = len(allowed) or os.cpu_count() or 1
    try:
        before = _cpu_times(allowed)
        time.sleep(seconds)
        after = _cpu_times(allowed)
    except OSError:
        return min(float(cores), os.getloadavg()[0]) if hasattr(os, "getloadavg") else 0.0, cores
    busy = 0.0
    for cpu, (idle, total) in after.items():
        idle_then, total_then = before.get(cpu, (idle, total))
        if total > total_then:
            busy += 1 - (idle - idle_then) / (total - total_then)
    return busy, cores


def _cpu_times(allowed: list[int]) -> dict[int, tuple[int, int]]:
    """(idle + iowait, total) jiffies of each allowed CPU, from /proc/stat."""
    times = {}
    with open("/proc/stat", encoding="ascii") as stat:
        for line in stat:
            name, *fields = line.split()
            if not name.startswith("cpu") or name == "cpu":
                continue
            cpu = int(name[3:])
            if allowed and cpu not in allowed:
                continue
            values = [int(v) for v in fields[:8]]
            times[cpu] = (values[3] + values[4], sum(values))
    return times


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
