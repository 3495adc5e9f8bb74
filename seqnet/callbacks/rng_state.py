"""Every random number generator's state in each checkpoint, so a resumed run draws what the
uninterrupted run would have drawn (dropout masks, sampled decoder inputs)."""

from __future__ import annotations

import random
from typing import Any

import lightning as L
import numpy as np
import torch


class RNGState(L.Callback):
    """Save the states of Python's, NumPy's, torch's CPU and (when in use) CUDA generators with
    every checkpoint, and set them back when a run resumes from one.

    Lightning restores callbacks before it sets up the data and before the sanity check (which it
    runs with the generators isolated), and seqnet's DataLoaders draw from their own generators, so
    the next random number the model draws after resuming is the one it drew after saving.
    """

    def state_dict(self) -> dict[str, Any]:
        return {
            "python": random.getstate(),
            "numpy": numpy_state_as_plain_types(np.random.get_state()),
            "torch": torch.get_rng_state(),
            "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_initialized() else [],
        }

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        random.setstate(state_dict["python"])
        kind, keys, *rest = state_dict["numpy"]
        np.random.set_state((kind, np.asarray(keys, dtype=np.uint32), *rest))
        torch.set_rng_state(state_dict["torch"])
        if state_dict["cuda"] and torch.cuda.is_available():
            torch.cuda.set_rng_state_all(state_dict["cuda"])


def numpy_state_as_plain_types(state: tuple) -> tuple:
    """NumPy's legacy state with its key array as a list: checkpoints then load with
    `torch.load(weights_only=True)`, which refuses NumPy arrays."""
    kind, keys, *rest = state
    return (kind, keys.tolist(), *rest)
