"""`seqnet-eval`: test a checkpoint on its data set (or another one) without its training config.

seqnet-eval ckpt_path=logs/japanese_vowels/runs/<time>/checkpoints/best.ckpt
"""

from __future__ import annotations

import json
from pathlib import Path

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
    """Test `cfg.ckpt_path` on `cfg.data`, or on the data it was trained on; return test metrics."""
    apply_process_settings(cfg)  # before torch is imported: it sets the OpenMP wait policy
    import lightning as L

    tidy_lightning_output()

    from seqnet.cli.checkpoints import load_task, read_checkpoint_metadata

    meta = read_checkpoint_metadata(cfg.ckpt_path)
    model = load_task(cfg.ckpt_path, program="seqnet-eval")
    data_config = cfg.get("data") or meta.get("config", {}).get("data")
    if not data_config:
        raise InputError("the checkpoint holds no data config; pass data=<name> on the command line")
    datamodule = instantiate(data_config)
    trainer: L.Trainer = instantiate(cfg.trainer, logger=instantiate_group(cfg.get("logger")) or False)
    results = trainer.test(model, datamodule=datamodule)
    metrics = {k: float(v) for k, v in results[0].items()}
    output_dir = Path(cfg.paths.output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    (output_dir / "metrics.json").write_text(json.dumps(metrics, indent=2, sort_keys=True) + "\n")
    print(f"\nmetrics written to {output_dir / 'metrics.json'}")
    return metrics


@hydra.main(version_base="1.3", config_path=str(CONFIG_DIR), config_name="eval")
@reported("seqnet-eval")
def _run(cfg: DictConfig) -> None:
    evaluate(cfg)


def main() -> None:
    """Console script `seqnet-eval`."""
    launch("eval", "seqnet-eval", _run)
