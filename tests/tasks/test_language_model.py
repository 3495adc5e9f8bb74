import pytest
import torch

from seqnet.data import IGNORE_INDEX, collate_sequences
from seqnet.tasks import LanguageModel
from tests.tasks.conftest import quiet_trainer

LSTM = {"cell": "lstm", "hidden_size": 48, "num_layers": 2}


def batch_of(dm, size=8):
    return collate_sequences(
        dm.datasets["train"][:size], pad_value=dm.spec.pad_id, target_pad_value=dm.spec.pad_id
    )


@pytest.fixture(scope="module")
def trained(toy_corpus, tmp_path_factory):
    torch.manual_seed(0)
    model = LanguageModel(
        toy_corpus.spec,
        encoder=LSTM,
        embedding_dim=16,
        optimizer={"_target_": "torch.optim.Adam", "lr": 1e-2},
    )
    trainer = quiet_trainer(tmp_path_factory.mktemp("lm"), max_epochs=15, enable_checkpointing=False)
    trainer.fit(model, datamodule=toy_corpus)
    return model.eval()


def test_a_small_lm_learns_its_corpus_and_reports_nll_perplexity_and_bits(trained, toy_corpus, tmp_path):
    result = quiet_trainer(tmp_path).test(trained, datamodule=toy_corpus, verbose=False)[0]
    assert result["test/nll"] == pytest.approx(result["test/loss"], rel=1e-4)
    assert result["test/perplexity"] == pytest.approx(torch.tensor(result["test/nll"]).exp().item(), rel=1e-4)
    assert result["test/bpc"] == pytest.approx(result["test/nll"] / 0.6931472, rel=1e-4)
    assert result["test/nll"] < 0.3  # a repeated text is nearly certain once learnt


@torch.no_grad()
def test_step_by_step_logits_equal_the_full_forward_pass(trained, toy_corpus):
    batch = batch_of(toy_corpus)
    logits, _ = trained(batch.inputs, batch.lengths)
    state, steps = None, []
    for t in range(batch.inputs.shape[1]):
        step_logits, state = trained.next_token_logits(batch.inputs[:, t], state)
        steps.append(step_logits)
    torch.testing.assert_close(torch.stack(steps, dim=1), logits, atol=1e-5, rtol=1e-5)


def test_generation_continues_the_prompt_reproducibly_without_re_reading_it(trained, monkeypatch):
    calls = []
    forward = trained.encoder.forward
    monkeypatch.setattr(
        trained.encoder, "forward", lambda x, *a, **k: calls.append(x.shape) or forward(x, *a, **k)
    )
    texts = trained.generate("the cat ", max_new_tokens=20, n=3, temperature=0.5, seed=7)
    assert calls == [(3, 7, 16)], "the prompt is read once (all but its last token), then only steps"
    assert len(texts) == 3 and all(t.startswith("the cat ") and len(t) == 28 for t in texts)
    assert texts == trained.generate("the cat ", max_new_tokens=20, n=3, temperature=0.5, seed=7)
    assert trained.generate("the cat ", max_new_tokens=20, greedy_decoding=True)[0].startswith(
        "the cat sat on the "
    )


def test_the_loss_averages_over_valid_target_tokens(toy_corpus):
    torch.manual_seed(0)
    model = LanguageModel(toy_corpus.spec, encoder=LSTM)
    examples = toy_corpus.datasets["train"]
    short = (examples[0][0][:5], examples[0][1][:5], None, None)
    batch = collate_sequences([short, examples[1]], pad_value=0, target_pad_value=0)
    out = model.step(batch)
    assert int(out.weight) == 5 + len(examples[1][1])
    assert int((out.targets == IGNORE_INDEX).sum()) == batch.targets.numel() - int(out.weight)


def test_a_training_step_over_variable_lengths_never_computes_the_state_it_drops(toy_corpus, monkeypatch):
    """An LSTM's final state over variable lengths costs a second (packed) pass; training drops it."""
    from seqnet.nn import cells

    calls = []
    original = cells.pack_padded_sequence
    monkeypatch.setattr(cells, "pack_padded_sequence", lambda *a, **k: calls.append(1) or original(*a, **k))
    model = LanguageModel(toy_corpus.spec, encoder=LSTM)
    examples = toy_corpus.datasets["train"]
    batch = collate_sequences(
        [(x[: 5 + i], y[: 5 + i], None, None) for i, (x, y, *_) in enumerate(examples[:4])],
        target_pad_value=0,
    )
    assert len(set(batch.lengths.tolist())) == 4
    model.step(batch).loss.backward()
    assert calls == []


def test_lm_settings_are_checked(toy_corpus, vowels):
    with pytest.raises(ValueError, match="must not see the tokens it predicts"):
        LanguageModel(toy_corpus.spec, encoder={**LSTM, "bidirectional": True})
    with pytest.raises(ValueError, match="predicts tokens targets, but data 'JapaneseVowels'"):
        LanguageModel(vowels.spec, encoder=LSTM)
    tied = LanguageModel(
        toy_corpus.spec, encoder={"cell": "gru", "hidden_size": 16}, embedding_dim=16, tie_weights=True
    )
    assert tied.output.head.weight is tied.input_layer.layer.weight
    with pytest.raises(ValueError, match="weight tying needs the embedding width"):
        LanguageModel(toy_corpus.spec, encoder=LSTM, embedding_dim=16, tie_weights=True)
