"""Data: sources, `DataSpec`, padded batches and DataModules (no models)."""

from seqnet.data.batch import SeqBatch, collate_sequences
from seqnet.data.datamodule import SequenceDataModule, build_spec
from seqnet.data.sampler import BucketBatchSampler
from seqnet.data.spec import DataSpec
from seqnet.data.splits import hold_out
from seqnet.data.tokenizers import CharTokenizer, WordTokenizer
from seqnet.data.ts_format import TsData, read_ts
from seqnet.data.vocab import Vocabulary

__all__ = [
    "BucketBatchSampler",
    "CharTokenizer",
    "DataSpec",
    "SeqBatch",
    "SequenceDataModule",
    "TsData",
    "Vocabulary",
    "WordTokenizer",
    "build_spec",
    "collate_sequences",
    "hold_out",
    "read_ts",
]
