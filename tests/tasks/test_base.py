"""What every task gets from SequenceModule: no Hydra inside, settings for HPARAMS, prediction
through Lightning, eval mode after loading, optimizer classes checked up front, training metrics
pooled over short epochs."""

import ast
import csv
from pathlib import Path

import pytest
import torch
from lightning.pytorch.loggers import CSVLogger

import seqnet
from seqnet.tasks import ManyToMany, ManyToOne
from tests.tasks.conftest import quiet_trainer

PACKAGE = Path(seqnet.__file__).parent


@pytest.mark.parametrize("layer", ["tasks", "nn"])
def test_tasks_and_nn_never_import_hydra_or_omegaconf(layer):
    offenders = []
    for path in (PACKAGE / layer).rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            offenders += [f"{path.name}: {n}" for n in names if n.split(".")[0] in ("hydra", "omegaconf")]
    assert not offenders


def test_hparams_summary_holds_the_settings_users_compare_and_no_vocabulary(toy_tags):
    model = ManyToMany(
        toy_tags.spec,
        encoder={"cell": ["lstm", "gru"], "hidden_size": 24, "bidirectional": True},
        optimizer={"_target_": "torch.optim.SGD", "lr": 0.5},
    )
    summary = model.hparams_summary()
    assert summary["task"] == "ManyToMany" and summary["data"] == "toy_ner"
    assert summary["encoder/cell"] == "lstm,gru" and summary["encoder/hidden_size"] == 24
    assert summary["encoder/bidirectional"] is True and summary["encoder/num_layers"] == 2
    assert summary["optimizer"] == "SGD" and summary["optimizer/lr"] == 0.5
    assert not any(key.startswith("spec") or "vocab" in key for key in summary)
    assert all(isinstance(v, (str, int, float, bool, type(None))) for v in summary.values())


@pytest.mark.parametrize("fixture", ["vowels", "toy_tags"])
def test_trainer_predict_works_with_the_datamodule_in_source_order(fixture, request, tmp_path):
    dm = request.getfixturevalue(fixture)
    model = (ManyToOne if fixture == "vowels" else ManyToMany)(
        dm.spec, encoder={"cell": "gru", "hidden_size": 8}
    )
    predictions = quiet_trainer(tmp_path).predict(model, datamodule=dm)
    assert sum(len(p["preds"]) for p in predictions) == len(dm.datasets["test"])
    assert predictions[0]["probs"].shape[0] == dm.eval_batch_size or len(predictions) == 1
    collate = dm.predict_dataloader().collate_fn
    model.eval()  # the Trainer puts it back in training mode, where dropout acts
    for batch_number, row, example in ((0, 0, dm.datasets["test"][0]), (-1, -1, dm.datasets["test"][-1])):
        with torch.no_grad():
            alone = model.predict_step(collate([example]))["probs"][0]  # (C,) or (T, C)
        predicted = predictions[batch_number]["probs"][row]
        if predicted.dim() == 2:  # per step: the example's own steps, padding dropped
            predicted = predicted[: len(example[0])]
        torch.testing.assert_close(predicted, alone, atol=1e-6, rtol=0)


def test_a_loaded_model_predicts_in_eval_mode(vowels, tmp_path):
    model = ManyToOne(vowels.spec, encoder={"cell": "gru", "hidden_size": 8}, dropout=0.5)
    trainer = quiet_trainer(tmp_path, max_steps=1, limit_val_batches=0)
    trainer.fit(model, datamodule=vowels)
    trainer.save_checkpoint(tmp_path / "model.ckpt")
    loaded = ManyToOne.load_from_checkpoint(tmp_path / "model.ckpt")
    batch = next(iter(vowels.test_dataloader()))
    assert not loaded.training
    torch.testing.assert_close(loaded.predict_step(batch)["probs"], loaded.predict_step(batch)["probs"])


def test_an_unknown_optimizer_or_scheduler_fails_when_the_task_is_built(vowels):
    with pytest.raises(ValueError, match=r"optimizer class 'torch\.optim\.Adamm' cannot be imported"):
        ManyToOne(vowels.spec, optimizer={"_target_": "torch.optim.Adamm", "lr": 0.1})
    with pytest.raises(ValueError, match="scheduler config needs a _target_"):
        ManyToOne(vowels.spec, scheduler={"step_size": 3})


@pytest.mark.parametrize("log_every_n_steps, epochs", [(50, [3, 4]), (1, [0, 1, 2, 3, 4])])
def test_short_epochs_pool_their_training_metrics_and_the_last_epoch_logs(
    vowels, tmp_path, log_every_n_steps, epochs
):
    """Two-batch epochs: training metrics cover 8 steps (epochs 0-3), then the last epoch's own;
    `log_every_n_steps=1` asks for every epoch."""
    model = ManyToOne(vowels.spec, encoder={"cell": "gru", "hidden_size": 8})
    logger = CSVLogger(tmp_path, name="", version="")
    trainer = quiet_trainer(
        tmp_path, logger=logger, max_epochs=5, limit_train_batches=2, limit_val_batches=0,
        log_every_n_steps=log_every_n_steps,
    )  # fmt: skip
    trainer.fit(model, datamodule=vowels)
    rows = list(csv.DictReader((tmp_path / "metrics.csv").open()))
    assert [int(row["epoch"]) for row in rows if row.get("train/acc")] == epochs
