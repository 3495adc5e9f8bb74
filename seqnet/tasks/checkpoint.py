"""The checkpoint format of seqnet tasks: its version, and how older versions are read.

Version history:
1. First format: encoder layers under `encoder.rnns.<k>`, learned initial state as
   `encoder.initial_h/initial_c` (L, D, H), the many-to-one head as `classifier`.
2. Encoder layers from the cell registry (`encoder.layers.<k>.rnn`), one learned initial tensor
   per layer and state (`encoder.initial_states.<k>.<j>`), heads inside output objects (`output.head`).
"""

from __future__ import annotations

import re
from typing import Any

from seqnet.errors import InputError

CHECKPOINT_FORMAT_VERSION = 2


def check_and_upgrade(checkpoint: dict[str, Any]) -> None:
    """Refuse checkpoints seqnet cannot read; rewrite older formats in place to the current one."""
    version = checkpoint.get("seqnet", {}).get("format_version")
    if version is None:
        raise InputError("this checkpoint was not written by a seqnet task (no format version)")
    if version > CHECKPOINT_FORMAT_VERSION:
        raise InputError(
            f"checkpoint format {version} is newer than this seqnet's "
            f"({CHECKPOINT_FORMAT_VERSION}); upgrade seqnet to load it"
        )
    if version == 1:
        _upgrade_from_1(checkpoint)
        checkpoint["seqnet"]["format_version"] = CHECKPOINT_FORMAT_VERSION


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
