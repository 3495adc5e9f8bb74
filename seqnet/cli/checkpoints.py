"""Loading a task from a checkpoint file alone (the class named in its seqnet metadata)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from hydra.utils import get_class

from seqnet.errors import InputError
from seqnet.tasks import SequenceModule
from seqnet.tasks.base import all_tasks


def read_checkpoint_metadata(path: str | Path) -> dict[str, Any]:
    """The "seqnet" entry of a checkpoint: format version, task class and training config."""
    path = Path(path)
    if path.is_dir():
        inside = path / "checkpoints" / "best.ckpt"
        hint = f"ckpt_path={inside}" if inside.is_file() else "ckpt_path=<run>/checkpoints/best.ckpt"
        raise InputError(f"checkpoint {path} is a directory; pass a checkpoint file: {hint}")
    if not path.is_file():
        raise FileNotFoundError(
            f"checkpoint {path} does not exist; pass ckpt_path=<run>/checkpoints/best.ckpt"
        )
    try:  # mmap: only the small metadata entry is read here; the task loads the weights once
        checkpoint = torch.load(path, map_location="cpu", weights_only=True, mmap=True)
    except Exception as error:  # torch raises a different type for each way a file is not one
        raise InputError(
            f"{path} is not a readable checkpoint ({type(error).__name__}: {str(error)[:120]}); it is "
            "truncated, corrupt or another kind of file: pass a .ckpt that seqnet-train wrote"
        ) from None
    meta = checkpoint.get("seqnet") if isinstance(checkpoint, dict) else None
    if not meta or "task" not in meta:
        raise InputError(f"{path} was not written by seqnet-train (no 'seqnet' metadata)")
    return meta


def load_task(
    path: str | Path, expected: tuple[type, ...] = (SequenceModule,), program: str = "", capability: str = ""
) -> SequenceModule:
    """The task stored in `path`, in eval mode; refuse one that is not an `expected` kind, or that
    lacks `capability` (one of `SequenceModule.CAPABILITIES`, e.g. "predict")."""
    task_class = get_class(read_checkpoint_metadata(path)["task"])
    if capability and capability not in task_class.CAPABILITIES:
        able = sorted({t.__name__ for t in all_tasks() if capability in t.CAPABILITIES})
        raise InputError(
            f"{path} holds a {task_class.__name__} model, but {program or 'this command'} needs a "
            f"model that can {capability}: {' or '.join(able)}"
        )
    if not issubclass(task_class, expected):
        wanted = " or ".join(cls.__name__ for cls in expected)
        raise InputError(
            f"{path} holds a {task_class.__name__} model, but {program or 'this command'} needs a "
            f"{wanted} checkpoint"
        )
    return task_class.load_from_checkpoint(path, map_location="cpu")
