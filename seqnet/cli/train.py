"""`seqnet-train`: fit a task on a data set, test the best checkpoint, record the run.

seqnet-train                                        # the default experiment (JapaneseVowels)
seqnet-train model/encoder=gru model.encoder.bidirectional=true
seqnet-train debug=fast                             # one batch of train/val/test
seqnet-train resume=<run dir>                       # continue a stopped run in place
"""

from __future__ import annotations

import json
import shlex
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import hydra
from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf, open_dict

from seqnet.cli.config_dir import CONFIG_DIR
from seqnet.cli.console import tidy_lightning_output
from seqnet.cli.launch import configured, launch, reported
from seqnet.cli.overrides import OverrideError
from seqnet.cli.process import apply_process_settings
from seqnet.cli.resume import FIT_RECORD, holds_run, run_arguments
from seqnet.cli.run_record import write_run_record
from seqnet.errors import InputError

if TYPE_CHECKING:
    import lightning as L

    from seqnet.callbacks import BatchInFlight

# Lightning, torch and the task modules are imported inside the functions that run a job, so
# `--help`, `--cfg job` and a mistyped override answer in a second instead of ten.


def train(cfg: DictConfig) -> dict[str, float]:
    """Fit and test the run that `cfg` describes; return its final metrics (val and test).

    The run directory (`cfg.paths.output_dir`) receives checkpoints, TensorBoard events,
    config_resolved.yaml, metrics.json and environment.json.
    """
    check_run_config(cfg)
    apply_process_settings(cfg)  # before torch is imported: it sets the OpenMP wait policy
    import lightning as L

    tidy_lightning_output()

    from lightning.pytorch.callbacks import ProgressBar

    from seqnet.callbacks import BatchInFlight, CheckpointConfig, ConfigText, RNGState

    if cfg.get("seed") is not None:
        L.seed_everything(cfg.seed, workers=True)
    with configured("data"):
        datamodule = instantiate(cfg.data)
        datamodule.setup("fit")
    with configured("model"):
        model = instantiate(cfg.model, spec=datamodule.spec.to_dict(), _recursive_=False, _convert_="all")
    with open_dict(cfg):  # checkpointing and early stopping follow the metric the task chose
        cfg.model.monitor, cfg.model.monitor_mode = model.monitor, model.monitor_mode
    config = OmegaConf.to_container(cfg, resolve=True)
    config_yaml = OmegaConf.to_yaml(config)
    with configured("callbacks"):
        chosen = instantiate_group(cfg.get("callbacks"))
    callbacks = [
        *chosen,
        ConfigText(config_yaml),
        CheckpointConfig(config),
        RNGState(),
        in_flight := BatchInFlight(),
    ]
    with configured("logger"):
        loggers = instantiate_group(cfg.get("logger"))
    progress = any(isinstance(c, ProgressBar) for c in callbacks)  # none: Lightning must not add its own
    with configured("trainer"):
        trainer: L.Trainer = instantiate(
            cfg.trainer, callbacks=callbacks, logger=loggers or False, enable_progress_bar=progress
        )

    run_dir = Path(cfg.paths.output_dir)
    if cfg.get("fit", True):
        metrics, best = fit(cfg, trainer, model, datamodule, config_yaml, in_flight)
        if trainer.is_global_zero:
            record = {"best_checkpoint": best, "metrics": metrics}
            (run_dir / FIT_RECORD).write_text(json.dumps(record, indent=2))
    else:  # resume= of a run whose fit had finished: test its best checkpoint
        record = json.loads((run_dir / FIT_RECORD).read_text())
        metrics, best = record["metrics"], record["best_checkpoint"]
    if cfg.get("test"):
        try:
            results = trainer.test(model, datamodule=datamodule, ckpt_path=best or None, verbose=False)
        except SystemExit as stop:
            raise interrupted(cfg, trainer, stop, config_yaml, "while testing") from None
        metrics.update({k: float(v) for k, v in results[0].items()})
    if trainer.is_global_zero:
        write_run_record(run_dir, config_yaml, metrics)
        report(run_dir, Path(cfg.paths.log_dir), best, metrics)
    return metrics


def fit(
    cfg: DictConfig,
    trainer: L.Trainer,
    model: L.LightningModule,
    datamodule: L.LightningDataModule,
    config_yaml: str,
    in_flight: BatchInFlight,
) -> tuple[dict[str, float], str]:
    """Fit `model` (from `cfg.ckpt_path` if set); the final metrics and the best checkpoint's path.
    A run stopped from outside raises the `SystemExit` that says how to continue it."""
    import torch
    from lightning.pytorch.utilities.exceptions import SIGTERMException

    from seqnet.callbacks import InterruptedCheckpoint
    from seqnet.cli.checkpoints import read_checkpoint_metadata

    ckpt_path = cfg.get("ckpt_path")
    saved = read_checkpoint_metadata(ckpt_path) if ckpt_path else {}  # refuses a broken file
    try:
        trainer.fit(model, datamodule=datamodule, ckpt_path=ckpt_path)
    except SystemExit as stop:  # SIGTERM, or Ctrl-C: say how to continue
        raise interrupted(cfg, trainer, stop, config_yaml) from None
    except torch.cuda.OutOfMemoryError as error:
        raise InputError(in_flight.describe_out_of_memory(error, cfg.data.get("batch_size"))) from error
    except RuntimeError as error:  # the checkpoint's weights do not fit this config's model
        if not ckpt_path or "state_dict" not in str(error):
            raise
        before = saved.get("config", {}).get("model", {})
        now = OmegaConf.to_container(cfg.model, resolve=True)
        raise InputError(mismatch(ckpt_path, before, now)) from error
    stopper = next((c for c in trainer.callbacks if isinstance(c, InterruptedCheckpoint)), None)
    if stopper is not None and stopper.requested:  # stopped at an epoch's end
        stop = SIGTERMException() if stopper.requested == "SIGTERM" else SystemExit(1)
        raise interrupted(cfg, trainer, stop, config_yaml)
    metrics = {k: float(v) for k, v in trainer.callback_metrics.items()}
    best = trainer.checkpoint_callback.best_model_path if trainer.checkpoint_callback else ""
    return metrics, best


def interrupted(
    cfg: DictConfig, trainer: L.Trainer, stop: SystemExit, config_yaml: str, during: str = ""
) -> SystemExit:
    """Record the metrics so far, print where the run stopped and the command that continues it,
    and return the exit to raise: 143 for SIGTERM (128 + 15, as a shell reports it), 130 for Ctrl-C."""
    from lightning.pytorch.utilities.exceptions import SIGTERMException

    sigterm = isinstance(stop, SIGTERMException)
    run_dir = Path(cfg.paths.output_dir)
    if trainer.is_global_zero:
        write_run_record(run_dir, config_yaml, {k: float(v) for k, v in trainer.callback_metrics.items()})
        where = during or f"at epoch {trainer.current_epoch}, step {trainer.global_step}"
        lines = [
            f"seqnet-train: stopped by {'SIGTERM' if sigterm else 'Ctrl-C'} {where}; run directory {run_dir}"
        ]
        if holds_run(run_dir):
            lines.append(f"to continue from its checkpoint: seqnet-train resume={shlex.quote(str(run_dir))}")
        print("\n".join(lines), file=sys.stderr)
    return SystemExit(143 if sigterm else 130)


def mismatch(ckpt_path: str, before: dict, now: dict) -> str:
    """Why a checkpoint's weights do not load: the model settings that differ."""
    changed = [
        f"model.{k}: {v!r} in the checkpoint, {w!r} now" for k, (v, w) in differences(before, now).items()
    ]
    return (
        f"ckpt_path={ckpt_path} holds a model of other settings than this run's "
        f"({'; '.join(changed[:6]) or 'see the traceback with SEQNET_DEBUG=1'}); continue its "
        "run with `seqnet-train resume=<its run dir>`, which reuses the run's own overrides"
    )


def differences(before: Any, now: Any, prefix: str = "") -> dict[str, tuple[Any, Any]]:
    """The dotted keys whose values differ between two nested dicts."""
    if not (isinstance(before, dict) and isinstance(now, dict)):
        return {} if before == now else {prefix: (before, now)}
    found = {}
    for name in sorted(set(before) | set(now), key=str):
        found.update(
            differences(
                before.get(name), now.get(name), f"{prefix}{name}" if not prefix else f"{prefix}.{name}"
            )
        )
    return found


def check_run_config(cfg: DictConfig) -> None:
    """Refuse combinations that would only fail (or silently misbehave) later."""
    if cfg.get("hparams_search"):
        raise OverrideError(
            "hparams_search is the search space of seqnet-tune: run seqnet-tune hparams_search=optuna "
            "with the same overrides (each trial is a seqnet-train run)"
        )
    max_epochs = cfg.trainer.get("max_epochs")
    if max_epochs is not None and (not isinstance(max_epochs, int) or max_epochs < 1):
        raise OverrideError(
            f"trainer.max_epochs must be a whole number of at least 1, got {max_epochs!r} (Lightning reads "
            "-1 as 'no limit'; early stopping ends a run sooner, and trainer.max_time bounds it by time)"
        )
    if cfg.trainer.get("gradient_clip_val"):
        raise OverrideError(
            "trainer.gradient_clip_val is not used by seqnet: clipping is configured once on the "
            "task so manual-optimisation tasks honour it too; set model.gradient_clip_val instead"
        )


def instantiate_group(group: DictConfig | None) -> list:
    """Instantiate every entry of a config group such as `callbacks` or `logger` (None entries skip)."""
    if not group:
        return []
    return [instantiate(entry) for entry in group.values() if entry and "_target_" in entry]


def report(run_dir: Path, log_dir: Path, best_checkpoint: str, metrics: dict[str, float]) -> None:
    lines = ["", f"run directory:   {run_dir}"]
    if best_checkpoint:
        lines.append(f"best checkpoint: {best_checkpoint}")
    tests = {k: v for k, v in sorted(metrics.items()) if k.startswith("test/")}
    lines += [f"  {k:<20} {v:.4f}" for k, v in tests.items()]
    under_logs = run_dir.resolve().is_relative_to(log_dir.resolve())
    lines.append(f"TensorBoard:     tensorboard --logdir {log_dir if under_logs else run_dir}")
    print("\n".join(lines))


@hydra.main(version_base="1.3", config_path=str(CONFIG_DIR), config_name="train")
@reported("seqnet-train")
def _run(cfg: DictConfig) -> float | None:
    """Returns the best value of the monitored validation metric, which a Hydra sweeper optimises."""
    return train(cfg).get("hp_metric")


def main() -> None:
    """Console script `seqnet-train`."""
    launch("train", "seqnet-train", _run, arguments=run_arguments)
