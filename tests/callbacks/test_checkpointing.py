import random

import numpy as np
import pytest
import torch

from seqnet.callbacks import AtomicCheckpointIO, RNGState


def test_a_save_cut_short_leaves_the_previous_checkpoint_whole(tmp_path, monkeypatch):
    target = tmp_path / "checkpoints" / "last.ckpt"
    writer = AtomicCheckpointIO()
    writer.save_checkpoint({"global_step": 1}, target)
    assert torch.load(target, weights_only=True) == {"global_step": 1}

    def killed_while_writing(obj, file):
        file.write(b"PK\x03\x04 half a checkpoint")
        raise KeyboardInterrupt

    monkeypatch.setattr(torch, "save", killed_while_writing)
    with pytest.raises(KeyboardInterrupt):
        writer.save_checkpoint({"global_step": 2}, target)
    assert torch.load(target, weights_only=True) == {"global_step": 1}
    monkeypatch.undo()
    writer.save_checkpoint({"global_step": 3}, target)  # the stray .tmp is simply written over
    assert torch.load(target, weights_only=True) == {"global_step": 3}
    assert sorted(p.name for p in target.parent.iterdir()) == ["last.ckpt"]


def draws() -> tuple:
    return random.random(), np.random.rand(), torch.rand(2).tolist()


def test_generator_states_survive_a_checkpoint_file_and_give_the_same_draws(tmp_path):
    callback = RNGState()
    torch.save(callback.state_dict(), tmp_path / "rng.pt")
    expected = draws()
    callback.load_state_dict(torch.load(tmp_path / "rng.pt", weights_only=True))
    assert draws() == expected


def test_a_step_checkpoint_follows_optimizer_steps_that_a_batch_takes_several_of(toy_corpus, tmp_path):
    """Truncated BPTT: a batch of 32-step windows in chunks of 12 takes 3 steps, past the multiple
    of 2; the checkpoint is written after that batch, quietly (Lightning's manual-optimization
    path warns about pre-optimization states on every save)."""
    import warnings

    from seqnet.callbacks import StepCheckpoint
    from seqnet.tasks import LanguageModel
    from tests.tasks.conftest import quiet_trainer

    model = LanguageModel(toy_corpus.spec, encoder={"cell": "gru", "hidden_size": 8}, tbptt_steps=12)
    every = StepCheckpoint(dirpath=tmp_path / "checkpoints", filename="step", every_n_train_steps=2)
    trainer = quiet_trainer(tmp_path, max_steps=3, limit_val_batches=0, callbacks=[every])
    with warnings.catch_warnings():
        warnings.filterwarnings("error", message=".*pre-optimization state.*")
        trainer.fit(model, datamodule=toy_corpus)
    saved = torch.load(tmp_path / "checkpoints" / "step.ckpt", weights_only=True)
    assert saved["global_step"] == 3
