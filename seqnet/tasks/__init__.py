"""LightningModules, one per task shape, on one base (`SequenceModule`)."""

from seqnet.tasks.autoencoder import SequenceAutoencoder
from seqnet.tasks.base import SequenceModule, StepOutput
from seqnet.tasks.checkpoint import CHECKPOINT_FORMAT_VERSION
from seqnet.tasks.forecaster import Forecaster
from seqnet.tasks.language_model import LanguageModel
from seqnet.tasks.many_to_many import ManyToMany
from seqnet.tasks.many_to_one import ManyToOne
from seqnet.tasks.one_to_many import ConditionedState, OneToMany
from seqnet.tasks.outputs import ClassOutput, DecodedOutput, TokenOutput, ValueOutput
from seqnet.tasks.seq2seq import Seq2Seq

__all__ = [
    "CHECKPOINT_FORMAT_VERSION",
    "ClassOutput",
    "ConditionedState",
    "DecodedOutput",
    "Forecaster",
    "LanguageModel",
    "ManyToMany",
    "ManyToOne",
    "OneToMany",
    "Seq2Seq",
    "SequenceAutoencoder",
    "SequenceModule",
    "StepOutput",
    "TokenOutput",
    "ValueOutput",
]
