import pytest
import torch
from torch.nn import functional as F

from seqnet.data import collate_sequences
from seqnet.tasks import Seq2Seq
from tests.tasks.conftest import fit_one_batch, quiet_trainer

ENCODER = {"cell": "gru", "hidden_size": 32, "bidirectional": True}
DECODER = {"cell": "lstm", "hidden_size": 48, "attention": "general", "input_feed": True}


def batch_of(dm, split="train", size=8):
    return collate_sequences(
        dm.datasets[split][:size], pad_value=dm.spec.pad_id, target_pad_value=dm.spec.pad_id
    )


@pytest.fixture(scope="module")
def trained(toy_pairs, tmp_path_factory):
    torch.manual_seed(0)
    model = Seq2Seq(
        toy_pairs.spec, encoder=ENCODER, decoder=DECODER, embedding_dim=16,
        optimizer={"_target_": "torch.optim.Adam", "lr": 1e-2},
    )  # fmt: skip
    trainer = quiet_trainer(tmp_path_factory.mktemp("s2s"), max_epochs=12, enable_checkpointing=False)
    trainer.fit(model, datamodule=toy_pairs)
    return model.eval()


def test_a_tiny_batch_is_overfit_and_then_decoded_exactly(toy_pairs):
    torch.manual_seed(0)
    model = Seq2Seq(toy_pairs.spec, encoder=ENCODER, decoder=DECODER, embedding_dim=16)
    batch = batch_of(toy_pairs)
    assert fit_one_batch(model, batch, steps=150) < 0.05
    model.eval()
    decoded = model.decode(batch.inputs, batch.lengths)
    assert model.token_strings(decoded.tokens, decoded.lengths) == model.token_strings(
        batch.targets, batch.target_lengths
    )


def test_validation_decodes_and_reports_sequence_accuracy_token_error_rate_and_bleu(
    trained, toy_pairs, tmp_path
):
    result = quiet_trainer(tmp_path).test(trained, datamodule=toy_pairs, verbose=False)[0]
    assert {"test/loss", "test/seq_acc", "test/ter", "test/bleu"} <= set(result)
    assert result["test/seq_acc"] > 0.8 and result["test/ter"] < 0.05, result


@torch.no_grad()
def test_beam_one_is_greedy_and_beam_four_is_at_least_as_likely(trained, toy_pairs):
    batch = batch_of(toy_pairs, "test", 64)
    greedy = trained.decode(batch.inputs, batch.lengths, beam_size=1)
    trained.length_penalty = 0.0  # rank by log-probability, what this test compares
    try:
        beam = trained.decode(batch.inputs, batch.lengths, beam_size=4)
    finally:
        trained.length_penalty = 1.0
    assert beam.scores.mean() >= greedy.scores.mean() - 1e-5
    assert torch.all(beam.scores >= greedy.scores - 1e-4)


@torch.no_grad()
def test_decoded_scores_are_the_models_log_probabilities_of_those_tokens(trained, toy_pairs):
    batch = batch_of(toy_pairs, "test", 16)
    decoded = trained.decode(batch.inputs, batch.lengths, beam_size=3)
    logits, _, _ = trained(
        batch.inputs, batch.lengths, trained.decoder_inputs(decoded.tokens), decoded.lengths
    )
    log_probs = F.log_softmax(logits, -1).gather(2, decoded.tokens.unsqueeze(2)).squeeze(2)
    mask = torch.arange(decoded.tokens.shape[1]).unsqueeze(0) < decoded.lengths.unsqueeze(1)
    assert torch.allclose((log_probs * mask).sum(1), decoded.scores, atol=1e-4)


@torch.no_grad()
def test_stepping_with_the_reference_prefix_gives_the_teacher_forced_logits(trained, toy_pairs):
    batch = batch_of(toy_pairs, "test", 8)
    inputs = trained.decoder_inputs(batch.targets)
    logits, _, enc = trained(batch.inputs, batch.lengths, inputs, batch.target_lengths)
    state = trained.start_decoder(enc)
    for t in range(inputs.shape[1]):
        step_logits, state = trained.decoder.step(inputs[:, t], state)
        valid = t < batch.target_lengths
        assert torch.allclose(step_logits[valid], logits[valid, t], atol=1e-5)


def test_scheduled_sampling_feeds_own_predictions_only_in_training(toy_pairs):
    torch.manual_seed(0)
    model = Seq2Seq(toy_pairs.spec, encoder=ENCODER, decoder=DECODER, sampling_ratio=1.0)
    batch = batch_of(toy_pairs)
    args = (batch.inputs, batch.lengths, model.decoder_inputs(batch.targets), batch.target_lengths)
    model.eval()
    reference_fed = model(*args)[0]
    model.sampling_ratio = 0.0
    assert torch.allclose(model(*args)[0], reference_fed), "evaluation always feeds the reference"
    model.train()
    model.decoder.dropout.p = 0.0
    model.sampling_ratio = 1.0
    own = model(*args)[0]
    assert torch.allclose(own[:, 0], reference_fed[:, 0], atol=1e-6), "step 1 reads <bos> either way"
    assert not torch.allclose(own[:, 1:], reference_fed[:, 1:])


def test_label_smoothing_is_the_smoothed_cross_entropy_over_target_tokens(toy_pairs):
    torch.manual_seed(0)
    model = Seq2Seq(toy_pairs.spec, encoder=ENCODER, decoder=DECODER, label_smoothing=0.1).eval()
    batch = batch_of(toy_pairs)
    out = model.step(batch)
    logits = model(batch.inputs, batch.lengths, model.decoder_inputs(batch.targets), batch.target_lengths)[0]
    mask = batch.target_mask
    expected = F.cross_entropy(logits[mask], batch.targets[mask], label_smoothing=0.1)
    assert torch.allclose(out.loss, expected, atol=1e-6) and out.weight == mask.sum()


@torch.no_grad()
def test_decoding_stops_at_a_bound_derived_from_the_source_length(trained, toy_pairs):
    batch = batch_of(toy_pairs, "test", 8)
    trained.max_length_ratio, trained.max_length_offset = 0.5, 0
    try:
        decoded = trained.decode(batch.inputs, batch.lengths)
    finally:
        trained.max_length_ratio, trained.max_length_offset = 2.0, 10
    bound = (batch.lengths * 0.5).ceil().long()
    assert torch.all(decoded.lengths <= bound)
    last = decoded.tokens.gather(1, (decoded.lengths - 1).unsqueeze(1)).squeeze(1)
    assert torch.all(last == trained.vocabulary.eos_id), "a row cut at its bound ends with <eos>"


def test_a_checkpoint_decodes_the_same_in_a_fresh_model(trained, toy_pairs, tmp_path):
    trainer = quiet_trainer(tmp_path, max_steps=1, limit_val_batches=0)
    trainer.fit(trained, datamodule=toy_pairs)
    trained.eval()
    path = tmp_path / "s2s.ckpt"
    trainer.save_checkpoint(path)
    loaded = Seq2Seq.load_from_checkpoint(path)
    batch = batch_of(toy_pairs, "test", 16)
    assert torch.equal(
        loaded.decode(batch.inputs, batch.lengths).tokens, trained.decode(batch.inputs, batch.lengths).tokens
    )


def test_data_of_other_shapes_is_refused_with_the_task_to_use(toy_tags, toy_corpus):
    with pytest.raises(
        ValueError,
        match="'tags' targets; pick the task shape made for these targets \\(model=many_to_many\\)",
    ):
        Seq2Seq(toy_tags.spec)
    with pytest.raises(ValueError, match=r"aligned targets \(aligned: model=many_to_many\)"):
        Seq2Seq(toy_corpus.spec)
