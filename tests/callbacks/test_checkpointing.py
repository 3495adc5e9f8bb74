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
