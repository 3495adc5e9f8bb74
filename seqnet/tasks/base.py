"""`SequenceModule`: what every seqnet task shares — optimisation, clipping, metrics, logging,
checkpoint format. One level of subclasses (one per task shape) adds the model and the loss."""

from __future__ import annotations

import copy
from typing import Any

import lightning as L
import torch
from hydra.utils import instantiate
from omegaconf import DictConfig, ListConfig, OmegaConf
from torch import Tensor
from torchmetrics import MaxMetric, MeanMetric, MetricCollection, MinMetric

from seqnet.data import DataSpec, SeqBatch

CHECKPOINT_FORMAT_VERSION = 1
CLIP_ALGORITHMS = ("norm", "value")
DEFAULT_OPTIMIZER = {"_target_": "torch.optim.AdamW", "lr": 1e-3}


def to_primitive(value: Any) -> Any:
    """DictConfig/ListConfig (from Hydra) -> plain dict/list, so hyperparameters stay primitives."""
    if isinstance(value, DictConfig | ListConfig):
        return OmegaConf.to_container(value, resolve=True)
    if isinstance(value, DataSpec):
        return value.to_dict()
    return copy.deepcopy(value)


class SequenceModule(L.LightningModule):
    """Base LightningModule of all seqnet tasks.

    Subclasses implement `model_step(batch) -> (loss, predictions, targets)` and `build_metrics()`.

    Args:
        spec: the data set's `DataSpec` (or its dict), saved with the checkpoint.
        optimizer: a Hydra partial as a dict, e.g. {"_target_": "torch.optim.AdamW", "lr": 1e-3};
            `params` is filled in here.
        scheduler: None, or a dict with `_target_` (an LR scheduler class), its arguments, and the
            optional Lightning keys `interval` (epoch/step) and `frequency`.
        gradient_clip_val / gradient_clip_algorithm: clipping applied by every task, including those
            that optimise manually (they call `clip_gradients_now`). Configure it here, not on the
            Trainer, so manual optimisation honours it too.
        monitor / monitor_mode: the validation metric that picks the best model ("val/acc", max);
            its best value is logged as `hp_metric` for TensorBoard's HPARAMS tab.
    """

    def __init__(
        self,
        spec: DataSpec | dict,
        optimizer: dict | None = None,
        scheduler: dict | None = None,
        gradient_clip_val: float | None = None,
        gradient_clip_algorithm: str = "norm",
        monitor: str = "val/loss",
        monitor_mode: str = "min",
    ) -> None:
        super().__init__()
        if gradient_clip_algorithm not in CLIP_ALGORITHMS:
            raise ValueError(
                f"gradient_clip_algorithm must be one of {CLIP_ALGORITHMS}, got {gradient_clip_algorithm!r}"
            )
        if monitor_mode not in ("min", "max"):
            raise ValueError(f"monitor_mode must be 'min' or 'max', got {monitor_mode!r}")
        self.spec = spec if isinstance(spec, DataSpec) else DataSpec.from_dict(to_primitive(spec))
        self.optimizer_config = to_primitive(optimizer) or dict(DEFAULT_OPTIMIZER)
        self.scheduler_config = to_primitive(scheduler)
        self.gradient_clip_val = gradient_clip_val
        self.gradient_clip_algorithm = gradient_clip_algorithm
        self.monitor = monitor
        self.monitor_mode = monitor_mode

    def setup_metrics(self) -> None:
        """Create one metric collection per stage; call at the end of a subclass's __init__."""
        metrics = self.build_metrics()
        self.train_metrics = metrics.clone(prefix="train/")
        self.val_metrics = metrics.clone(prefix="val/")
        self.test_metrics = metrics.clone(prefix="test/")
        self.val_loss = MeanMetric()
        self.best_monitored = MaxMetric() if self.monitor_mode == "max" else MinMetric()

    # --- to implement -------------------------------------------------------------------------
    def build_metrics(self) -> MetricCollection:
        raise NotImplementedError

    def model_step(self, batch: SeqBatch) -> tuple[Tensor, Tensor, Tensor]:
        """Return (loss, predictions for the metrics, targets for the metrics)."""
        raise NotImplementedError

    # --- steps --------------------------------------------------------------------------------
    def training_step(self, batch: SeqBatch, batch_idx: int) -> Tensor:
        loss, preds, targets = self.model_step(batch)
        self._check_finite(loss, batch_idx)
        self.train_metrics(preds, targets)
        self.log("train/loss", loss, on_step=True, on_epoch=False, prog_bar=True, batch_size=len(batch))
        self.log_dict(self.train_metrics, on_step=False, on_epoch=True, batch_size=len(batch))
        return loss

    def validation_step(self, batch: SeqBatch, batch_idx: int) -> None:
        loss, preds, targets = self.model_step(batch)
        self.val_loss(loss, weight=len(batch))
        self.val_metrics(preds, targets)
        self.log("val/loss", self.val_loss, prog_bar=True, batch_size=len(batch))
        self.log_dict(self.val_metrics, prog_bar=True, batch_size=len(batch))

    def test_step(self, batch: SeqBatch, batch_idx: int) -> None:
        loss, preds, targets = self.model_step(batch)
        self.test_metrics(preds, targets)
        self.log("test/loss", loss, batch_size=len(batch))
        self.log_dict(self.test_metrics, batch_size=len(batch))

    def on_validation_epoch_end(self) -> None:
        if self.trainer.sanity_checking:
            return
        values = {"val/loss": self.val_loss.compute(), **self.val_metrics.compute()}
        if self.monitor not in values:
            raise KeyError(
                f"monitor={self.monitor!r} is not a validation metric of {type(self).__name__}; "
                f"choose one of {sorted(values)}"
            )
        self.best_monitored(values[self.monitor])
        self.log("hp_metric", self.best_monitored.compute(), sync_dist=True)

    def _check_finite(self, loss: Tensor, batch_idx: int) -> None:
        if not torch.isfinite(loss):
            raise FloatingPointError(
                f"training loss is {loss.item()} at epoch {self.current_epoch}, batch {batch_idx}; "
                "lower the learning rate (model.optimizer.lr), set model.gradient_clip_val, or check "
                "the data for non-finite values. Checkpoints written so far are kept."
            )

    # --- optimisation -------------------------------------------------------------------------
    def configure_optimizers(self) -> Any:
        optimizer = instantiate(self.optimizer_config, params=self.parameters())
        if not self.scheduler_config:
            return optimizer
        config = dict(self.scheduler_config)
        lightning_keys = {k: config.pop(k) for k in ("interval", "frequency") if k in config}
        scheduler = instantiate(config, optimizer=optimizer)
        return {
            "optimizer": optimizer,
            "lr_scheduler": {"scheduler": scheduler, "monitor": self.monitor, **lightning_keys},
        }

    def configure_gradient_clipping(
        self,
        optimizer: torch.optim.Optimizer,
        gradient_clip_val: float | None = None,
        gradient_clip_algorithm: str | None = None,
    ) -> None:
        """Automatic optimisation: clip with this module's settings (the Trainer's stay unset)."""
        self.clip_gradients_now(optimizer)

    def clip_gradients_now(self, optimizer: torch.optim.Optimizer) -> None:
        """Clip with the configured settings; manual-optimisation tasks call this before step()."""
        if self.gradient_clip_val:
            self.clip_gradients(
                optimizer,
                gradient_clip_val=self.gradient_clip_val,
                gradient_clip_algorithm=self.gradient_clip_algorithm,
            )

    # --- checkpoints --------------------------------------------------------------------------
    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        checkpoint["seqnet"] = {
            **checkpoint.get("seqnet", {}),
            "format_version": CHECKPOINT_FORMAT_VERSION,
            "task": f"{type(self).__module__}.{type(self).__qualname__}",
        }

    def on_load_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        version = checkpoint.get("seqnet", {}).get("format_version")
        if version is None:
            raise ValueError("this checkpoint was not written by a seqnet task (no format version)")
        if version > CHECKPOINT_FORMAT_VERSION:
            raise ValueError(
                f"checkpoint format {version} is newer than this seqnet's "
                f"({CHECKPOINT_FORMAT_VERSION}); upgrade seqnet to load it"
            )
