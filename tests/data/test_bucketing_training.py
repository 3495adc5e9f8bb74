"""Bucketing (on by default where lengths vary) trains as well as random batches: the validation
loss after a fixed number of steps stays within noise of random batching."""

import statistics

import lightning as L
import pytest

from seqnet.data import SequenceDataModule
from seqnet.data.sources import NamesSource
from seqnet.tasks import ManyToOne

pytest.importorskip("gender_guesser", reason='names data: pip install "seqnet[data-gpl]"')

SEEDS = range(4)


def val_loss_after_60_steps(bucket: bool, seed: int) -> float:
    L.seed_everything(seed, verbose=False)
    data = SequenceDataModule(NamesSource(), batch_size=128, bucket=bucket)
    data.setup()
    model = ManyToOne(
        data.spec,
        encoder={"cell": "gru", "hidden_size": 32},
        optimizer={"_target_": "torch.optim.AdamW", "lr": 3e-3},
    )
    trainer = L.Trainer(
        max_steps=60, num_sanity_val_steps=0, check_val_every_n_epoch=100, logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False, enable_model_summary=False,
    )  # fmt: skip
    trainer.fit(model, datamodule=data)
    return trainer.validate(model, datamodule=data, verbose=False)[0]["val/loss"]


def test_bucketed_batches_reach_the_validation_loss_of_random_batches():
    """Names (236 batches an epoch, lengths 2-22: auto buckets them)."""
    random = [val_loss_after_60_steps(False, seed) for seed in SEEDS]
    bucketed = [val_loss_after_60_steps(True, seed) for seed in SEEDS]
    noise = (statistics.variance(random) + statistics.variance(bucketed)) ** 0.5 / len(SEEDS) ** 0.5
    gap = abs(statistics.mean(bucketed) - statistics.mean(random))
    assert gap <= max(3 * noise, 0.01 * statistics.mean(random)), (random, bucketed)
