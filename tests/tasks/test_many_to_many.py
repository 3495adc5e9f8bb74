import numpy as np
import pytest
import torch

from seqnet.data import IGNORE_INDEX, DataSpec, SequenceDataModule, collate_sequences
from seqnet.data.sources import SequenceExample, SequenceSplits
from seqnet.data.sources.tagging import tagged_splits
from seqnet.tasks import ManyToMany, ManyToOne
from tests.tasks.conftest import fit_one_batch, quiet_trainer
from tests.toy_data import StaticSource

GRU = {"cell": "gru", "hidden_size": 32, "bidirectional": True}


@pytest.mark.parametrize("crf", [False, True])
def test_a_tiny_tagger_overfits_one_batch(toy_tags, crf):
    torch.manual_seed(0)
    model = ManyToMany(toy_tags.spec, encoder=GRU, embedding_dim=16, crf=crf)
    batch = collate_sequences(toy_tags.datasets["train"][:16], target_pad_value=IGNORE_INDEX)
    assert fit_one_batch(model, batch, steps=120) < 0.05
    out = model.step(batch)
    valid = out.targets != IGNORE_INDEX
    assert torch.equal(out.preds[valid], out.targets[valid])
    assert torch.all(out.preds[~valid] == IGNORE_INDEX)
    names = model.label_names(model.predict_step(batch)["preds"])
    assert [len(row) for row in names] == batch.lengths.tolist()


def test_tagger_trains_and_reports_token_and_entity_metrics(toy_tags, tmp_path):
    torch.manual_seed(0)
    model = ManyToMany(
        toy_tags.spec, encoder=GRU, embedding_dim=16, optimizer={"_target_": "torch.optim.Adam", "lr": 1e-2}
    )
    quiet_trainer(tmp_path, max_epochs=6, enable_checkpointing=False).fit(model, datamodule=toy_tags)
    result = quiet_trainer(tmp_path).test(model, datamodule=toy_tags, verbose=False)[0]
    assert {
        "test/acc",
        "test/f1_macro",
        "test/entity_precision",
        "test/entity_recall",
        "test/entity_f1",
    } <= set(result)
    assert result["test/acc"] > 0.97 and result["test/entity_f1"] > 0.95


def test_validation_loss_is_the_exact_mean_over_the_split_whatever_the_batch_size(toy_tags, vowels, tmp_path):
    """Per-step tasks weigh each batch by its valid target steps, per-sequence ones by sequences."""
    for dm, model in (
        (toy_tags, ManyToMany(toy_tags.spec, encoder=GRU)),
        (vowels, ManyToOne(vowels.spec, encoder=GRU)),
    ):
        losses = []
        for eval_batch_size in (7, 64):
            dm.eval_batch_size = eval_batch_size
            losses.append(
                quiet_trainer(tmp_path).validate(model, datamodule=dm, verbose=False)[0]["val/loss"]
            )
        dm.eval_batch_size = dm.batch_size
        assert losses[0] == pytest.approx(losses[1], rel=1e-5)


def series_data() -> SequenceDataModule:
    """Per-step regression: target_t = 10 * (running mean of the input up to t) + 100 (data units)."""
    rng = np.random.default_rng(0)

    def make(n):
        examples = []
        for _ in range(n):
            x = rng.normal(size=(rng.integers(3, 10), 1)).astype(np.float32)
            y = 10 * np.cumsum(x, axis=0) / np.arange(1, len(x) + 1)[:, None] + 100
            examples.append(SequenceExample(x, y.astype(np.float32)))
        return examples

    splits = SequenceSplits("toy_series", train=make(200), test=make(50), target_kind="series", aligned=True)
    dm = SequenceDataModule(StaticSource(splits), batch_size=16)
    dm.setup()
    return dm


def test_per_step_regression_overfits_in_data_units():
    dm = series_data()
    torch.manual_seed(0)
    model = ManyToMany(dm.spec, encoder={"cell": "gru", "hidden_size": 32}, dropout=0.0)
    batch = collate_sequences(dm.datasets["train"][:16], target_pad_value=0.0)
    fit_one_batch(model, batch, steps=300)
    out = model.step(batch)
    assert out.preds.shape == (int(batch.lengths.sum()), 1)
    torch.testing.assert_close(out.preds, out.targets, atol=0.5, rtol=0)  # data units: around 100
    preds = model.predict_step(batch)["preds"]
    assert torch.all(preds[~batch.mask] == 0)
    assert set(model.val_metrics.keys()) == {"val/mse", "val/rmse", "val/mae"}


def test_unsuitable_data_is_refused_with_the_reason(vowels):
    with pytest.raises(
        ValueError, match="ManyToMany predicts tags or series targets, but data 'JapaneseVowels'"
    ):
        ManyToMany(vowels.spec, encoder=GRU)
    spec = DataSpec(input_kind="features", input_size=2, target_kind="series", horizon=3, name="fc")
    with pytest.raises(ValueError, match="are not aligned with its inputs"):
        ManyToMany(spec, encoder=GRU)


def test_checkpoints_follow_entity_f1_for_span_tags_and_the_loss_otherwise(toy_tags, vowels):
    """By the loss, a tagger on sparse BIO entities keeps an early model that tags everything O."""
    tagger = ManyToMany(toy_tags.spec, encoder=GRU)
    assert (tagger.monitor, tagger.monitor_mode) == ("val/entity_f1", "max")
    classifier = ManyToOne(vowels.spec, encoder=GRU)
    assert (classifier.monitor, classifier.monitor_mode) == ("val/loss", "min")
    chosen = ManyToOne(vowels.spec, encoder=GRU, monitor="val/f1_macro")
    assert chosen.monitor_mode == "max"  # the direction follows the metric


def form_tagged_data(max_word_chars: int) -> SequenceDataModule:
    """Tags that follow each word's form: a capitalised word is NAME, a word ending in -ing is VERB,
    others O; every test word is unseen in training, so only its form tells its tag."""
    rng = np.random.default_rng(0)
    letters = list("bcdfgklmnprstvz")

    def word(kind: str, used: set[str]) -> str:
        while True:
            stem = "".join(rng.choice(letters, size=int(rng.integers(3, 6))))
            text = {"NAME": stem.capitalize(), "VERB": stem + "ing", "O": stem}[kind]
            if text not in used:
                used.add(text)
                return text

    def sentences(count: int, used: set[str]) -> list[tuple[list[str], list[str]]]:
        out = []
        for _ in range(count):
            tags = list(rng.choice(["NAME", "VERB", "O", "O"], size=int(rng.integers(3, 8))))
            out.append(([word(t, used) for t in tags], tags))
        return out

    used: set[str] = set()
    parts = {"train": sentences(300, used), "test": sentences(60, used)}
    splits = tagged_splits("forms", parts, max_word_chars=max_word_chars)
    dm = SequenceDataModule(StaticSource(splits), batch_size=32, val_fraction=0.0)
    dm.setup()
    return dm


@pytest.mark.parametrize("char_features", [True, False])
def test_a_character_aware_tagger_tags_words_it_never_saw_by_their_form(char_features, tmp_path):
    dm = form_tagged_data(max_word_chars=8)
    torch.manual_seed(0)
    model = ManyToMany(
        dm.spec,
        encoder=GRU,
        embedding_dim=16,
        char_features=char_features,
        optimizer={"_target_": "torch.optim.Adam", "lr": 1e-2},
    )
    quiet_trainer(tmp_path, max_epochs=15, enable_checkpointing=False).fit(
        model, train_dataloaders=dm.train_dataloader()
    )
    accuracy = quiet_trainer(tmp_path).test(model, dataloaders=dm.test_dataloader(), verbose=False)[0][
        "test/acc"
    ]
    if char_features:
        assert accuracy > 0.95
    else:  # every test word reads as <unk>: its context is all there is
        assert accuracy < 0.7
