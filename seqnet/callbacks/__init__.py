"""Lightning callbacks: TensorBoard text/figures and run bookkeeping."""

from seqnet.callbacks.checkpoint_config import CheckpointConfig
from seqnet.callbacks.config_text import ConfigText
from seqnet.callbacks.hparams_metric import HparamsMetric

__all__ = ["CheckpointConfig", "ConfigText", "HparamsMetric"]
