"""Data sources: readers and generators that return `SequenceSplits`, one module each."""

from seqnet.data.sources.anomaly import AnomalySource
from seqnet.data.sources.arrays import ArraySource, TextSource
from seqnet.data.sources.base import SequenceExample, SequenceSource, SequenceSplits
from seqnet.data.sources.corpus import ShakespeareSource, TextCorpusSource
from seqnet.data.sources.forecast import ForecastSource
from seqnet.data.sources.images import DigitsSource, MNISTRowsSource
from seqnet.data.sources.labelled_text import LabelledTextSource
from seqnet.data.sources.music import MusicSource
from seqnet.data.sources.names import NamesSource
from seqnet.data.sources.parallel_text import CMUDictSource, ParallelTextSource
from seqnet.data.sources.reviews import FoodReviewsSource
from seqnet.data.sources.synthetic import AddingProblemSource, CopyMemorySource, NoisySineSource
from seqnet.data.sources.tagging import CoNLLSource, SBLGNTSource
from seqnet.data.sources.ucr import UCRSource

__all__ = [
    "AddingProblemSource",
    "AnomalySource",
    "ArraySource",
    "CMUDictSource",
    "CoNLLSource",
    "CopyMemorySource",
    "DigitsSource",
    "FoodReviewsSource",
    "ForecastSource",
    "LabelledTextSource",
    "MNISTRowsSource",
    "MusicSource",
    "NamesSource",
    "NoisySineSource",
    "ParallelTextSource",
    "SBLGNTSource",
    "SequenceExample",
    "SequenceSource",
    "SequenceSplits",
    "ShakespeareSource",
    "TextCorpusSource",
    "TextSource",
    "UCRSource",
]
