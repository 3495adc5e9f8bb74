"""Truncated BPTT: chunks of a batch, the state carried between them, one optimizer step each."""

import pytest
import torch
from lightning.pytorch.utilities.exceptions import MisconfigurationException

from seqnet.data import SeqBatch, collate_sequences
from seqnet.errors import InputError
from seqnet.tasks import LanguageModel, ManyToMany, ManyToOne, OneToMany
from seqnet.tasks.truncated_bptt import chunk_sizes, scaled_learning_rate, time_chunks
from tests.tasks.conftest import quiet_trainer

GRU = {"cell": "gru", "hidden_size": 16}
LSTM = {"cell": "lstm", "hidden_size": 16, "bidirectional": False}  # a tagger defaults to both ways
SGD = {"_target_": "torch.optim.SGD", "lr": 0.5}


def test_chunks_cover_the_batch_and_rows_that_ended_score_nothing():
    inputs = torch.arange(2 * 10).view(2, 10)
    batch = SeqBatch(inputs, torch.tensor([10, 3]), inputs + 1, torch.tensor([10, 3]))
    chunks = time_chunks(batch, chunk_sizes(10, 4))
    assert [c.inputs.shape[1] for c in chunks] == [4, 4, 2]
    assert torch.equal(torch.cat([c.inputs for c in chunks], 1), inputs)
    assert torch.equal(torch.cat([c.targets for c in chunks], 1), inputs + 1)
    assert [c.lengths.tolist() for c in chunks] == [[4, 3], [4, 1], [2, 1]]  # the encoder takes no 0
    assert [c.target_lengths.tolist() for c in chunks] == [[4, 3], [4, 0], [2, 0]]


@pytest.mark.parametrize("fixture", ["toy_corpus", "toy_tags"])
def test_chunks_read_with_the_carried_state_give_the_whole_batch_loss(fixture, request):
    """In eval mode (no dropout) the chunks, each started from the state the previous one ended
    in, score every step as one pass over the whole batch does."""
    dm = request.getfixturevalue(fixture)
    task = LanguageModel if fixture == "toy_corpus" else ManyToMany
    torch.manual_seed(0)
    model = task(dm.spec, encoder=LSTM, tbptt_steps=5).eval()
    batch = collate_sequences(dm.datasets["train"][:8], target_pad_value=dm.spec.pad_id or 0)
    whole = model.step(batch)
    state, total, weight = model.batch_state(batch), 0.0, 0
    with torch.no_grad():
        for chunk in time_chunks(batch, chunk_sizes(int(batch.lengths.max()), 5)):
            out, state = model.step_from(chunk, state)
            total, weight = total + out.loss * out.weight, weight + out.weight
    assert weight == whole.weight
    torch.testing.assert_close(total / weight, whole.loss.detach(), atol=1e-5, rtol=1e-5)


def fitted(dm, tmp_path, **options):
    torch.manual_seed(0)
    model = LanguageModel(dm.spec, encoder=GRU, optimizer=SGD, **options)
    trainer = quiet_trainer(tmp_path, max_steps=3, limit_val_batches=0)
    trainer.fit(model, datamodule=dm)
    return model, trainer


@pytest.mark.parametrize("clip", [1.0, 0.01])  # 0.01 clips every step: both paths must clip alike
def test_one_chunk_trains_bit_for_bit_as_the_automatic_path(toy_corpus, tmp_path, clip):
    automatic, _ = fitted(toy_corpus, tmp_path / "a", gradient_clip_val=clip)
    truncated, trainer = fitted(toy_corpus, tmp_path / "b", tbptt_steps=10_000, gradient_clip_val=clip)
    assert not truncated.automatic_optimization and trainer.global_step == 3
    for (name, a), b in zip(automatic.state_dict().items(), truncated.state_dict().values(), strict=True):
        torch.testing.assert_close(a, b, atol=1e-6, rtol=0, msg=name)


def test_each_chunk_is_an_optimizer_step_and_step_schedulers_follow_them(toy_corpus, tmp_path):
    steps = toy_corpus.datasets["train"][0][0].shape[0]  # windows of equal length
    scheduler = {"_target_": "torch.optim.lr_scheduler.StepLR", "step_size": 1, "gamma": 0.5}
    _, trainer = fitted(
        toy_corpus, tmp_path, tbptt_steps=steps // 4, scheduler={**scheduler, "interval": "step"}
    )
    assert trainer.global_step == 3  # max_steps counts chunks: three of the first batch's four
    assert trainer.optimizers[0].param_groups[0]["lr"] == pytest.approx(0.5 * 0.5**3)


def test_epoch_schedulers_step_once_an_epoch(toy_corpus, tmp_path):
    torch.manual_seed(0)
    scheduler = {"_target_": "torch.optim.lr_scheduler.StepLR", "step_size": 1, "gamma": 0.5}
    model = LanguageModel(toy_corpus.spec, encoder=GRU, optimizer=SGD, scheduler=scheduler, tbptt_steps=8)
    trainer = quiet_trainer(tmp_path, max_epochs=2, limit_train_batches=2, limit_val_batches=0)
    trainer.fit(model, datamodule=toy_corpus)
    assert trainer.optimizers[0].param_groups[0]["lr"] == pytest.approx(0.5 * 0.5**2)


def test_a_conditioned_generator_carries_its_condition_across_chunks(toy_runs, tmp_path):
    model = OneToMany(toy_runs.spec, encoder=GRU, tbptt_steps=3)
    trainer = quiet_trainer(tmp_path, max_steps=4, limit_val_batches=0)
    trainer.fit(model, datamodule=toy_runs)
    assert trainer.global_step == 4 and torch.isfinite(trainer.callback_metrics["train/loss"])


def test_jittered_chunks_vary_around_their_mean_and_scale_each_step_by_its_length(toy_corpus, tmp_path):
    torch.manual_seed(0)
    sizes = chunk_sizes(10_000, 70, jitter=0.1)
    assert sum(sizes) == 10_000 and len(set(sizes)) > 5 and 60 < sum(sizes) / len(sizes) < 80
    torch.manual_seed(0)
    assert chunk_sizes(10_000, 70, jitter=0.1) == sizes  # seeded: a resumed run draws the same
    weight = torch.nn.Parameter(torch.ones(1))
    optimizer = torch.optim.SGD([weight], lr=0.1)
    weight.grad = torch.ones(1)
    with scaled_learning_rate(optimizer, 2.0):  # a chunk twice the mean length: twice the step
        optimizer.step()
    assert weight.item() == pytest.approx(0.8) and optimizer.param_groups[0]["lr"] == 0.1
    model = LanguageModel(toy_corpus.spec, encoder=GRU, optimizer=SGD, tbptt_steps=8, tbptt_jitter=0.3)
    trainer = quiet_trainer(tmp_path, max_epochs=1, limit_train_batches=2, limit_val_batches=0)
    trainer.fit(model, datamodule=toy_corpus)
    assert trainer.optimizers[0].param_groups[0]["lr"] == 0.5 and trainer.global_step >= 2


def test_gradient_accumulation_is_refused_by_name(toy_corpus, tmp_path):
    model = LanguageModel(toy_corpus.spec, encoder=GRU, tbptt_steps=8)
    trainer = quiet_trainer(tmp_path, max_steps=1, accumulate_grad_batches=2)
    with pytest.raises(MisconfigurationException, match="accumulate_grad_batches"):
        trainer.fit(model, datamodule=toy_corpus)


def test_settings_that_contradict_it_are_refused_with_the_reason(toy_corpus, toy_tags, vowels):
    with pytest.raises(InputError, match=r"reads each sequence whole.*LanguageModel"):
        ManyToOne(vowels.spec, tbptt_steps=8)
    with pytest.raises(InputError, match="bidirectional"):
        ManyToMany(toy_tags.spec, tbptt_steps=8)  # the tagger's default encoder reads both ways
    with pytest.raises(InputError, match="positive"):
        LanguageModel(toy_corpus.spec, tbptt_steps=0)
    with pytest.raises(InputError, match="needs tbptt_steps"):
        LanguageModel(toy_corpus.spec, tbptt_jitter=0.1)
