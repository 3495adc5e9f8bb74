import numpy as np
import pytest
import torch

from seqnet.data import IGNORE_INDEX, SequenceDataModule, collate_sequences
from seqnet.data.sources import AnomalySource
from seqnet.tasks import SequenceAutoencoder
from seqnet.tasks.autoencoder import anomaly_metrics
from tests.tasks.conftest import fit_one_batch, quiet_trainer

GRU = {"cell": "gru", "hidden_size": 16}
SPIKE = 1537  # a test step


@pytest.fixture(scope="module")
def spiked(tmp_path_factory):
    return spiked_module(tmp_path_factory.mktemp("anomaly"))


def spiked_module(folder):
    """A noisy sine whose normal part is the first 1,000 steps, with one spike planted after it."""
    t = np.arange(2000)
    values = np.sin(2 * np.pi * t / 50) + np.random.default_rng(0).normal(0, 0.05, len(t))
    values[SPIKE] += 3.0
    labels = (t == SPIKE).astype(int)
    path = folder / "spiked.csv"
    path.write_text("value,label\n" + "".join(f"{v:.5f},{y}\n" for v, y in zip(values, labels, strict=True)))
    dm = SequenceDataModule(
        AnomalySource(path=path, columns=["value"], train_end=1000, window=50, stride=5), batch_size=32
    )
    dm.setup()
    return dm


def batch_of(dm, split, size=None):
    items = dm.datasets[split] if size is None else dm.datasets[split][:size]
    return collate_sequences(items, target_pad_value=IGNORE_INDEX)


def test_a_tiny_autoencoder_overfits_one_batch(spiked):
    torch.manual_seed(0)
    model = SequenceAutoencoder(spiked.spec, encoder=GRU, bottleneck=8)
    batch = batch_of(spiked, "train", 8)
    before = model.step(batch).loss.item()
    assert fit_one_batch(model, batch, steps=200, lr=3e-3) < 0.2 * before


def test_the_scores_rank_a_planted_spike_first_and_the_threshold_flags_it(spiked, tmp_path):
    torch.manual_seed(0)
    model = SequenceAutoencoder(spiked.spec, encoder=GRU, bottleneck=8)
    quiet_trainer(tmp_path, max_epochs=8, enable_checkpointing=False).fit(model, datamodule=spiked)
    assert torch.isfinite(model.threshold)  # set from the validation scores
    batch = batch_of(spiked, "test")
    with torch.no_grad():
        out = model.eval()(batch)
    scores = out["scores"][batch.mask]  # the test part, in time order (tiles of 50)
    assert int(scores.argmax()) == SPIKE - 1000
    assert out["flags"][batch.mask][SPIKE - 1000] == 1
    result = quiet_trainer(tmp_path).test(model, datamodule=spiked, verbose=False)[0]
    assert result["test/top_window_hit"] == 1.0 and result["test/auroc"] > 0.99
    assert result["test/recall"] == 1.0
    assert {"test/precision", "test/f1", "test/baseline_auroc"} <= set(result)


def test_the_threshold_is_the_configured_quantile_of_the_validation_step_scores(spiked, tmp_path):
    torch.manual_seed(0)
    model = SequenceAutoencoder(spiked.spec, encoder=GRU, threshold_quantile=0.9)
    quiet_trainer(tmp_path, max_epochs=1, enable_checkpointing=False).fit(model, datamodule=spiked)
    batch = batch_of(spiked, "val")
    with torch.no_grad():
        scores = model.eval().scores(batch)[batch.mask]
    torch.testing.assert_close(model.threshold, torch.quantile(scores, 0.9))
    path = tmp_path / "model.pt"
    torch.save(model.state_dict(), path)
    assert torch.load(path)["threshold"] == model.threshold  # saved with the weights


def test_anomaly_metrics_and_the_baseline_equal_hand_computations(spiked):
    metrics = anomaly_metrics()
    readings = {
        "score": torch.tensor([0.1, 50.0, 0.3, 40.0]),  # large scores keep their order
        "flag": torch.tensor([0, 1, 1, 0]),
        "baseline": torch.tensor([0.0, 1.0, 2.0, 3.0]),
        "window_score": torch.tensor([0.5, 50.0]),
        "window_label": torch.tensor([0, 1]),
    }
    labels = torch.tensor([0, 1, 0, 1])
    metrics.update(readings, labels)
    values = {k: v.item() for k, v in metrics.compute().items()}
    assert values["auroc"] == 1.0 and values["baseline_auroc"] == 0.75
    assert values["precision"] == 0.5 and values["recall"] == 0.5 and values["top_window_hit"] == 1.0
    model = SequenceAutoencoder(spiked.spec, encoder=GRU, baseline_window=3)
    batch = batch_of(spiked, "test", 1)
    x = model.standardize(batch.inputs)[0, :, 0]
    padded = torch.cat([x[:1], x, x[-1:]])
    average = (padded[:-2] + padded[1:-1] + padded[2:]) / 3
    torch.testing.assert_close(model.baseline_scores(batch)[0], (x - average) ** 2)


def test_bad_settings_are_refused(spiked):
    with pytest.raises(ValueError, match=r"threshold_quantile must be in \(0, 1\)"):
        SequenceAutoencoder(spiked.spec, threshold_quantile=1.0)
    with pytest.raises(ValueError, match="baseline_window must be odd"):
        SequenceAutoencoder(spiked.spec, baseline_window=4)
    with pytest.raises(ValueError, match="make it unidirectional"):
        SequenceAutoencoder(spiked.spec, decoder={"bidirectional": True})
