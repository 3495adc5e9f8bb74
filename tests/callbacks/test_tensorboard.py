"""Confusion matrices, generated samples and decoded examples reach TensorBoard; each callback
ignores other tasks."""

import lightning as L
import pytest
import torch
from lightning.pytorch.loggers import TensorBoardLogger
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from seqnet.callbacks import (
    AnomalyFigure,
    ConfusionMatrixFigure,
    DecodedExamples,
    ForecastFigure,
    GeneratedSamples,
)
from seqnet.data import SequenceDataModule
from seqnet.data.sources import MusicSource
from seqnet.tasks import Forecaster, LanguageModel, ManyToMany, OneToMany, Seq2Seq, SequenceAutoencoder
from tests.data.sources.test_music import CHORALES


def fit(model, dm, tmp_path, callbacks, epochs=2, **options):
    logger = TensorBoardLogger(tmp_path, name="tb", version=0)
    trainer = L.Trainer(
        max_epochs=epochs, logger=logger, callbacks=callbacks, enable_progress_bar=False,
        enable_checkpointing=False, enable_model_summary=False, num_sanity_val_steps=1, **options,
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


@pytest.mark.parametrize(
    ("data", "withhold", "tags"),
    [
        ("toy_runs", False, {"samples/down", "samples/up"}),
        ("toy_runs", True, {"samples"}),
        ("toy_vector_runs", False, {f"samples/val{i}" for i in range(8)}),  # the first validation vectors
    ],
)
def test_a_one_to_many_model_logs_samples_per_condition_or_unconditioned_when_withheld(
    request, tmp_path, data, withhold, tags
):
    dm = request.getfixturevalue(data)
    torch.manual_seed(0)
    model = OneToMany(dm.spec, withhold_condition=withhold, encoder={"cell": "gru", "hidden_size": 8})
    events = fit(model, dm, tmp_path, [GeneratedSamples(n=2, max_new_tokens=5)], epochs=1)
    logged = {tag.removesuffix("/text_summary") for tag in events.Tags()["tensors"]}
    assert {tag for tag in logged if tag.startswith("samples")} == tags
    text = events.Tensors(f"{sorted(tags)[0]}/text_summary")[-1].tensor_proto.string_val[0].decode()
    assert text.count("    ") == 2


def test_melody_samples_are_also_written_as_midi_files_beside_the_run(tmp_path):
    music21 = pytest.importorskip("music21")
    data = SequenceDataModule(MusicSource("bach", files=CHORALES), batch_size=2)
    data.setup()
    torch.manual_seed(0)
    model = OneToMany(data.spec, encoder={"cell": "gru", "hidden_size": 8})
    samples = GeneratedSamples(n=2, max_new_tokens=6, midi=True)
    events = fit(model, data, tmp_path, [samples], epochs=1, default_root_dir=tmp_path)
    logged = events.Tensors("samples/minor/text_summary")[-1]
    folder = tmp_path / "samples" / f"step{logged.step}"
    texts = [text.strip() for text in logged.tensor_proto.string_val[0].decode().split("\n\n")]
    assert len(texts) == 2
    for number, text in enumerate(texts):
        midi = music21.midi.MidiFile()
        midi.open(folder / f"samples_minor_{number}.mid")
        midi.read()
        midi.close()
        notes = [e.pitch for t in midi.tracks for e in t.events if e.isNoteOn() and e.velocity > 0]
        assert notes == [int(event.split(":")[0]) for event in text.split() if event[0].isdigit()], text


@pytest.mark.parametrize(
    ("attention", "attention_maps", "maps_expected"),
    [("general", True, True), ("general", False, False), ("none", True, False)],
)
def test_seq2seq_logs_decoded_text_beside_references_and_attention_heatmaps(
    toy_pairs, tmp_path, attention, attention_maps, maps_expected
):
    torch.manual_seed(0)
    model = Seq2Seq(
        toy_pairs.spec,
        encoder={"cell": "gru", "hidden_size": 8},
        decoder={"hidden_size": 8, "attention": attention},
    )
    callbacks = [DecodedExamples(n=2, attention_maps=attention_maps), GeneratedSamples()]
    events = fit(model, toy_pairs, tmp_path, callbacks, epochs=1)
    table = events.Tensors("val/decoded/text_summary")[-1].tensor_proto.string_val[0].decode()
    assert table.startswith("| source | decoded | reference |") and table.count("\n") == 3
    source = " ".join(
        toy_pairs.spec.vocab[int(i)] for i in next(iter(toy_pairs.val_dataloader())).inputs[0] if i
    )
    assert f"| {source} |" in table, "the first validation example, the same every epoch"
    maps = [tag for tag in events.Tags()["images"] if tag.startswith("val/decoded_attention/")]
    assert sorted(maps) == (["val/decoded_attention/0", "val/decoded_attention/1"] if maps_expected else [])
    assert not any(tag.startswith("samples") for tag in events.Tags()["tensors"])


def test_a_forecaster_plots_validation_forecasts_every_epoch_and_a_tagger_none(series, toy_tags, tmp_path):
    torch.manual_seed(0)
    model = Forecaster(series.spec, encoder={"cell": "gru", "hidden_size": 8}, output="quantile")
    events = fit(model, series, tmp_path / "forecaster", [ForecastFigure(n=2)], epochs=2)
    images = events.Images("val/forecasts")
    assert len(images) == 2 and images[0].height > 200  # one per epoch, not for the sanity check
    tagger = ManyToMany(toy_tags.spec, encoder={"cell": "gru", "hidden_size": 8})
    events = fit(tagger, toy_tags, tmp_path / "tagger", [ForecastFigure()], epochs=1)
    assert "val/forecasts" not in events.Tags()["images"]


def test_an_anomaly_detector_plots_the_test_series_scores_and_threshold(tmp_path):
    from tests.tasks.test_autoencoder import spiked_module

    data = spiked_module(tmp_path)
    torch.manual_seed(0)
    model = SequenceAutoencoder(data.spec, encoder={"cell": "gru", "hidden_size": 8})
    logger = TensorBoardLogger(tmp_path, name="tb", version=0)
    trainer = L.Trainer(
        max_epochs=1, logger=logger, callbacks=[AnomalyFigure()], enable_progress_bar=False,
        enable_checkpointing=False, enable_model_summary=False,
    )  # fmt: skip
    trainer.fit(model, datamodule=data)
    trainer.test(model, datamodule=data, verbose=False)
    events = EventAccumulator(str(tmp_path / "tb" / "version_0"), size_guidance={"images": 0})
    events.Reload()
    assert len(events.Images("test/anomaly_scores")) == 1
