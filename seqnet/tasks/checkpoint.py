"""The checkpoint format of seqnet tasks: its version, and how older versions are read.

Version history:
1. First format: encoder layers under `encoder.rnns.<k>`, learned initial state as
   `encoder.initial_h/initial_c` (L, D, H), the many-to-one head as `classifier`.
2. Encoder layers from the cell registry (`encoder.layers.<k>.rnn`), one learned initial tensor
   per layer and state (`encoder.initial_states.<k>.<j>`), heads inside output objects (`output.head`).
3. Settings resolved inside a task's `__init__` (the encoder with the task's default filled in, a
   seq2seq decoder) are recorded in `hyper_parameters`, so a later change of default cannot change
   a saved model. Formats 1-2 recorded only what the run gave; loading one fills in the defaults of
   its day (`SequenceModule.unrecorded_defaults`) before the task is built.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import IO, Any

import torch
from lightning.fabric.utilities.cloud_io import get_filesystem

from seqnet.errors import InputError

CHECKPOINT_FORMAT_VERSION = 3
FORMAT_2_ENCODER = {"cell": "lstm", "hidden_size": 128, "bidirectional": False}  # all tasks, formats 1-2


def format_version(checkpoint: dict[str, Any]) -> int:
    """The format a checkpoint was written in; refuse one seqnet did not write or cannot read."""
    version = checkpoint.get("seqnet", {}).get("format_version")
    if version is None:
        raise InputError("this checkpoint was not written by a seqnet task (no format version)")
    if version > CHECKPOINT_FORMAT_VERSION:
        raise InputError(
            f"checkpoint format {version} is newer than this seqnet's "
            f"({CHECKPOINT_FORMAT_VERSION}); upgrade seqnet to load it"
        )
    return version


def check_and_upgrade(checkpoint: dict[str, Any], task: type) -> None:
    """Refuse checkpoints seqnet cannot read; rewrite older formats in place to the current one
    (`task`, the class being loaded, names the defaults an older checkpoint was trained under)."""
    version = format_version(checkpoint)
    if version == 1:
        _upgrade_from_1(checkpoint)
    if version < 3:
        settings = checkpoint.setdefault("hyper_parameters", {})
        settings.update(task.unrecorded_defaults(settings))
    checkpoint["seqnet"]["format_version"] = CHECKPOINT_FORMAT_VERSION


def settings_to_restore(source: str | Path | IO[bytes], task: type) -> dict[str, Any]:
    """The init arguments an older checkpoint at `source` was trained under but did not record,
    read before the task is built from it ({} for a current one)."""
    if isinstance(source, Path) or (isinstance(source, str) and "://" not in source):
        checkpoint = torch.load(source, map_location="cpu", weights_only=True, mmap=True)
    elif isinstance(source, str):  # a URL (s3://, https://, file://), read as Lightning reads it
        with get_filesystem(source).open(source, "rb") as file:
            checkpoint = torch.load(file, map_location="cpu", weights_only=True)
    else:  # a file object: read it, and leave it where Lightning starts reading
        start = source.tell()
        checkpoint = torch.load(source, map_location="cpu", weights_only=True)
        source.seek(start)
    if format_version(checkpoint) >= 3:
        return {}
    return task.unrecorded_defaults(checkpoint.get("hyper_parameters", {}))


def _upgrade_from_1(checkpoint: dict[str, Any]) -> None:
    state = checkpoint["state_dict"]
    encoder = checkpoint.get("hyper_parameters", {}).get("encoder") or {}
    cells = encoder.get("cell", "lstm")
    if isinstance(cells, str):
        cells = [cells] * (encoder.get("num_layers") or 1)
    upgraded = {}
    for key, value in state.items():
        if key == "encoder.initial_h":
            upgraded.update({f"encoder.initial_states.{k}.0": value[k] for k in range(len(cells))})
        elif key == "encoder.initial_c":
            upgraded.update(
                {f"encoder.initial_states.{k}.1": value[k] for k, cell in enumerate(cells) if cell == "lstm"}
            )
        else:
            key = re.sub(r"^encoder\.rnns\.(\d+)\.", r"encoder.layers.\1.rnn.", key)
            upgraded[re.sub(r"^classifier\.", "output.head.", key)] = value
    checkpoint["state_dict"] = upgraded
