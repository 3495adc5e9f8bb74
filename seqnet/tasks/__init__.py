"""LightningModules, one per task shape."""

from seqnet.tasks.base import CHECKPOINT_FORMAT_VERSION, SequenceModule
from seqnet.tasks.many_to_one import ManyToOne

__all__ = ["CHECKPOINT_FORMAT_VERSION", "ManyToOne", "SequenceModule"]
