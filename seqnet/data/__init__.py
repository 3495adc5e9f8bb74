"""Data: sources, `DataSpec`, padded batches and DataModules (no models)."""

from seqnet.data.batch import IGNORE_INDEX, SeqBatch, collate_sequences
from seqnet.data.datamodule import SequenceDataModule
from seqnet.data.loader import ResumableDataLoader
from seqnet.data.sampler import BucketBatchSampler
from seqnet.data.spec import DataSpec
from seqnet.data.splits import hold_out
from seqnet.data.targets import build_spec
from seqnet.data.tokenizers import CharTokenizer, WordTokenizer
from seqnet.data.ts_format import TsData, read_ts
from seqnet.data.vocab import Vocabulary

__all__ = [
    "IGNORE_INDEX",
    "BucketBatchSampler",
    "CharTokenizer",
    "DataSpec",
    "ResumableDataLoader",
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
