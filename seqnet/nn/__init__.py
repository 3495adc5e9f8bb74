"""Pure torch.nn building blocks for recurrent sequence models (no Lightning)."""

from seqnet.nn.augmentation import SeriesAugmentation
from seqnet.nn.cells import (
    CELLS,
    Bidirectional,
    CellLayer,
    TorchRecurrentLayer,
    build_layer,
    cell_spec,
    register_cell,
)
from seqnet.nn.embedding import InputEmbedding
from seqnet.nn.encoder import MERGE_MODES, EncoderOutput, RecurrentEncoder, classic_init_
from seqnet.nn.frontend import ConvBranch, ConvFrontend, MaskedBatchNorm
from seqnet.nn.masking import lengths_to_mask, reverse_padded
from seqnet.nn.pooling import (
    POOLINGS,
    AttentionPooling,
    LastPooling,
    MaxPooling,
    MeanPooling,
    build_pooling,
)
from seqnet.nn.scan_cells import MinGRU, MinLSTM, ScanLayer
from seqnet.nn.state import EncoderState

__all__ = [
    "CELLS",
    "MERGE_MODES",
    "POOLINGS",
    "AttentionPooling",
    "Bidirectional",
    "CellLayer",
    "ConvBranch",
    "ConvFrontend",
    "EncoderOutput",
    "EncoderState",
    "InputEmbedding",
    "LastPooling",
    "MaskedBatchNorm",
    "MaxPooling",
    "MeanPooling",
    "MinGRU",
    "MinLSTM",
    "RecurrentEncoder",
    "ScanLayer",
    "SeriesAugmentation",
    "TorchRecurrentLayer",
    "build_layer",
    "build_pooling",
    "cell_spec",
    "classic_init_",
    "lengths_to_mask",
    "register_cell",
    "reverse_padded",
]
