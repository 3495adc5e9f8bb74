"""`model.predict(raw inputs)` on a model alone: records as seqnet-predict writes them, made with
the model's own tokenizer, vocabulary and scaling."""

import numpy as np
import pytest
import torch

from seqnet.data import IGNORE_INDEX, SequenceDataModule, collate_sequences
from seqnet.tasks import Forecaster, LanguageModel, ManyToMany, ManyToOne
from tests.tasks.conftest import fit_one_batch

GRU = {"cell": "gru", "hidden_size": 16}


def test_a_classifier_predicts_raw_series_with_labels_and_probabilities(vowels):
    torch.manual_seed(0)
    model = ManyToOne(vowels.spec, encoder=GRU)
    items = vowels.datasets["test"][:5]
    raw = [items[0][0].numpy() * 1.0, items[1][0].numpy()]  # (T, 12) each, in data units
    found = model.predict(raw)
    expected = model.predict_step(collate_sequences(items[:2]))
    assert [r["label"] for r in found] == [model.output.class_names[int(i)] for i in expected["preds"]]
    assert sum(found[0]["probs"].values()) == pytest.approx(1.0, abs=1e-4)
    assert model.training  # predict leaves the mode it found


def test_a_tagger_predicts_token_lists_with_tags_and_entity_spans(toy_tags):
    torch.manual_seed(0)
    model = ManyToMany(toy_tags.spec, encoder={**GRU, "bidirectional": True})
    batch = collate_sequences(toy_tags.datasets["train"][:32], target_pad_value=IGNORE_INDEX)
    fit_one_batch(model, batch, steps=150)
    (record,) = model.predict([["mr", "smith", "went", "to", "rome", "city"]])
    assert record["tokens"] == ["mr", "smith", "went", "to", "rome", "city"]
    assert record["tags"] == ["B-PER", "I-PER", "O", "O", "B-LOC", "I-LOC"]
    assert record["spans"] == [("mr smith", "PER", 0, 2), ("rome city", "LOC", 4, 6)]


def test_texts_in_texts_out_through_the_models_own_vocabulary(tmp_path):
    data = SequenceDataModule.from_texts(
        ["tasty soup", "cold fries"] * 20, ["great", "other"] * 20, batch_size=8
    )
    data.setup()
    torch.manual_seed(0)
    model = ManyToOne(data.spec, encoder=GRU)
    fit_one_batch(model, collate_sequences(data.datasets["train"][:16]), steps=60)
    found = model.predict(["Tasty soup!", "cold fries"])
    assert [r["label"] for r in found] == ["great", "other"] and found[0]["input"] == "Tasty soup!"


def sine_forecaster() -> tuple[np.ndarray, Forecaster]:
    """200 steps of a pure season of 12, and an untrained forecaster of its windows (24 in, 3 out)."""
    series = (50 + 10 * np.sin(2 * np.pi * np.arange(200) / 12)).astype(np.float32)
    data = SequenceDataModule(_InMemory(series), batch_size=16)
    data.setup()
    return series, Forecaster(data.spec, encoder=GRU, anchor="none")  # not the baseline already


def test_a_forecaster_predicts_from_a_history_array():
    series, model = sine_forecaster()
    (record,) = model.predict([series[:-5, None]])
    assert [s["step"] for s in record["forecast"]] == [1, 2, 3]
    expected = model.predict_step(
        collate_sequences([(torch.from_numpy(series[-29:-5, None]), torch.tensor(0), None)])
    )
    assert [s["value"] for s in record["forecast"]] == pytest.approx(
        expected["preds"][0, :, 0].tolist(), abs=1e-5
    )


def test_models_without_records_and_single_inputs_are_refused(toy_corpus, vowels):
    with pytest.raises(ValueError, match="LanguageModel does not predict records"):
        LanguageModel(toy_corpus.spec, encoder=GRU).predict(["abc"])
    with pytest.raises(ValueError, match="a list of inputs"):
        ManyToOne(vowels.spec, encoder=GRU).predict(np.zeros((10, 12)))


class _InMemory:
    def __init__(self, series):
        self.series = series

    def load(self):
        from seqnet.data.series import forecast_windows
        from seqnet.data.sources import SequenceSplits

        values = self.series[:, None]
        windows = lambda a, b, s: forecast_windows(values, [0], 24, 3, a, b, s)  # noqa: E731
        return SequenceSplits(
            name="sine", train=windows(0, 150, 1), val=windows(150, 175, 3), test=windows(175, 200, 3),
            target_kind="series", horizon=3, window=24, target_features=[0], season=12,
            feature_names=["value"],
        )  # fmt: skip


def test_a_backtest_forecasts_from_every_origin_as_prediction_does_and_scores_each():
    series, model = sine_forecaster()
    found = model.backtest(series[:, None], start=170)
    assert [o["origin"] for o in found["origins"]] == list(range(170, 198, 3))
    assert found["overall"]["origins"] == 10
    assert found["overall"]["mae"] == pytest.approx(np.mean([o["mae"] for o in found["origins"]]), rel=1e-5)
    (record,) = model.predict([series[:176, None]])  # the origin 176, as a prediction sees it
    actual = series[176:179]
    by_hand = np.abs(np.array([s["value"] for s in record["forecast"]]) - actual).mean()
    assert found["origins"][2]["mae"] == pytest.approx(by_hand, rel=1e-4)
    assert found["origins"][0]["baseline_mae"] == pytest.approx(
        0.0, abs=1e-4
    )  # a pure season: naive is exact


def test_an_autoregressive_forecaster_steps_past_its_trained_horizon_and_a_direct_one_refuses():
    series, direct = sine_forecaster()
    model = Forecaster(direct.spec, encoder=GRU, style="autoregressive")
    (trained,) = model.predict([series[:150, None]])
    model.predict_horizon = 7
    (longer,) = model.predict([series[:150, None]])
    assert [s["step"] for s in longer["forecast"]] == list(range(1, 8))
    assert [s["value"] for s in longer["forecast"][:3]] == [s["value"] for s in trained["forecast"]]
    direct.predict_horizon = 7
    with pytest.raises(ValueError, match=r"forecasts 3 steps \(a direct head emits exactly those\), not 7"):
        direct.predict([series[:150, None]])
