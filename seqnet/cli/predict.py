"""`seqnet-predict`: predict a file with a checkpoint alone (vocabularies and scaling come from it).

seqnet-predict ckpt_path=<run>/checkpoints/best.ckpt input=reviews.txt output=predictions.jsonl
seqnet-predict ckpt_path=<forecaster run>/checkpoints/best.ckpt input=series.csv output=forecast.csv
"""

from __future__ import annotations

from pathlib import Path

import hydra
from omegaconf import DictConfig

from seqnet.cli.config_dir import CONFIG_DIR
from seqnet.cli.console import tidy_lightning_output
from seqnet.cli.launch import launch, reported
from seqnet.cli.process import apply_process_settings
from seqnet.errors import InputError


def predict(cfg: DictConfig) -> Path:
    """Write predictions for every sequence of `cfg.input`; return the output file."""
    apply_process_settings(cfg)  # before torch is imported: it sets the OpenMP wait policy
    import lightning as L

    tidy_lightning_output()
    from torch.utils.data import DataLoader

    from seqnet.callbacks import PredictionWriter
    from seqnet.cli.checkpoints import load_task
    from seqnet.data import collate_sequences
    from seqnet.data.prediction import read_prediction_inputs

    model = load_task(cfg.ckpt_path, program="seqnet-predict", capability="predict")
    horizon = cfg.get("horizon")
    if horizon:
        if not hasattr(model, "predict_horizon"):
            raise InputError(f"horizon={horizon} applies to forecasters; {type(model).__name__} has none")
        model.predict_horizon = int(horizon)
        model.steps_to_forecast()  # refuses a model that cannot step that far, before reading
    inputs = read_prediction_inputs(cfg.input, model.spec, cfg.input_format, horizon)
    output = Path(cfg.output) if cfg.get("output") else Path(cfg.paths.output_dir) / "predictions.jsonl"
    output_format = cfg.get("format") or ("csv" if output.suffix.lower() == ".csv" else "jsonl")
    writer = PredictionWriter(output, inputs, output_format)
    loader = DataLoader(
        [one.item() for one in inputs],
        batch_size=cfg.batch_size,
        collate_fn=lambda items: collate_sequences(items, pad_value=model.spec.pad_id),
    )
    trainer = L.Trainer(
        accelerator=cfg.accelerator,
        devices=1,
        logger=False,
        callbacks=[writer],
        enable_progress_bar=False,
        enable_model_summary=False,
        default_root_dir=cfg.paths.output_dir,
    )
    trainer.predict(model, dataloaders=loader, return_predictions=False)
    print(f"{writer.count} predictions written to {output}")
    return output


@hydra.main(version_base="1.3", config_path=str(CONFIG_DIR), config_name="predict")
@reported("seqnet-predict")
def _run(cfg: DictConfig) -> None:
    predict(cfg)


def main() -> None:
    """Console script `seqnet-predict`."""
    launch("predict", "seqnet-predict", _run)
