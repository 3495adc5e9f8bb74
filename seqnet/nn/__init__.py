"""Pure torch.nn building blocks for recurrent sequence models (no Lightning)."""

from seqnet.nn.embedding import InputEmbedding
from seqnet.nn.encoder import CELLS, MERGE_MODES, EncoderOutput, RecurrentEncoder, classic_init_
from seqnet.nn.masking import lengths_to_mask
from seqnet.nn.pooling import (
    POOLINGS,
    AttentionPooling,
    LastPooling,
    MaxPooling,
    MeanPooling,
    build_pooling,
)

__all__ = [
    "CELLS",
    "MERGE_MODES",
    "POOLINGS",
    "AttentionPooling",
    "EncoderOutput",
    "InputEmbedding",
    "LastPooling",
    "MaxPooling",
    "MeanPooling",
    "RecurrentEncoder",
    "build_pooling",
    "classic_init_",
    "lengths_to_mask",
]
