"""`seqnet-eval`: test a checkpoint on its data set (or another one) without its training config.

seqnet-eval ckpt_path=logs/japanese_vowels/runs/<time>/checkpoints/best.ckpt
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import hydra
from hydra.utils import instantiate
from omegaconf import DictConfig

from seqnet.cli.config_dir import CONFIG_DIR
from seqnet.cli.console import tidy_lightning_output
from seqnet.cli.launch import launch, reported
from seqnet.cli.process import apply_process_settings
from seqnet.cli.train import instantiate_group
from seqnet.errors import InputError


def evaluate(cfg: DictConfig) -> dict[str, float]:
    """Test `cfg.ckpt_path` on `cfg.data`, or on the data it was trained on; return test metrics.

    A list of checkpoints (`ckpt_path=[a.ckpt,b.ckpt,c.ckpt]`, e.g. one run per seed) reports each
    metric's mean and standard deviation over the checkpoints (`test/acc`, `test/acc_std`) and the
    metrics of their averaged predictions (`ensemble/test/acc`).
    """
    apply_process_settings(cfg)  # before torch is imported: it sets the OpenMP wait policy
    import lightning as L

    tidy_lightning_output()

    from seqnet.cli.checkpoints import load_task, read_checkpoint_metadata

    paths = [cfg.ckpt_path] if isinstance(cfg.ckpt_path, str) else list(cfg.ckpt_path)
    meta = read_checkpoint_metadata(paths[0])
    models = [load_task(path, program="seqnet-eval") for path in paths]
    data_config = cfg.get("data") or meta.get("config", {}).get("data")
    if not data_config:
        raise InputError("the checkpoint holds no data config; pass data=<name> on the command line")
    datamodule = instantiate(data_config)
    loggers = instantiate_group(cfg.get("logger")) or False
    # a bar only at a terminal: redrawn into a log file it is noise
    trainer: L.Trainer = instantiate(cfg.trainer, logger=loggers, enable_progress_bar=sys.stderr.isatty())
    runs = [
        {k: float(v) for k, v in trainer.test(model, datamodule=datamodule)[0].items()} for model in models
    ]
    metrics = runs[0] if len(runs) == 1 else spread(runs)
    if len(models) > 1:
        from seqnet.tasks.ensemble import ensemble_test_metrics

        metrics.update(ensemble_test_metrics(models, datamodule.test_dataloader()))
    output_dir = Path(cfg.paths.output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    if cfg.get("backtest"):
        metrics.update(backtest(models[0], datamodule.source, cfg.get("backtest_stride"), output_dir))
    (output_dir / "metrics.json").write_text(json.dumps(metrics, indent=2, sort_keys=True) + "\n")
    print("\n".join(f"  {k:<24} {v:.4f}" for k, v in sorted(metrics.items())))
    print(f"metrics written to {output_dir / 'metrics.json'}")
    return metrics


def backtest(model: Any, source: Any, stride: int | None, output_dir: Path) -> dict[str, float]:
    """`backtest=true`: the forecaster's rolling-origin evaluation over its data's test period,
    per origin into backtest.json; returns the overall scores as `backtest/*` metrics."""
    if "backtest" not in model.CAPABILITIES or not hasattr(source, "periods"):
        raise InputError(
            f"backtest=true evaluates a forecaster on its series; {type(model).__name__} on "
            f"{type(source).__name__} has none (drop backtest=true)"
        )
    series = source.read()
    _, test_start = source.periods(len(series))
    found = model.backtest(series, start=test_start, stride=stride)
    (output_dir / "backtest.json").write_text(json.dumps(found, indent=2) + "\n")
    where = output_dir / "backtest.json"
    print(f"backtest: {found['overall']['origins']} origins from step {test_start}, per origin in {where}")
    return {f"backtest/{k}": float(v) for k, v in found["overall"].items()}


def spread(runs: list[dict[str, float]]) -> dict[str, float]:
    """Each metric's mean over runs, and its standard deviation as `<metric>_std`."""
    import statistics

    summary = {}
    for key in runs[0]:
        values = [run[key] for run in runs]
        summary[key] = statistics.fmean(values)
        summary[f"{key}_std"] = statistics.stdev(values)
    return summary


@hydra.main(version_base="1.3", config_path=str(CONFIG_DIR), config_name="eval")
@reported("seqnet-eval")
def _run(cfg: DictConfig) -> None:
    evaluate(cfg)


def main() -> None:
    """Console script `seqnet-eval`."""
    launch("eval", "seqnet-eval", _run)
