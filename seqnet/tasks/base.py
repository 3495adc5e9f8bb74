"""`SequenceModule`: what every seqnet task shares. It builds the skeleton once — input embedding or
projection, feature scaling, the recurrent encoder — and owns optimisation, clipping, metrics per
stage, logging and the checkpoint format. One level of subclasses (one per task shape) adds its
own head, decoder and loss through an output object (`seqnet.tasks.outputs`)."""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any, ClassVar

import lightning as L
import torch
from torch import Tensor, nn
from torchmetrics import MaxMetric, MeanMetric, MetricCollection, MinMetric

from seqnet.data import DataSpec, SeqBatch, collate_sequences
from seqnet.data.prediction import PredictionInput, raw_prediction_inputs
from seqnet.data.vocab import UNK
from seqnet.errors import InputError
from seqnet.nn import (
    ConvFrontend,
    EncoderOutput,
    EncoderState,
    InputEmbedding,
    RecurrentEncoder,
    SeriesAugmentation,
)
from seqnet.tasks.checkpoint import (
    CHECKPOINT_FORMAT_VERSION,
    FORMAT_2_ENCODER,
    check_and_upgrade,
    settings_to_restore,
)
from seqnet.tasks.deferred_updates import DeferredUpdates
from seqnet.tasks.export import Graph, default_graphs, example_inputs
from seqnet.tasks.optimization import build_optimizer, build_scheduler, resolve_target
from seqnet.tasks.streams import StreamStates
from seqnet.tasks.truncated_bptt import chunk_sizes, scaled_learning_rate, step_schedulers, time_chunks

CLIP_ALGORITHMS = ("norm", "value")
# The defaults live here and in the task signatures; configs/ repeats them (so the command line can
# set each key) and tests/cli/test_configs.py holds the two equal.
DEFAULT_OPTIMIZER = {"_target_": "torch.optim.AdamW", "lr": 0.003, "weight_decay": 0.01}
DEFAULT_GRADIENT_CLIP = 1.0
TRAIN_METRICS_MIN_STEPS = 8  # training metrics pool shorter epochs (see `on_train_epoch_end`)
BIDIRECTIONAL_ENCODER = {"cell": "lstm", "hidden_size": 128, "bidirectional": True}  # reads it all first
SERIES_ENCODER = {"cell": "gru", "hidden_size": 128}  # reads a series in time order
DEFAULT_TOKEN_EMBEDDING = 64


@dataclass
class StepOutput:
    """What `SequenceModule.step` returns for one batch.

    loss: mean loss over this batch's targets.
    weight: how many targets that mean is over (valid target steps for per-step tasks, sequences
        otherwise), so epoch losses are exact means over the split whatever the batch sizes.
    preds / targets: what the stage's metrics read (class ids with `IGNORE_INDEX` at padding,
        values in data units, logits for token metrics, or a forecaster's dict of forecasts).
    mask: (B, T) valid target steps for per-step tasks, else None.
    """

    loss: Tensor
    weight: Tensor
    preds: Tensor | dict[str, Tensor]
    targets: Tensor
    mask: Tensor | None = None


def last_target_step(outputs: Tensor, batch: SeqBatch) -> tuple[Tensor, SeqBatch]:
    """Per-step outputs (B, T, C) and their batch -> the outputs (B, 1, C) and the batch of each
    row's last valid target step alone: what a per-step task's `probe_loss` scores."""
    last = (batch.target_lengths - 1).to(outputs.device)  # (B,)
    rows = torch.arange(len(last), device=outputs.device)
    only = replace(
        batch,
        targets=batch.targets[rows, last].unsqueeze(1),  # (B, 1) or (B, 1, K)
        target_lengths=torch.ones_like(batch.target_lengths),
    )
    return outputs[rows, last].unsqueeze(1), only


def optimizer_settings(given: dict | None) -> dict[str, Any]:
    """The optimizer's settings: `DEFAULT_OPTIMIZER` with the given keys over it, or, for another
    optimizer (a different `_target_`), the given dict alone."""
    given = dict(given or {})
    if given.get("_target_", DEFAULT_OPTIMIZER["_target_"]) != DEFAULT_OPTIMIZER["_target_"]:
        return given
    return {**DEFAULT_OPTIMIZER, **given}


def to_primitive(value: Any) -> Any:
    """A DataSpec becomes its dict; anything else is copied, so hyperparameters stay plain Python."""
    return value.to_dict() if isinstance(value, DataSpec) else copy.deepcopy(value)


# Metrics that are better higher (the rest are errors and losses): monitor_mode "auto" reads them.
MAXIMISED = ("acc", "f1", "f1_macro", "precision", "recall", "bleu", "exact_match", "auroc", "hit")


def all_tasks() -> list[type[SequenceModule]]:
    """Every task class defined so far (seqnet's, and any research subclass imported), in the order
    they were defined, generation by generation."""
    found, pending = [], list(SequenceModule.__subclasses__())
    while pending:
        task = pending.pop(0)
        found.append(task)
        pending += task.__subclasses__()
    return found


def tasks_for(target_kind: str) -> list[str]:
    """The `model=` options of the task shapes that predict `target_kind` targets."""
    names = [t.CONFIG_NAME for t in all_tasks() if t.CONFIG_NAME and target_kind in t.TARGET_KINDS]
    return list(dict.fromkeys(names))


class SequenceModule(L.LightningModule):
    """Base LightningModule of all seqnet tasks.

    A subclass sets `self.output` (an output object) and calls `setup_metrics()` at the end of its
    `__init__`, and implements `step(batch) -> StepOutput`. Hooks a research subclass overrides:
    `embed`, `encode`, and its task's own (`pool`/`head`, `loss`, decoding).

    Args:
        spec: the data set's `DataSpec` (or its dict), saved with the checkpoint.
        encoder: `RecurrentEncoder` arguments except `input_size`, e.g. {"cell": "gru",
            "hidden_size": 64}; missing keys take the task's `DEFAULT_ENCODER` (a bidirectional
            LSTM-128 where the whole input is read first, an LSTM-128 for generators, a GRU-128
            for series in time order), as `model.encoder.cell=gru` keeps the config's others.
        embedding_dim: embedding width for token inputs (None: 64); for features an optional
            projection width (None feeds the standardised features directly).
        optimizer: {"_target_": "torch.optim.AdamW", "lr": 0.003, "weight_decay": 0.01} by default;
            given keys override those of the default optimizer (a dict without `_target_`, or
            with AdamW's), or stand alone for another optimizer. `params` is filled in here.
        scheduler: None, or a dict with `_target_` (an LR scheduler class), its arguments, and the
            optional Lightning keys `interval` (epoch/step) and `frequency`.
        gradient_clip_val / gradient_clip_algorithm: clipping (default: norm 1.0; None: off)
            applied by every task, including truncated BPTT's manual optimisation (in
            `on_before_optimizer_step`). Configure it here, not on the Trainer, so manual
            optimisation honours it too.
        monitor / monitor_mode: the validation metric that picks the best model and stops early
            ("val/acc", "max"); its best value is logged as `hp_metric` for TensorBoard's HPARAMS
            tab. "auto": the task's headline metric (`default_monitor`): entity F1 for BIO/BIOES
            tag sets, where the loss picks an early model that tags everything O; the token error
            rate for seq2seq; the MAE for forecasts; else the loss.
            monitor_mode "auto" follows the metric (max for accuracy, F1, BLEU, ...).
        augment: None, or `SeriesAugmentation` arguments (jitter, scaling, window_slice): random
            changes to feature inputs in training steps only; jitter is in units of each channel's
            training standard deviation.
        frontend: None, or `ConvFrontend` arguments (channels, kernel_sizes, stride, norm, dropout):
            convolutions between the embedded inputs and the encoder. A stride above 1 shortens the
            sequences, which only a task with one output per sequence allows.
        tbptt_steps: truncated BPTT (`seqnet.tasks.truncated_bptt`): cut each training batch into
            chunks of this many steps, one optimizer step per chunk, the state carried between
            them (tasks with "stateful" in `CAPABILITIES`); None trains on whole batches.
        tbptt_jitter: vary the chunk length as AWD-LSTM does (Merity et al. 2017): each chunk's
            length is drawn from a normal around `tbptt_steps` with this standard deviation (a
            fraction of `tbptt_steps`; 0: fixed), and its step's learning rate scaled by
            length / `tbptt_steps`, so every token weighs the same.
        char_features: where the data carries each word's casing and characters (tagging files,
            `seqnet.data.word_chars`), read them beside the word; False: the word ids alone.
        word_dropout: token inputs: the share of words read as `<unk>` in training steps.
    """

    TARGET_KINDS: tuple[str, ...] = ()  # the target kinds a task predicts; a subclass narrows it
    # the encoder when none is given (configs/model/<task>.yaml selects the same one)
    DEFAULT_ENCODER: ClassVar[dict[str, Any]] = {"cell": "lstm", "hidden_size": 128}
    CONFIG_NAME: str | None = None  # its option of the `model` config group (`model=many_to_one`)
    # What the task does besides training, read by the commands and callbacks instead of a list of
    # task classes: "predict" (`record` turns its `predict_step` rows into records).
    CAPABILITIES: frozenset[str] = frozenset()
    # True: read the loss's finiteness every step on accelerators too (a host sync per step)
    finite_check_every_step: bool = False
    # True: outputs need not come at every input step, so a front-end may stride (many-to-one)
    frontend_may_stride: bool = False

    def __init__(
        self,
        spec: DataSpec | dict,
        encoder: dict | None = None,
        embedding_dim: int | None = None,
        optimizer: dict | None = None,
        scheduler: dict | None = None,
        gradient_clip_val: float | None = DEFAULT_GRADIENT_CLIP,
        gradient_clip_algorithm: str = "norm",
        monitor: str = "auto",
        monitor_mode: str = "auto",
        frontend: dict | None = None,
        augment: dict | None = None,
        tbptt_steps: int | None = None,
        tbptt_jitter: float = 0.0,
        char_features: bool = True,
        word_dropout: float = 0.0,
    ) -> None:
        super().__init__()
        if gradient_clip_algorithm not in CLIP_ALGORITHMS:
            raise InputError(
                f"gradient_clip_algorithm must be one of {CLIP_ALGORITHMS}, got {gradient_clip_algorithm!r}"
            )
        if monitor_mode not in ("min", "max", "auto"):
            raise InputError(f"monitor_mode must be 'min', 'max' or 'auto', got {monitor_mode!r}")
        self.save_hyperparameters()  # the subclass's arguments too (Lightning walks the __init__ frames)
        for key, value in self.hparams.items():
            self.hparams[key] = to_primitive(value)
        self.spec = spec if isinstance(spec, DataSpec) else DataSpec.from_dict(dict(spec))
        self._check_target_kind()
        self.optimizer_config = optimizer_settings(optimizer)
        self.scheduler_config = dict(scheduler) if scheduler else None
        resolve_target(self.optimizer_config, "optimizer")  # fail now, not at fit time
        if self.scheduler_config:
            resolve_target(self.scheduler_config, "scheduler")
        self.gradient_clip_val = gradient_clip_val
        self.gradient_clip_algorithm = gradient_clip_algorithm
        self.monitor = monitor
        self.monitor_mode = monitor_mode
        self._all_finite: Tensor | None = None  # device-side finite flag between checks
        self._train_updates = DeferredUpdates()  # training metrics: updated in batches of steps
        self._pooled_steps = 0  # training steps the training metrics cover since they were logged
        self.streams = StreamStates()  # what stateful streams carry from batch to batch

        spec = self.spec
        if spec.input_kind == "tokens":
            embedding_dim = embedding_dim or DEFAULT_TOKEN_EMBEDDING
        self.input_layer = InputEmbedding(
            spec.input_kind,
            spec.input_size,
            embedding_dim,
            spec.pad_id,
            num_chars=len(spec.char_vocab or ()),
            char_features=char_features,
            word_dropout=word_dropout,
            unk_id=spec.vocab.index(UNK) if spec.vocab and UNK in spec.vocab else spec.pad_id,
        )
        self.augmentation = SeriesAugmentation(**augment) if augment else None
        if self.augmentation is not None and spec.input_kind != "features":
            raise InputError(f"augment applies to feature series; data {spec.name!r} has token inputs")
        self.frontend = ConvFrontend(self.input_layer.output_size, **frontend) if frontend else None
        if self.frontend is not None and self.frontend.stride > 1 and not self.frontend_may_stride:
            raise InputError(
                f"{type(self).__name__} predicts at every input step, so its front-end cannot stride "
                f"(frontend.stride={self.frontend.stride}); use stride 1 (data.max_length cuts long inputs)"
            )
        self.register_buffer("feature_mean", torch.tensor(spec.feature_mean or 0.0), persistent=False)
        self.register_buffer("feature_std", torch.tensor(spec.feature_std or 1.0), persistent=False)
        self.encoder_config = {**self.DEFAULT_ENCODER, **(encoder or {})}
        self.hparams["encoder"] = self.encoder_config  # recorded: a later default cannot change it
        self.encoder = RecurrentEncoder(self.encoder_input_size(), **self.encoder_config)
        self.tbptt_steps, self.tbptt_jitter = tbptt_steps, tbptt_jitter
        if tbptt_steps is not None:
            self._check_tbptt(tbptt_steps)
        if tbptt_jitter < 0 or (tbptt_jitter and tbptt_steps is None):
            raise InputError(
                f"tbptt_jitter varies the truncated BPTT length: it needs tbptt_steps and a standard "
                f"deviation of at least 0, got tbptt_jitter={tbptt_jitter} with tbptt_steps={tbptt_steps}"
            )
        self.automatic_optimization = tbptt_steps is None  # truncated BPTT steps per chunk itself
        self.output: nn.Module

    def _check_tbptt(self, steps: int) -> None:
        """Refuse truncated BPTT where it cannot mean what it says, with the reason."""
        if not isinstance(steps, int) or steps < 1:
            raise InputError(f"tbptt_steps must be a positive number of steps, got {steps!r}")
        self._check_carries_state("tbptt_steps (truncated BPTT)", "chunk")
        if self.frontend is not None:
            raise InputError(
                "truncated BPTT cuts the sequence into chunks, and a front-end's convolutions would not "
                "see across their boundaries: drop model.frontend"
            )

    def _check_carries_state(self, setting: str, unit: str) -> None:
        """Refuse `setting`, which carries the state from `unit` to `unit`, where no state can be:
        a task that reads each sequence whole, or a bidirectional encoder."""
        if "stateful" not in self.CAPABILITIES:
            able = sorted(t.__name__ for t in all_tasks() if "stateful" in t.CAPABILITIES)
            raise InputError(
                f"{type(self).__name__} reads each sequence whole, so {setting}, which carries the state "
                f"from {unit} to {unit}, does not apply: use a task that does ({', '.join(able)})"
            )
        if self.encoder.bidirectional:
            raise InputError(
                f"{setting} carries the state forward from {unit} to {unit}, which a bidirectional "
                "encoder's backward direction cannot: set model.encoder.bidirectional=false"
            )

    def on_fit_start(self) -> None:
        self._check_streams()

    def on_test_start(self) -> None:
        self._check_streams()

    def _check_streams(self) -> None:
        """Refuse stateful streams (`data.stateful=true`) where the state cannot carry over."""
        if getattr(self.trainer.datamodule, "stateful", False):
            self._check_carries_state("data.stateful=true", "batch")

    def encoder_input_size(self) -> int:
        """Width of what the encoder reads: the embedded inputs (a task that concatenates more to
        every step, like a condition, widens it; its init arguments are in `self.hparams`)."""
        return self.input_layer.output_size if self.frontend is None else self.frontend.output_size

    def forward_decoder(self, input_size: int, overrides: dict | None = None) -> RecurrentEncoder:
        """A unidirectional `RecurrentEncoder` that a task steps or runs forward from a start state
        (a forecaster's horizon, an autoencoder's reconstruction): by default the encoder's (last)
        cell and hidden size, one layer; `overrides` are `RecurrentEncoder` arguments."""
        cell = self.encoder_config["cell"]
        settings = {
            "cell": cell if isinstance(cell, str) else cell[-1],
            "hidden_size": self.encoder_config["hidden_size"],
            **(overrides or {}),
        }
        decoder = RecurrentEncoder(input_size, **settings)
        if decoder.bidirectional:
            raise InputError(
                f"the decoder of {type(self).__name__} runs forward in time: make it unidirectional"
            )
        return decoder

    def _check_target_kind(self) -> None:
        if self.TARGET_KINDS and self.spec.target_kind not in self.TARGET_KINDS:
            fitting = tasks_for(self.spec.target_kind)
            shapes = f"the task shape made for these targets (model={', '.join(fitting)})" if fitting else ""
            raise InputError(
                f"{type(self).__name__} predicts {' or '.join(self.TARGET_KINDS)} targets, but data "
                f"{self.spec.name!r} has {self.spec.target_kind!r} targets; pick {shapes or 'another task'}, "
                "or a data set of the kinds this task predicts"
            )

    def setup_metrics(
        self,
        metrics: MetricCollection | None = None,
        test_metrics: MetricCollection | None = None,
        train_metrics: MetricCollection | None = None,
    ) -> None:
        """One collection of `metrics` (default: the output object's) per stage, the test stage's
        from `test_metrics` when only the test split has what they read (anomaly labels), the
        training stage's from `train_metrics` when fewer are worth their cost there; call at the
        end of __init__."""
        metrics = metrics if metrics is not None else self.output.metrics()
        self.train_metrics = (train_metrics if train_metrics is not None else metrics).clone(prefix="train/")
        self.val_metrics = metrics.clone(prefix="val/")
        self.test_metrics = (test_metrics if test_metrics is not None else metrics).clone(prefix="test/")
        self.val_loss = MeanMetric()
        self.test_loss = MeanMetric()
        known = ["val/loss", *self.val_metrics.keys(keep_base=False)]
        if self.monitor == "auto":
            self.monitor = self.default_monitor(known)
        if self.monitor_mode == "auto":
            self.monitor_mode = "max" if self.monitor.rsplit("/", 1)[-1].endswith(MAXIMISED) else "min"
        self.best_monitored = MaxMetric() if self.monitor_mode == "max" else MinMetric()
        if self.monitor not in known:  # refused now, not after the first epoch of training
            raise InputError(
                f"monitor={self.monitor!r} is not a validation metric of {type(self).__name__} on "
                f"{self.spec.name or 'this data'}; choose one of {sorted(known)} (model.monitor=...)"
            )

    # --- predictions as records ---------------------------------------------------------------
    def record(self, prediction: dict[str, Any], row: int, source: PredictionInput) -> dict[str, Any]:
        """Row `row` of a `predict_step` output, for the input `source`, as a plain record (what
        seqnet-predict writes as a JSONL line). A task with the "predict" capability implements it."""
        raise NotImplementedError(f"{type(self).__name__} does not predict records")

    def records(self, prediction: dict[str, Any], sources: list[PredictionInput]) -> list[dict[str, Any]]:
        """One record per batch row: the input text (token models) and what `record` says."""
        return [
            {
                **({"input": source.text} if source.text is not None else {}),
                **self.record(prediction, row, source),
            }
            for row, source in enumerate(sources)
        ]

    @torch.no_grad()
    def predict(self, inputs: Sequence[Any], batch_size: int = 64) -> list[dict[str, Any]]:
        """Predict raw inputs with this model alone (a loaded checkpoint needs nothing else): strings
        or token lists for text models, arrays (T, F) for series models (a forecaster's history).
        Returns one record per input, as seqnet-predict writes them: a label and its probabilities,
        tags with entity spans, decoded text, a forecast per step, or anomaly scores."""
        if "predict" not in self.CAPABILITIES:
            raise InputError(f"{type(self).__name__} does not predict records; see its own methods")
        prepared = raw_prediction_inputs(inputs, self.spec)
        training, found = self.training, []
        self.eval()
        try:
            for start in range(0, len(prepared), batch_size):
                chunk = prepared[start : start + batch_size]
                batch = collate_sequences([one.item() for one in chunk], pad_value=self.spec.pad_id)
                found += self.records(self.predict_step(batch.to(self.device)), chunk)
        finally:
            self.train(training)
        return found

    def default_monitor(self, known: list[str]) -> str:
        """The validation metric `monitor="auto"` selects checkpoints by: entity F1 where the tags
        are BIO/BIOES spans (by the loss, the kept model was an early one tagging everything O:
        test entity F1 0.02 against 0.25 at its best epoch), else the loss. A task overrides it."""
        return "val/entity_f1" if "val/entity_f1" in known else "val/loss"

    # --- the shared skeleton ------------------------------------------------------------------
    def embed(self, inputs: Tensor) -> Tensor:
        """Padded inputs (B, T, F) features, (B, T) token ids or (B, T, 2 + L) ids with each word's
        casing and characters -> (B, T, E); features are standardised with the training split's
        statistics first."""
        return self.input_layer(self.standardize(inputs))

    def standardize(self, inputs: Tensor) -> Tensor:
        """Features (B, T, F) -> z-scores with the training split's statistics; token ids as they are."""
        if self.spec.input_kind == "features":
            return (inputs - self.feature_mean) / self.feature_std  # (B, T, F)
        return inputs

    def encode(self, x: Tensor, lengths: Tensor, state: EncoderState | None = None) -> EncoderOutput:
        """x (B, T, E), lengths (B,) on the CPU, optional starting state -> `EncoderOutput` (through
        the front-end first, if any: a strided one returns fewer steps)."""
        if self.frontend is not None:
            x, lengths = self.frontend(x, lengths)  # (B, T', C)
        return self.encoder(x, lengths, state)

    def step(self, batch: SeqBatch) -> StepOutput:
        """Loss, its weight, and what the metrics read, for one batch."""
        raise NotImplementedError

    # --- export (seqnet.tasks.export) --------------------------------------------------------
    EXPORT_OUTPUTS: ClassVar[tuple[str, ...]] = ()  # the full-sequence graph's outputs; (): no export
    EXPORT_STEPWISE: ClassVar[bool] = False  # whether those outputs are per step, (B, T, ...)

    def export_graphs(self, streaming: bool = False) -> list[Graph]:
        """The graphs `seqnet-export` writes (`seqnet.tasks.export.Graph`): by default the
        full-sequence graph of `export_outputs`, or with `streaming` the one-step graph of
        `export_step`; a task of several graphs (seq2seq) lists them all."""
        return default_graphs(self, streaming)

    def export_output_names(self) -> tuple[str, ...]:
        """The names of `export_outputs`' tensors (`EXPORT_OUTPUTS`; a task whose outputs depend on
        its settings lists them here)."""
        return self.EXPORT_OUTPUTS

    def export_example(self, lengths: tuple[int, ...]) -> tuple[Tensor, Tensor]:
        """A padded example batch (inputs, lengths) with these lengths, to trace and check graphs."""
        return example_inputs(self, lengths)

    def export_metadata(self) -> dict[str, Any]:
        """Task-specific entries for the exported files' metadata (a decoder's special ids)."""
        return {}

    def export_outputs(self, inputs: Tensor, lengths: Tensor) -> tuple[Tensor, ...]:
        """The exported full-sequence graph: padded inputs and lengths (B,) -> the outputs named in
        `EXPORT_OUTPUTS`; the default is `forward` on a batch of them (its targets unread)."""
        return (self(SeqBatch(inputs, lengths, targets=lengths)),)

    def export_step(self, inputs: Tensor, state: EncoderState) -> tuple[Tensor, EncoderState]:
        """The exported streaming graph: one step's inputs ((B,) ids or (B, F) features) and the
        encoder's state -> (the step's first export output, the state after it)."""
        raise InputError(
            f"{type(self).__name__} does not export a streaming graph; export the full-sequence "
            "graph (streaming=false)"
        )

    def encoder_step(self, inputs: Tensor, state: EncoderState) -> tuple[Tensor, EncoderState]:
        """One step's inputs ((B,) ids or (B, F) features) through the embedding and the encoder's
        `step` -> (its output (B, D), the state after it)."""
        return self.encoder.step(self.embed(inputs.unsqueeze(1))[:, 0], state)

    def probe_loss(self, batch: SeqBatch) -> Tensor:
        """The loss whose gradient with respect to the encoder's inputs the gradient-flow
        diagnostics read (`seqnet.callbacks.GradientFlow`): the batch's loss (one target per
        sequence); tasks with per-step targets score the last valid step only (`last_step_scored`)."""
        return self.step(batch).loss

    def batch_state(self, batch: SeqBatch) -> Any:
        """The state a batch's sequences start from: None (the encoder's initial state); a
        conditioned task starts from each row's condition."""
        return None

    def step_from(self, batch: SeqBatch, state: Any) -> tuple[StepOutput, Any]:
        """`step` from a given state (`batch_state`'s kind), also returning the state after each
        row's last step: what truncated BPTT carries from chunk to chunk and stateful streams from
        batch to batch. Tasks with "stateful" in their `CAPABILITIES` implement it."""
        raise NotImplementedError(f"{type(self).__name__} does not carry a state between chunks")

    def start_state(self, batch: SeqBatch, stage: str) -> Any:
        """The state `batch` starts from: `batch_state`, or, in stateful streams, the state the
        stage's previous batch ended in (the encoder's initial state in rows that start over)."""
        if batch.continues is None:
            return self.batch_state(batch)
        device = batch.inputs.device
        return self.streams.start(stage, batch, lambda: self.encoder.initial_state(len(batch), device))

    def _step_in_stream(self, batch: SeqBatch, stage: str) -> StepOutput:
        """`step_from` the stream's carried state; the state it ends in is kept for the next batch."""
        out, state = self.step_from(batch, self.start_state(batch, stage))
        self.streams.end(stage, state)
        return out

    # --- Lightning steps ----------------------------------------------------------------------
    def training_step(self, batch: SeqBatch, batch_idx: int) -> Tensor | None:
        if self.augmentation is not None:
            batch = replace(batch, inputs=self.augmentation(batch.inputs, batch.lengths, self.feature_std))
        if self.tbptt_steps is not None:
            self._truncated_training_step(batch, batch_idx)
            return None
        out = self.step(batch) if batch.continues is None else self._step_in_stream(batch, "train")
        self._record_training_step(out, batch_idx)
        if self._logs_this_step():
            self._log_train_loss(out.loss, batch)
        return out.loss

    def _log_train_loss(self, loss: Tensor, batch: SeqBatch) -> None:
        self.log("train/loss", loss, on_step=True, on_epoch=False, prog_bar=True, batch_size=len(batch))

    def _record_training_step(self, out: StepOutput, batch_idx: int) -> None:
        self._check_finite(out.loss, batch_idx)
        self._train_updates.add(self.train_metrics, out.preds, out.targets)  # computed once per epoch
        self._pooled_steps += 1

    def _truncated_training_step(self, batch: SeqBatch, batch_idx: int) -> None:
        """Truncated BPTT (`seqnet.tasks.truncated_bptt`): one optimizer step per chunk of
        `tbptt_steps` steps, the state carried and detached between chunks; `train/loss` is the
        batch's loss weighted by each chunk's targets."""
        optimizer = self.optimizers()
        state = self.start_state(batch, "train")
        total, weight = 0.0, 0
        sizes = chunk_sizes(int(batch.lengths.max()), self.tbptt_steps, self.tbptt_jitter)
        for chunk, size in zip(time_chunks(batch, sizes), sizes, strict=True):
            out, state = self.step_from(chunk, state)
            self._record_training_step(out, batch_idx)
            optimizer.zero_grad()
            self.manual_backward(out.loss)  # clipped in `on_before_optimizer_step`
            with scaled_learning_rate(optimizer, size / self.tbptt_steps if self.tbptt_jitter else 1.0):
                optimizer.step()
            step_schedulers(self, "step")
            state = state.detach()
            total, weight = total + out.loss.detach() * out.weight, weight + out.weight
            if 0 < self.trainer.max_steps <= self.trainer.global_step:
                break  # max_steps counts optimizer steps: chunks
        if batch.continues is not None:
            self.streams.end("train", state)
        self._log_train_loss(total / weight, batch)

    def _logs_this_step(self) -> bool:
        """Whether the Trainer writes logs after this step (every `log_every_n_steps`): logging
        costs ~1 ms a call, which a small model's whole step can be, so other steps skip it."""
        trainer = self._trainer
        return trainer is None or (trainer.global_step + 1) % max(1, trainer.log_every_n_steps) == 0

    def on_train_epoch_end(self) -> None:
        """Log the training metrics over this epoch, or, where epochs are shorter than
        `TRAIN_METRICS_MIN_STEPS` (and `log_every_n_steps`), over the epochs since they were last
        logged and at the fit's last epoch: each logged value costs ~1 ms, as much as a small
        model's whole step, which a two-batch forecasting epoch would pay each epoch."""
        trainer = self._trainer
        if self.tbptt_steps is not None and trainer is not None:
            step_schedulers(self, "epoch")  # manual optimization: the automatic loop does not
        enough = min(TRAIN_METRICS_MIN_STEPS, trainer.log_every_n_steps) if trainer is not None else 0
        if self._pooled_steps < enough and not _last_epoch(trainer):
            return
        self._train_updates.flush(self.train_metrics)
        self.log_dict(self.train_metrics.compute())  # synchronised across processes by torchmetrics
        self.train_metrics.reset()
        self._pooled_steps = 0

    def evaluation_step(self, batch: SeqBatch) -> StepOutput:
        """What validation and test score: `step`, unless a task evaluates otherwise (Seq2Seq
        decodes, and its metrics read the decoded text)."""
        return self.step(batch)

    def _evaluated(self, batch: SeqBatch, stage: str) -> StepOutput:
        return self.evaluation_step(batch) if batch.continues is None else self._step_in_stream(batch, stage)

    def validation_step(self, batch: SeqBatch, batch_idx: int) -> StepOutput:
        out = self._evaluated(batch, "val")
        self.val_loss.update(out.loss, weight=out.weight)
        self.val_metrics.update(out.preds, out.targets)
        self.log("val/loss", self.val_loss, prog_bar=True, batch_size=len(batch))
        self.log_dict(self.val_metrics, prog_bar=True, batch_size=len(batch))
        return out

    def test_step(self, batch: SeqBatch, batch_idx: int) -> StepOutput:
        out = self._evaluated(batch, "test")
        self.test_loss.update(out.loss, weight=out.weight)
        self.test_metrics.update(out.preds, out.targets)
        self.log("test/loss", self.test_loss, batch_size=len(batch))
        self.log_dict(self.test_metrics, batch_size=len(batch))
        return out

    def on_validation_epoch_end(self) -> None:
        if self.trainer.sanity_checking:
            return
        self.record_best({"val/loss": self.val_loss.compute(), **self.val_metrics.compute()})

    def record_best(self, values: dict[str, Tensor]) -> None:
        """Track the best monitored value of this epoch's validation `values` as `hp_metric`."""
        self.best_monitored(values[self.monitor])
        self.log("hp_metric", self.best_monitored.compute(), sync_dist=True)

    def _check_finite(self, loss: Tensor, batch_idx: int) -> None:
        """Stop on a NaN or infinite training loss, before it reaches a checkpoint.

        On the CPU every step is checked (reading a CPU tensor costs nothing). On an accelerator,
        reading the loss would make the host wait for the device each step, so a device-side flag
        gathers the steps and is read on the steps the Trainer logs (`log_every_n_steps`).
        """
        finite = torch.isfinite(loss.detach())
        if not self._defers_finite_check(loss):
            if not finite:
                self._stop_on_non_finite(f"{loss.item()} at epoch {self.current_epoch}, batch {batch_idx}")
            return
        self._all_finite = finite if self._all_finite is None else self._all_finite & finite
        if self._logs_this_step():
            all_finite, self._all_finite = self._all_finite, None
            if not all_finite:
                steps = self._trainer.log_every_n_steps if self._trainer else 1
                self._stop_on_non_finite(f"non-finite within the {steps} steps up to batch {batch_idx}")

    def _defers_finite_check(self, loss: Tensor) -> bool:
        return loss.device.type != "cpu" and not self.finite_check_every_step

    def _stop_on_non_finite(self, what: str) -> None:
        raise FloatingPointError(
            f"training loss is {what}; lower the learning rate (model.optimizer.lr), set "
            "model.gradient_clip_val, or check the data for non-finite values. Checkpoints written "
            "so far are kept."
        )

    # --- optimisation -------------------------------------------------------------------------
    def configure_optimizers(self) -> Any:
        optimizer = build_optimizer(self.optimizer_config, self.parameters())
        if not self.scheduler_config:
            return optimizer
        return {
            "optimizer": optimizer,
            "lr_scheduler": build_scheduler(self.scheduler_config, optimizer, self.monitor),
        }

    def configure_gradient_clipping(
        self,
        optimizer: torch.optim.Optimizer,
        gradient_clip_val: float | None = None,
        gradient_clip_algorithm: str | None = None,
    ) -> None:
        """Automatic optimisation: clip with this module's settings (the Trainer's stay unset)."""
        self.clip_gradients_now(optimizer)

    def on_before_optimizer_step(self, optimizer: torch.optim.Optimizer) -> None:
        """Manual optimisation (truncated BPTT) clips here, inside `optimizer.step()`, where the
        automatic path clips too: after mixed precision unscales the gradients and after the
        callbacks' hook has read them unclipped (`GradientFlow`)."""
        if not self.automatic_optimization:
            self.clip_gradients_now(optimizer)

    def clip_gradients_now(self, optimizer: torch.optim.Optimizer) -> None:
        """Clip with the configured settings; manual-optimisation tasks call this before step()."""
        if self.gradient_clip_val:
            self.clip_gradients(
                optimizer,
                gradient_clip_val=self.gradient_clip_val,
                gradient_clip_algorithm=self.gradient_clip_algorithm,
            )

    # --- reporting ----------------------------------------------------------------------------
    def hparams_summary(self) -> dict[str, Any]:
        """The settings a user compares across runs (TensorBoard's HPARAMS tab), flat: task, data
        set, encoder, optimizer and task settings; never the spec or its vocabularies."""
        summary: dict[str, Any] = {"task": type(self).__name__, "data": self.spec.name}
        settings = {**self.hparams, "optimizer": self.optimizer_config}  # hparams hold the resolved encoder
        for key, value in settings.items():
            if key != "spec":
                summary.update(_flatten(key, value))
        # what the encoder was built as, whether the config said it or a default did
        summary.update(
            {
                "encoder/num_layers": self.encoder.num_layers,
                "encoder/bidirectional": self.encoder.bidirectional,
            }
        )
        return summary

    # --- checkpoints --------------------------------------------------------------------------
    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        self._train_updates.flush(self.train_metrics)
        checkpoint["seqnet"] = {
            **checkpoint.get("seqnet", {}),
            "format_version": CHECKPOINT_FORMAT_VERSION,
            "task": f"{type(self).__module__}.{type(self).__qualname__}",
            # what the training metrics pooled since they were last logged: a resumed run logs
            # what the unbroken one would
            "train_metrics": {"steps": self._pooled_steps, "state": _metric_states(self.train_metrics)},
            "streams": self.streams.state_dict(),  # where stateful training streams stand
        }

    def on_load_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        check_and_upgrade(checkpoint, type(self))
        pooled = checkpoint["seqnet"].get("train_metrics")
        if pooled is not None:
            self._pooled_steps = pooled["steps"]
            _metric_states(self.train_metrics, pooled["state"])
        self.streams.load_state_dict(checkpoint["seqnet"].get("streams", {}))

    @classmethod
    def unrecorded_defaults(cls, settings: dict[str, Any]) -> dict[str, Any]:
        """The init arguments a format 1-2 checkpoint with `settings` was trained under but did
        not record: the defaults its `__init__` filled in then (an LSTM-128 encoder for every task).
        A subclass whose defaults changed adds its own (see `seqnet.tasks.checkpoint`)."""
        return {"encoder": {**FORMAT_2_ENCODER, **(settings.get("encoder") or {})}}

    @classmethod
    def load_from_checkpoint(cls, checkpoint_path: Any, *args: Any, **kwargs: Any) -> Any:
        """Lightning's loader, returning the model in eval mode (dropout off): ready to predict.
        An older checkpoint is built with the defaults it was trained under, not today's."""
        kwargs = {**settings_to_restore(checkpoint_path, cls), **kwargs}
        return super().load_from_checkpoint(checkpoint_path, *args, **kwargs).eval()


def _metric_states(metrics: MetricCollection, states: dict[str, Any] | None = None) -> dict[str, Any]:
    """The accumulated states of `metrics` (sums, counts), after loading `states` where given:
    torchmetrics keeps them out of a module's state dict unless made persistent."""
    metrics.persistent(True)
    if states is not None:
        metrics.load_state_dict(states)
    states = metrics.state_dict()
    metrics.persistent(False)
    return dict(states)


def _last_epoch(trainer: L.Trainer) -> bool:
    """Whether the epoch ending now is the fit's last (epochs, steps or a callback's stop)."""
    return (
        trainer.should_stop
        or 0 < (trainer.max_epochs or 0) <= trainer.current_epoch + 1
        or 0 < trainer.max_steps <= trainer.global_step
    )


def _flatten(key: str, value: Any) -> dict[str, Any]:
    """Nested settings -> {"encoder/cell": ...}; `_target_` becomes the class name under `key`."""
    if isinstance(value, dict):
        flat: dict[str, Any] = {}
        for name, inner in value.items():
            if name == "_target_":
                flat[key] = str(inner).rpartition(".")[2]
            elif name != "_partial_":
                flat.update(_flatten(f"{key}/{name}", inner))
        return flat
    if isinstance(value, list | tuple):
        return {key: ",".join(map(str, value))}
    return {key: value}
