"""Lightning callbacks: TensorBoard text/figures and run bookkeeping."""

from seqnet.callbacks.checkpoint_config import CheckpointConfig
from seqnet.callbacks.config_text import ConfigText

__all__ = ["CheckpointConfig", "ConfigText"]
