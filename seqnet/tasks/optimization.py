"""Optimizers and LR schedulers from plain `_target_` dicts (what Hydra configs hold), without Hydra.

    {"_target_": "torch.optim.AdamW", "lr": 1e-3}                      # optimizer
    {"_target_": "torch.optim.lr_scheduler.StepLR", "step_size": 10,
     "interval": "epoch", "frequency": 1}                               # scheduler + Lightning keys

The classes are resolved when the task is built, so a misspelt one fails before training starts.
"""

from __future__ import annotations

from typing import Any

import torch

from seqnet.errors import InputError
from seqnet.nn.importing import import_object

LIGHTNING_SCHEDULER_KEYS = ("interval", "frequency")


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
    options = {k: v for k, v in config.items() if k not in ("_target_", "_partial_")}
    return resolve_target(config, "optimizer")(params, **options)


def build_scheduler(config: dict[str, Any], optimizer: torch.optim.Optimizer, monitor: str) -> dict[str, Any]:
    """The `lr_scheduler` entry Lightning expects: the scheduler plus interval/frequency/monitor."""
    lightning_keys = {k: config[k] for k in LIGHTNING_SCHEDULER_KEYS if k in config}
    options = {
        k: v for k, v in config.items() if k not in ("_target_", "_partial_", *LIGHTNING_SCHEDULER_KEYS)
    }
    scheduler = resolve_target(config, "scheduler")(optimizer, **options)
    return {"scheduler": scheduler, "monitor": monitor, **lightning_keys}
