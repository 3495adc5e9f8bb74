"""Data sources: readers and generators that return `SequenceSplits`, one module each."""

from seqnet.data.sources.base import SequenceExample, SequenceSource, SequenceSplits
from seqnet.data.sources.labelled_text import LabelledTextSource
from seqnet.data.sources.mnist_rows import MNISTRowsSource
from seqnet.data.sources.synthetic import AddingProblemSource
from seqnet.data.sources.ucr import UCRSource

__all__ = [
    "AddingProblemSource",
    "LabelledTextSource",
    "MNISTRowsSource",
    "SequenceExample",
    "SequenceSource",
    "SequenceSplits",
    "UCRSource",
]
