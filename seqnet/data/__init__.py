"""Data: sources, `DataSpec`, padded batches and DataModules (no models)."""

from seqnet.data.batch import SeqBatch, collate_sequences
from seqnet.data.datamodule import SequenceDataModule, build_spec, hold_out
from seqnet.data.spec import DataSpec
from seqnet.data.ts_format import TsData, read_ts

__all__ = [
    "DataSpec",
    "SeqBatch",
    "SequenceDataModule",
    "TsData",
    "build_spec",
    "collate_sequences",
    "hold_out",
    "read_ts",
]
