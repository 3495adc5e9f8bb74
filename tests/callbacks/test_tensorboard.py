"""Confusion matrices and generated samples reach TensorBoard; each callback ignores other tasks."""

import lightning as L
import torch
from lightning.pytorch.loggers import TensorBoardLogger
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from seqnet.callbacks import ConfusionMatrixFigure, GeneratedSamples
from seqnet.tasks import LanguageModel, ManyToMany


def fit(model, dm, tmp_path, callbacks, epochs=2):
    logger = TensorBoardLogger(tmp_path, name="tb", version=0)
    trainer = L.Trainer(
        max_epochs=epochs, logger=logger, callbacks=callbacks, enable_progress_bar=False,
        enable_checkpointing=False, enable_model_summary=False, num_sanity_val_steps=1,
    )  # fmt: skip
    trainer.fit(model, datamodule=dm)
    events = EventAccumulator(str(tmp_path / "tb" / "version_0"), size_guidance={"images": 0, "tensors": 0})
    events.Reload()
    return events


def test_a_tagger_logs_a_confusion_matrix_per_validation_and_no_samples(toy_tags, tmp_path):
    torch.manual_seed(0)
    model = ManyToMany(toy_tags.spec, encoder={"cell": "gru", "hidden_size": 8})
    events = fit(
        model, toy_tags, tmp_path, [ConfusionMatrixFigure(every_n_epochs=2), GeneratedSamples()], epochs=3
    )
    images = events.Images("val/confusion_matrix")
    per_epoch = len(toy_tags.train_dataloader())
    assert [image.step for image in images] == [per_epoch, 3 * per_epoch]  # epochs 0 and 2 (the last)
    assert images[0].width > 100 and images[0].height > 100
    assert not any(tag.startswith("samples") for tag in events.Tags()["tensors"])


def test_a_language_model_logs_text_samples_per_validation(toy_corpus, tmp_path):
    torch.manual_seed(0)
    model = LanguageModel(toy_corpus.spec, encoder={"cell": "gru", "hidden_size": 8})
    events = fit(
        model,
        toy_corpus,
        tmp_path,
        [ConfusionMatrixFigure(), GeneratedSamples("the ", n=2, max_new_tokens=10)],
    )
    samples = events.Tensors("samples/text_summary")
    assert len(samples) == 2
    text = samples[-1].tensor_proto.string_val[0].decode()
    assert text.count("    the ") == 2
    assert "val/confusion_matrix" not in events.Tags()["images"]
