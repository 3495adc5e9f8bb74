"""Lightning callbacks (TensorBoard text/figures, run bookkeeping) and the checkpoint writer."""

from seqnet.callbacks.atomic_checkpoint_io import AtomicCheckpointIO
from seqnet.callbacks.batch_in_flight import BatchInFlight
from seqnet.callbacks.checkpoint_config import CheckpointConfig
from seqnet.callbacks.config_text import ConfigText
from seqnet.callbacks.confusion import ConfusionMatrixFigure, draw_confusion_matrix
from seqnet.callbacks.decoded import DecodedExamples
from seqnet.callbacks.gradient_flow import GradientFlow, draw_input_gradients, memory_horizon
from seqnet.callbacks.hparams_metric import HparamsMetric
from seqnet.callbacks.interrupted import InterruptedCheckpoint
from seqnet.callbacks.model_summary import CompactModelSummary
from seqnet.callbacks.overfit_check import OverfitCheck
from seqnet.callbacks.prediction_writer import PredictionWriter
from seqnet.callbacks.progress import EpochLines, progress_bar
from seqnet.callbacks.rng_state import RNGState
from seqnet.callbacks.samples import GeneratedSamples
from seqnet.callbacks.series_figures import AnomalyFigure, ForecastFigure, draw_anomalies, draw_forecasts
from seqnet.callbacks.step_checkpoint import StepCheckpoint

__all__ = [
    "AnomalyFigure",
    "AtomicCheckpointIO",
    "BatchInFlight",
    "CheckpointConfig",
    "CompactModelSummary",
    "ConfigText",
    "ConfusionMatrixFigure",
    "DecodedExamples",
    "EpochLines",
    "ForecastFigure",
    "GeneratedSamples",
    "GradientFlow",
    "HparamsMetric",
    "InterruptedCheckpoint",
    "OverfitCheck",
    "PredictionWriter",
    "RNGState",
    "StepCheckpoint",
    "draw_anomalies",
    "draw_confusion_matrix",
    "draw_forecasts",
    "draw_input_gradients",
    "memory_horizon",
    "progress_bar",
]
