import json
import subprocess
import sys

import pytest
import torch

from seqnet.data import DataSpec, SeqBatch, collate_sequences
from seqnet.tasks import CHECKPOINT_FORMAT_VERSION, ManyToOne
from tests.tasks.conftest import fit_one_batch, quiet_trainer

GRU = {"cell": "gru", "hidden_size": 32}


def one_batch(dm, size: int = 16):
    return collate_sequences(dm.datasets["train"][:size])


@pytest.mark.parametrize("pooling", ["last", "mean", "max", "attention"])
def test_a_tiny_classifier_overfits_one_batch(vowels, pooling):
    torch.manual_seed(0)
    model = ManyToOne(vowels.spec, encoder=GRU, pooling=pooling)
    batch = one_batch(vowels)
    assert fit_one_batch(model, batch, steps=150) < 0.02
    assert torch.equal(model.predict_step(batch)["preds"], batch.targets)


def test_a_tiny_regressor_overfits_one_batch(adding):
    torch.manual_seed(0)
    model = ManyToOne(adding.spec, encoder=GRU, dropout=0.0)
    batch = one_batch(adding)
    fit_one_batch(model, batch, steps=300)
    preds = model.predict_step(batch)["preds"]
    assert preds.shape == (16, 1)
    torch.testing.assert_close(preds, batch.targets, atol=0.05, rtol=0)  # data units, not z-scores


def test_hyperparameters_are_plain_python(vowels):
    model = ManyToOne(vowels.spec, encoder=GRU, optimizer={"_target_": "torch.optim.SGD", "lr": 0.1})
    for key, value in model.hparams.items():
        assert isinstance(value, (dict, list, str, int, float, bool, type(None))), key
    assert model.hparams["spec"]["class_names"] == vowels.spec.class_names


def test_checkpoint_round_trips_without_a_config_in_a_fresh_process(vowels, tmp_path):
    torch.manual_seed(0)
    model = ManyToOne(vowels.spec, encoder={**GRU, "bidirectional": True}, pooling="attention")
    trainer = quiet_trainer(tmp_path, max_epochs=2, enable_checkpointing=False)
    trainer.fit(model, datamodule=vowels)
    path = tmp_path / "model.ckpt"
    trainer.save_checkpoint(path)
    model.eval()
    batch = collate_sequences(vowels.datasets["test"][:20])
    expected = model.predict_step(batch)["probs"]
    torch.save({"inputs": batch.inputs, "lengths": batch.lengths}, tmp_path / "batch.pt")

    script = f"""
import json, torch
from hydra.core.global_hydra import GlobalHydra
from seqnet.data import SeqBatch
from seqnet.tasks import CHECKPOINT_FORMAT_VERSION, ManyToOne
model = ManyToOne.load_from_checkpoint({str(path)!r}, map_location="cpu").eval()
assert not GlobalHydra.instance().is_initialized(), "loading must not compose a Hydra config"
data = torch.load({str(tmp_path / "batch.pt")!r})
batch = SeqBatch(data["inputs"], data["lengths"], torch.zeros(len(data["lengths"])))
with torch.no_grad():
    out = model.predict_step(batch)
print(json.dumps({{"probs": out["probs"].tolist(), "labels": model.label_names(out["preds"])}}))
"""
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=elsewhere, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    loaded = json.loads(result.stdout.strip().splitlines()[-1])
    torch.testing.assert_close(torch.tensor(loaded["probs"]), expected, atol=1e-6, rtol=0)
    assert loaded["labels"] == model.label_names(expected.argmax(-1))
    assert torch.load(path, weights_only=True)["seqnet"]["format_version"] == CHECKPOINT_FORMAT_VERSION


class NaNFromSecondEpoch(ManyToOne):
    def head(self, pooled):
        return super().head(pooled) * (float("nan") if self.current_epoch >= 1 else 1.0)


def test_a_nan_loss_stops_training_with_the_fix_and_keeps_checkpoints(vowels, tmp_path):
    model = NaNFromSecondEpoch(vowels.spec, encoder=GRU)
    trainer = quiet_trainer(tmp_path, max_epochs=3)
    with pytest.raises(FloatingPointError, match="training loss is nan at epoch 1, batch 0; lower"):
        trainer.fit(model, datamodule=vowels)
    kept = list((tmp_path / "checkpoints").glob("*.ckpt"))
    assert kept, "the checkpoint of the healthy first epoch must survive the NaN"
    assert torch.load(kept[0], weights_only=True)["epoch"] == 0


class NaNFromFirstBatch(ManyToOne):
    def head(self, pooled):
        return super().head(pooled) * (float("nan") if self.global_step == 0 else 1.0)

    def _defers_finite_check(self, loss):
        return True  # as on an accelerator, where reading the loss every step would sync


def test_on_accelerators_the_finite_check_is_read_on_logging_steps_without_a_sync(vowels, tmp_path):
    model = NaNFromFirstBatch(vowels.spec, encoder=GRU)
    trainer = quiet_trainer(tmp_path, max_steps=6, log_every_n_steps=3, limit_val_batches=0)
    message = "training loss is non-finite within the 3 steps up to batch 2; lower"
    with pytest.raises(FloatingPointError, match=message):
        trainer.fit(model, datamodule=vowels)
    assert trainer.global_step == 2, "steps between checks run on, then the run stops"


def test_gradient_clipping_is_applied_by_the_task(vowels, tmp_path):
    norms = []

    class Recorder(ManyToOne):
        def on_before_optimizer_step(self, optimizer):
            grads = [p.grad.norm() for p in self.parameters() if p.grad is not None]
            norms.append(torch.stack(grads).norm().item())

        def configure_gradient_clipping(self, optimizer, **kwargs):
            super().configure_gradient_clipping(optimizer, **kwargs)
            grads = [p.grad.norm() for p in self.parameters() if p.grad is not None]
            norms.append(torch.stack(grads).norm().item())

    model = Recorder(
        vowels.spec,
        encoder=GRU,
        gradient_clip_val=1e-3,
        optimizer={"_target_": "torch.optim.SGD", "lr": 0.1},
    )
    quiet_trainer(tmp_path, max_steps=3, limit_val_batches=0).fit(model, datamodule=vowels)
    clipped = norms[1::2]
    assert clipped and all(n <= 1e-3 * 1.01 for n in clipped)
    assert any(n > 1e-2 for n in norms[0::2])


def test_scheduler_and_optimizer_come_from_config(vowels, tmp_path):
    model = ManyToOne(
        vowels.spec,
        encoder=GRU,
        optimizer={"_target_": "torch.optim.SGD", "lr": 0.5, "momentum": 0.9},
        scheduler={
            "_target_": "torch.optim.lr_scheduler.StepLR",
            "step_size": 1,
            "gamma": 0.1,
            "interval": "epoch",
        },
    )
    trainer = quiet_trainer(tmp_path, max_epochs=2, limit_train_batches=1, limit_val_batches=1)
    trainer.fit(model, datamodule=vowels)
    optimizer = trainer.optimizers[0]
    assert isinstance(optimizer, torch.optim.SGD)
    assert optimizer.param_groups[0]["lr"] == pytest.approx(0.005)


def test_class_weights_must_match_the_classes(vowels, adding):
    with pytest.raises(ValueError, match="class_weights has 2 entries but the data set has 9"):
        ManyToOne(vowels.spec, encoder=GRU, class_weights=[1.0, 2.0])
    with pytest.raises(ValueError, match="class_weights apply to classification only"):
        ManyToOne(adding.spec, encoder=GRU, class_weights=[1.0])
    model = ManyToOne(vowels.spec, encoder=GRU, class_weights=[1.0] * 8 + [5.0])
    assert model.output.class_weights[-1] == 5.0


def test_data_with_one_target_per_step_is_refused_with_its_kind():
    spec = DataSpec(input_kind="tokens", input_size=10, target_kind="tags", num_classes=3, name="pos")
    with pytest.raises(
        ValueError, match=r"ManyToOne predicts classes or values targets, but data 'pos' has 'tags'"
    ):
        ManyToOne(spec, encoder=GRU)


def test_an_unknown_monitor_is_refused_at_construction_naming_the_available_metrics(vowels):
    with pytest.raises(ValueError, match=r"monitor='val/accuracy' is not a validation metric.*'val/acc'"):
        ManyToOne(vowels.spec, encoder=GRU, monitor="val/accuracy", monitor_mode="max")


def token_data():
    """Token ids (T,) with a vocabulary; the label says whether the word "good" occurs."""
    import numpy as np

    from seqnet.data import SequenceDataModule, Vocabulary
    from seqnet.data.sources import SequenceExample, SequenceSplits

    rng = np.random.default_rng(0)
    words = ["good", "bad", "soup", "salad", "the", "was", "very", "not"]
    vocab = Vocabulary.build([words])

    def make(n: int) -> list:
        out = []
        for _ in range(n):
            tokens = list(rng.choice(words[1:], size=rng.integers(2, 9)))
            label = "pos" if rng.random() < 0.5 else "neg"
            if label == "pos":
                tokens[rng.integers(len(tokens))] = "good"
            out.append(SequenceExample(np.array(vocab.encode(tokens), dtype=np.int64), label))
        return out

    class Source:
        def load(self):
            return SequenceSplits(
                "toy_text",
                train=make(300),
                test=make(100),
                input_kind="tokens",
                vocab=vocab.to_list(),
                pad_id=vocab.pad_id,
            )

    dm = SequenceDataModule(Source(), batch_size=32)
    dm.setup()
    return dm


def test_token_inputs_are_embedded_and_learned(tmp_path):
    dm = token_data()
    assert dm.spec.input_kind == "tokens" and dm.spec.input_size == 12 and dm.spec.vocab[0] == "<pad>"
    torch.manual_seed(0)
    model = ManyToOne(
        dm.spec, encoder=GRU, embedding_dim=16, optimizer={"_target_": "torch.optim.Adam", "lr": 1e-2}
    )
    quiet_trainer(tmp_path, max_epochs=15, enable_checkpointing=False).fit(model, datamodule=dm)
    result = quiet_trainer(tmp_path).test(model, datamodule=dm, verbose=False)[0]
    assert result["test/acc"] > 0.95


def test_tasks_that_optimise_manually_honour_the_configured_clipping(vowels, tmp_path):
    norms = []

    class ManualStep(ManyToOne):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self.automatic_optimization = False

        def training_step(self, batch, batch_idx):
            optimizer = self.optimizers()
            optimizer.zero_grad()
            loss = self.step(batch).loss
            self.manual_backward(loss)
            self.clip_gradients_now(optimizer)
            grads = [p.grad.norm() for p in self.parameters() if p.grad is not None]
            norms.append(torch.stack(grads).norm().item())
            optimizer.step()

    model = ManualStep(vowels.spec, encoder=GRU, gradient_clip_val=1e-3)
    quiet_trainer(tmp_path, max_steps=3, limit_val_batches=0).fit(model, datamodule=vowels)
    assert len(norms) == 3 and all(n <= 1e-3 * 1.01 for n in norms)


FCN = {"channels": [16, 16], "kernel_sizes": [5, 3]}


def test_a_strided_front_end_and_a_conv_branch_overfit_one_batch_and_ignore_padding(vowels):
    torch.manual_seed(0)
    model = ManyToOne(vowels.spec, encoder=GRU, frontend={**FCN, "stride": 2}, conv_branch=FCN)
    batch = one_batch(vowels)
    assert fit_one_batch(model, batch, steps=150) < 0.05
    model.eval()
    padded = SeqBatch(
        torch.cat([batch.inputs, torch.full((16, 5, 12), 7.0)], dim=1), batch.lengths, batch.targets
    )  # more padding (of garbage) after every sequence
    with torch.no_grad():
        torch.testing.assert_close(model(padded), model(batch))


def test_augmentation_changes_training_steps_only(vowels):
    torch.manual_seed(0)
    model = ManyToOne(vowels.spec, encoder=GRU, augment={"jitter": 0.5, "scaling": 0.3})
    batch = one_batch(vowels)
    model.eval()
    with torch.no_grad():
        assert torch.equal(model.step(batch).loss, model.step(batch).loss)
        first, second = model.training_step(batch, 0), model.training_step(batch, 0)
    assert first != second  # a new draw every training step


def test_a_loss_hook_may_return_a_plain_mean_which_counts_each_sequence_once(vowels):
    class FocalLike(ManyToOne):
        def loss(self, outputs, targets):
            return torch.nn.functional.cross_entropy(outputs, targets)  # a plain tensor, no count

    torch.manual_seed(0)
    model = FocalLike(vowels.spec, encoder=GRU)
    batch = one_batch(vowels)
    out = model.step(batch)
    assert out.weight.item() == len(batch) and out.loss.ndim == 0
    assert fit_one_batch(model, batch, steps=150) < 0.05
