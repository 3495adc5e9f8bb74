"""Gradient-flow diagnostics: norms before clipping, the clipped share, explosions named, and the
input-gradient curve with its memory horizon, for every cell and under truncated BPTT."""

import logging
from types import SimpleNamespace

import lightning as L
import pytest
import torch
from lightning.pytorch.loggers import TensorBoardLogger
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from seqnet.callbacks import GradientFlow, memory_horizon
from seqnet.callbacks.gradient_flow import input_gradient_curve
from seqnet.data import collate_sequences
from seqnet.tasks import LanguageModel, ManyToMany, ManyToOne


def run(model, dm, tmp_path, flow, **options):
    """Fit with `flow` and a TensorBoard logger -> (scalars {tag: [(step, value)]}, image tags)."""
    logger = TensorBoardLogger(tmp_path, name="tb", version=0)
    settings = dict(
        max_epochs=1, enable_progress_bar=False, enable_checkpointing=False, enable_model_summary=False
    )
    trainer = L.Trainer(logger=logger, callbacks=[flow], **{**settings, **options})
    trainer.fit(model, datamodule=dm)
    events = EventAccumulator(str(tmp_path / "tb" / "version_0"), size_guidance={"images": 0, "scalars": 0})
    events.Reload()
    scalars = {tag: [(e.step, e.value) for e in events.Scalars(tag)] for tag in events.Tags()["scalars"]}
    return scalars, events.Tags()["images"]


def test_the_horizon_counts_steps_back_above_the_fraction():
    assert memory_horizon(torch.tensor([1.0, 0.5, 0.02, 0.005, 0.5]), 0.01) == 3  # the first drop ends it
    assert memory_horizon(torch.tensor([1.0, 0.5, 0.2]), 0.01) == 3  # never drops: the whole length


def test_the_curve_counts_back_from_each_rows_last_step(adding):
    """With no recurrence, only the last step's input reaches the loss: the curve is non-zero at
    0 steps back alone, in rows of every length (padding does not shift it)."""
    torch.manual_seed(0)
    model = ManyToOne(adding.spec, encoder={"cell": "rnn", "hidden_size": 8, "bidirectional": False})
    with torch.no_grad():
        model.encoder.layers[0].rnn.weight_hh_l0.zero_()
    batch = collate_sequences(adding.datasets["val"][:6])
    batch.lengths[:3] = torch.tensor([4, 7, 2])  # shorter rows: their last step moves
    curve = input_gradient_curve(model, batch)
    assert curve.shape == (10,) and curve[0] > 0
    assert torch.all(curve[1:] == 0)
    assert model.training  # left as it was found


@pytest.mark.parametrize("cell", ["lstm", "gru", "mingru"])
def test_a_one_batch_run_logs_norms_per_gate_and_the_horizon(adding, tmp_path, cell):
    torch.manual_seed(0)
    model = ManyToOne(adding.spec, encoder={"cell": cell, "hidden_size": 8})
    scalars, images = run(model, adding, tmp_path, GradientFlow(), limit_train_batches=1, limit_val_batches=1)
    gates = {"lstm": "forget", "gru": "update", "mingru": "candidate"}[cell]
    assert any(tag.endswith(f"/{gates}") for tag in scalars), sorted(scalars)
    assert "grad_2.0_norm_total" in scalars
    assert images == ["gradient_flow/input_gradient"]
    ((step, horizon),) = scalars["gradient_flow/memory_horizon"]
    assert step == 1 and 1 <= horizon <= 10


@pytest.mark.parametrize("tbptt", [None, 4])
def test_norms_are_read_before_clipping_under_either_optimisation(toy_corpus, tmp_path, tbptt):
    """A tiny clip value changes every step, and a huge one none: the callback sees the gradients
    before the task clips them, under automatic and manual (truncated BPTT) optimisation alike."""
    shares = []
    for clip in (1e-4, 1e4):
        torch.manual_seed(0)
        model = LanguageModel(
            toy_corpus.spec,
            encoder={"cell": "gru", "hidden_size": 8},
            gradient_clip_val=clip,
            tbptt_steps=tbptt,
        )
        flow = GradientFlow(every_n_steps=3)
        scalars, _ = run(model, toy_corpus, tmp_path / str(clip), flow, max_steps=3, limit_val_batches=0)
        shares.append(scalars["gradient_flow/clipped_fraction"][-1][1])
    assert shares == [1.0, 0.0]


def test_a_tagger_measures_from_its_last_steps_loss(toy_tags, tmp_path):
    """Per-step tasks probe the loss at the last step only: with a unidirectional encoder, steps
    after a row's end cannot reach it, and the curve is finite where it is measured."""
    torch.manual_seed(0)
    model = ManyToMany(toy_tags.spec, encoder={"cell": "lstm", "hidden_size": 8, "bidirectional": False})
    batch = collate_sequences(toy_tags.datasets["val"][:8], target_pad_value=-100)
    curve = input_gradient_curve(model, batch)
    assert curve.shape == (int(batch.lengths.max()),) and torch.isfinite(curve).all() and curve[0] > 0
    full = model.step(batch).loss
    last = model.probe_loss(batch)
    assert not torch.isclose(full, last)  # the last step's loss, not the sequence's


def test_an_exploding_step_is_named(caplog):
    flow = GradientFlow()
    trainer = SimpleNamespace(is_global_zero=True, current_epoch=3)
    flow.pending = [(step, step % 7, torch.tensor(1.0 + 0.01 * step)) for step in range(20)]
    flow.pending.append((20, 5, torch.tensor(500.0)))
    with caplog.at_level(logging.WARNING):
        flow._flush(trainer)
    (record,) = [r for r in caplog.records if "exploding gradient" in r.getMessage()]
    assert "step 20 (batch 5 of epoch 3)" in record.getMessage()
    assert flow.pending == []


def test_a_jump_over_near_zero_gradients_is_not_called_exploding(caplog):
    """A model that fits its training batches: median norm 0.002, a batch at 0.4 (200x) is ordinary."""
    flow = GradientFlow()
    trainer = SimpleNamespace(is_global_zero=True, current_epoch=28)
    flow.pending = [(step, step, torch.tensor(0.002)) for step in range(20)] + [(20, 20, torch.tensor(0.4))]
    with caplog.at_level(logging.WARNING):
        flow._flush(trainer)
    assert not [r for r in caplog.records if "exploding gradient" in r.getMessage()]


@pytest.mark.parametrize(("every", "steps"), [(5, [8, 16]), (10, [16]), (100, [16])])
def test_the_curve_is_measured_every_n_steps_at_epoch_ends_and_once_at_the_end(
    adding, tmp_path, every, steps
):
    torch.manual_seed(0)
    model = ManyToOne(adding.spec, encoder={"cell": "gru", "hidden_size": 8})  # 8 batches an epoch
    flow = GradientFlow(horizon_every_n_steps=every)
    scalars, _ = run(model, adding, tmp_path, flow, max_epochs=2, limit_val_batches=1)
    assert [step for step, _ in scalars["gradient_flow/memory_horizon"]] == steps
