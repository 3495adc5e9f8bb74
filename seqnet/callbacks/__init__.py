"""Lightning callbacks: TensorBoard text/figures and run bookkeeping."""

from seqnet.callbacks.checkpoint_config import CheckpointConfig
from seqnet.callbacks.config_text import ConfigText
from seqnet.callbacks.confusion import ConfusionMatrixFigure, draw_confusion_matrix
from seqnet.callbacks.decoded import DecodedExamples
from seqnet.callbacks.forecasts import ForecastFigure, draw_forecasts
from seqnet.callbacks.hparams_metric import HparamsMetric
from seqnet.callbacks.prediction_writer import PredictionWriter
from seqnet.callbacks.samples import GeneratedSamples

__all__ = [
    "CheckpointConfig",
    "ConfigText",
    "ConfusionMatrixFigure",
    "DecodedExamples",
    "ForecastFigure",
    "GeneratedSamples",
    "HparamsMetric",
    "PredictionWriter",
    "draw_confusion_matrix",
    "draw_forecasts",
]
