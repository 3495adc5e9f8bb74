"""Optimizers and LR schedulers from plain `_target_` dicts (what Hydra configs hold), without Hydra.

    {"_target_": "torch.optim.AdamW", "lr": 1e-3}                      # optimizer
    {"_target_": "torch.optim.lr_scheduler.StepLR", "step_size": 10,
     "interval": "epoch", "frequency": 1}                               # scheduler + Lightning keys

The classes are resolved when the task is built, so a misspelt one fails before training starts.
An optimizer torch has fused kernels for (Adam, AdamW, SGD, Adagrad) uses them unless the config
chooses an implementation (`fused`, `foreach`): on the CPU torch's default is a loop over the
parameter tensors (scripts/bench.py training_step times a step with each).
"""

from __future__ import annotations

import inspect
from typing import Any

import torch

from seqnet.errors import InputError
from seqnet.nn.importing import import_object

LIGHTNING_SCHEDULER_KEYS = ("interval", "frequency")
# Options that choose an optimizer's implementation (or that its fused kernels do not take).
IMPLEMENTATION_KEYS = ("fused", "foreach", "differentiable", "capturable")


def resolve_target(config: dict[str, Any], what: str) -> type:
    """The class that `config["_target_"]` names; a clear error when it is missing or unknown."""
    target = config.get("_target_")
    if not target or not isinstance(target, str):
        raise InputError(
            f"the {what} config needs a _target_ naming a class, e.g. torch.optim.AdamW; got {config}"
        )
    try:
        return import_object(target)
    except (ImportError, ValueError):  # ValueError: a relative path such as ".Adam"
        raise InputError(
            f"{what} class {target!r} cannot be imported; give a full import path such as "
            "torch.optim.AdamW or torch.optim.lr_scheduler.CosineAnnealingLR"
        ) from None


def build_optimizer(config: dict[str, Any], params: Any) -> torch.optim.Optimizer:
    """The optimizer `config` names over `params`: fused when torch has kernels for it and the
    parameters' device and dtype, and the config leaves the implementation open."""
    options = {k: v for k, v in config.items() if k not in ("_target_", "_partial_")}
    optimizer_class = resolve_target(config, "optimizer")
    params = list(params)
    takes_fused = "fused" in inspect.signature(optimizer_class.__init__).parameters
    if takes_fused and not any(key in options for key in IMPLEMENTATION_KEYS) and fusable(params):
        options["fused"] = True
    try:
        return optimizer_class(params, **options)
    except (ValueError, TypeError) as error:
        raise InputError(f"model.optimizer: {optimizer_class.__name__} refused {options}: {error}") from error


def fusable(params: list) -> bool:
    """Whether every parameter (of tensors or param-group dicts) is a plain floating-point tensor
    on the CPU or a CUDA device, where torch's fused optimizer kernels run (torch checks only at
    the first step; tensor subclasses such as FSDP's DTensors keep torch's default)."""
    tensors = [t for p in params for t in (p["params"] if isinstance(p, dict) else [p])]
    return all(
        type(t) in (torch.Tensor, torch.nn.Parameter)
        and t.is_floating_point()
        and t.device.type in ("cpu", "cuda")
        for t in tensors
    )


def build_scheduler(config: dict[str, Any], optimizer: torch.optim.Optimizer, monitor: str) -> dict[str, Any]:
    """The `lr_scheduler` entry Lightning expects: the scheduler plus interval/frequency/monitor."""
    lightning_keys = {k: config[k] for k in LIGHTNING_SCHEDULER_KEYS if k in config}
    options = {
        k: v for k, v in config.items() if k not in ("_target_", "_partial_", *LIGHTNING_SCHEDULER_KEYS)
    }
    scheduler_class = resolve_target(config, "scheduler")
    try:
        scheduler = scheduler_class(optimizer, **options)
    except (ValueError, TypeError) as error:
        raise InputError(f"model.scheduler: {scheduler_class.__name__} refused {options}: {error}") from error
    return {"scheduler": scheduler, "monitor": monitor, **lightning_keys}
