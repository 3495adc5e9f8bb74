"""debug=overfit says what the loss reached and whether the model overfit its one batch."""

import torch

from seqnet.callbacks import OverfitCheck
from tests.commands import run_cli


class Rank0:
    is_global_zero = True


def verdict(losses, capsys) -> str:
    check = OverfitCheck()
    for loss in losses:
        check.on_train_batch_end(Rank0(), None, {"loss": torch.tensor(loss)}, None, 0)
    check.on_train_end(Rank0(), None)
    return capsys.readouterr().out


def test_a_loss_that_fell_far_overfit_and_one_that_did_not_is_called_out(capsys):
    assert verdict([2.0, 0.5, 0.004], capsys).startswith(
        "debug=overfit: training loss 2 -> 0.004 in 3 steps: it overfit the batch"
    )
    assert "it did NOT overfit the batch (the loss should fall below 0.1)" in verdict([2.0, 1.0, 0.8], capsys)


def test_debug_overfit_prints_its_verdict(tmp_path):
    result = run_cli("seqnet-train", "debug=overfit", "trainer.max_epochs=60", cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "in 60 steps: it overfit the batch" in result.stdout
