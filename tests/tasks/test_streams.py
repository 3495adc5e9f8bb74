"""Stateful streams in a task: the state carried from batch to batch, per stage and in checkpoints."""

import pytest
import torch

from seqnet.data import SeqBatch, SequenceDataModule
from seqnet.data.sources import TextCorpusSource
from seqnet.errors import InputError
from seqnet.nn import EncoderState
from seqnet.tasks import LanguageModel, ManyToOne
from seqnet.tasks.streams import StreamStates
from tests.tasks.conftest import quiet_trainer

LSTM = {"cell": "lstm", "hidden_size": 16}


@pytest.fixture
def one_document(tmp_path) -> SequenceDataModule:
    (tmp_path / "a.txt").write_text("the cat sat on the mat, the dog sat on the log. " * 30)
    dm = SequenceDataModule(
        TextCorpusSource([str(tmp_path / "a.txt")], seq_len=12), batch_size=3, stateful=True
    )
    dm.setup()
    return dm


def test_streamed_batches_score_each_stream_as_one_pass_over_its_whole_text(one_document):
    """Validation carries the state: the batches of 12-character windows score every step as one
    pass over each row's whole run of windows does (eval mode, one document: no restarts)."""
    torch.manual_seed(0)
    model = LanguageModel(one_document.spec, encoder=LSTM).eval()
    batches = list(one_document.val_dataloader())
    total, weight = 0.0, 0
    with torch.no_grad():
        for batch in batches:
            out = model._evaluated(batch, "val")
            total, weight = total + out.loss * out.weight, weight + out.weight
        lengths = torch.stack([b.lengths for b in batches]).sum(0)  # (B,) every window is full
        joined = SeqBatch(
            torch.cat([b.inputs for b in batches], 1),
            lengths,
            torch.cat([b.targets for b in batches], 1),
            lengths,
        )
        whole = model.step(joined)
    assert weight == whole.weight
    torch.testing.assert_close(total / weight, whole.loss, atol=1e-5, rtol=1e-5)


def test_rows_that_start_over_take_the_initial_state_and_the_others_the_carried_one():
    streams = StreamStates()
    carried = EncoderState(((torch.ones(1, 2, 3),),))
    streams.end("train", carried)
    started = streams.start(
        "train", _Batch(torch.tensor([True, False])), lambda: EncoderState(((torch.full((1, 2, 3), 7.0),),))
    )
    assert started[0][0][0, 0].tolist() == [1.0] * 3 and started[0][0][0, 1].tolist() == [7.0] * 3
    assert (
        streams.start("val", _Batch(torch.tensor([True, True])), lambda: carried) is None
    )  # nothing carried


class _Batch:
    def __init__(self, continues):
        self.continues, self.inputs = continues, torch.zeros(len(continues), 4)

    def __len__(self):
        return len(self.continues)


def test_the_training_streams_state_travels_in_the_checkpoint(one_document, tmp_path):
    model = LanguageModel(one_document.spec, encoder=LSTM, tbptt_steps=4)
    trainer = quiet_trainer(tmp_path, max_epochs=1, limit_train_batches=3, limit_val_batches=0)
    trainer.fit(model, datamodule=one_document)
    trainer.save_checkpoint(tmp_path / "model.ckpt")
    loaded = LanguageModel.load_from_checkpoint(tmp_path / "model.ckpt")
    for mine, theirs in zip(model.streams.carried["train"], loaded.streams.carried["train"], strict=True):
        torch.testing.assert_close(mine, theirs)


def test_a_task_that_reads_sequences_whole_refuses_streams(one_document, tmp_path, vowels):
    model = ManyToOne(vowels.spec, encoder={"cell": "gru", "hidden_size": 8})
    trainer = quiet_trainer(tmp_path, max_steps=1)
    with pytest.raises(InputError, match=r"ManyToOne reads each sequence whole, so data\.stateful=true"):
        trainer.fit(model, datamodule=one_document)
