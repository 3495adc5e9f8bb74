"""Checkpoint formats: older files load as the models they were, newer ones are refused."""

from pathlib import Path

import pytest
import torch

from seqnet.data import SeqBatch
from seqnet.tasks import Forecaster, ManyToOne, Seq2Seq
from tests.tasks.conftest import quiet_trainer

FIXTURES = Path(__file__).parent / "fixtures"


def saved(model, dm, path: Path) -> Path:
    """`model` after one training step on `dm`, written to `path` as seqnet-train writes it."""
    trainer = quiet_trainer(path.parent, max_steps=1, limit_val_batches=0)
    trainer.fit(model, datamodule=dm)
    trainer.save_checkpoint(path)
    return path


def predictions(model, batch) -> dict[str, torch.Tensor]:
    with torch.no_grad():
        return {k: v for k, v in model.predict_step(batch).items() if isinstance(v, torch.Tensor)}


def test_a_format_1_checkpoint_loads_and_predicts_what_it_did():
    """The fixture was written by seqnet at 2adbc48 (format 1): a bidirectional LSTM-under-GRU
    stack with learned initial states and attention pooling, and its predictions on 8 test series."""
    model = ManyToOne.load_from_checkpoint(FIXTURES / "v1_many_to_one.ckpt", map_location="cpu")
    expected = torch.load(FIXTURES / "v1_many_to_one_expected.pt", weights_only=True)
    batch = SeqBatch(expected["inputs"], expected["lengths"], torch.zeros(8, dtype=torch.long))
    assert not model.training
    torch.testing.assert_close(predictions(model, batch)["probs"], expected["probs"], atol=1e-6, rtol=0)


@pytest.mark.parametrize("task, name", [(ManyToOne, "many_to_one"), (Forecaster, "forecaster")])
def test_a_format_2_checkpoint_loads_with_the_defaults_it_was_trained_under(task, name):
    """The fixtures were written by seqnet at 934d471 (format 2) from tasks built with no encoder
    (then an LSTM-128 for every task) and, for the forecaster, before the seasonal-naive anchor;
    today's defaults (a BiLSTM classifier, a GRU forecaster with the anchor) must not apply."""
    model = task.load_from_checkpoint(FIXTURES / f"v2_{name}.ckpt", map_location="cpu")
    expected = torch.load(FIXTURES / f"v2_{name}_expected.pt", weights_only=True)
    assert model.encoder_config["cell"] == "lstm" and not model.encoder.bidirectional
    got = predictions(model, SeqBatch(**expected["batch"]))
    for key, value in expected["preds"].items():
        torch.testing.assert_close(got[key], value, atol=1e-5, rtol=0)


def test_a_format_2_seq2seq_decodes_with_the_decoder_of_its_day(toy_pairs, tmp_path):
    """A format-2 file records `decoder: None`: it was a 128-unit decoder, not today's 256."""
    old = Seq2Seq(
        toy_pairs.spec,
        encoder={"cell": "lstm", "hidden_size": 128, "bidirectional": False},
        decoder={"hidden_size": 128},
    )
    path = saved(old, toy_pairs, tmp_path / "model.ckpt")
    checkpoint = torch.load(path, weights_only=True)
    checkpoint["hyper_parameters"].update(encoder=None, decoder=None)
    checkpoint["seqnet"]["format_version"] = 2
    torch.save(checkpoint, path)
    loaded = Seq2Seq.load_from_checkpoint(path, map_location="cpu")
    batch = next(iter(toy_pairs.test_dataloader()))
    old.eval()
    torch.testing.assert_close(predictions(loaded, batch), predictions(old, batch))


def test_a_format_2_checkpoint_loads_from_a_url_and_a_file_object_too():
    """Lightning reads checkpoints from URLs (fsspec) and open files; so does the upgrade."""
    path = FIXTURES / "v2_many_to_one.ckpt"
    expected = torch.load(FIXTURES / "v2_many_to_one_expected.pt", weights_only=True)
    with path.open("rb") as file:
        sources = [path.resolve().as_uri(), file]
        for source in sources:
            model = ManyToOne.load_from_checkpoint(source, map_location="cpu")
            probs = predictions(model, SeqBatch(**expected["batch"]))["probs"]
            torch.testing.assert_close(probs, expected["preds"]["probs"], atol=1e-5, rtol=0)


def test_a_checkpoint_records_the_defaults_it_was_built_with(vowels, tmp_path, monkeypatch):
    path = saved(ManyToOne(vowels.spec), vowels, tmp_path / "model.ckpt")
    monkeypatch.setattr(ManyToOne, "DEFAULT_ENCODER", {"cell": "gru", "hidden_size": 16})
    model = ManyToOne.load_from_checkpoint(path, map_location="cpu")
    assert model.encoder_config["cell"] == "lstm" and model.encoder.bidirectional


def test_a_checkpoint_from_a_newer_format_is_refused(vowels, tmp_path):
    model = ManyToOne(vowels.spec, encoder={"cell": "gru", "hidden_size": 32})
    path = saved(model, vowels, tmp_path / "model.ckpt")
    checkpoint = torch.load(path, weights_only=True)
    checkpoint["seqnet"]["format_version"] = 99
    torch.save(checkpoint, path)
    with pytest.raises(ValueError, match="checkpoint format 99 is newer"):
        ManyToOne.load_from_checkpoint(path)
