import pytest
import torch

from seqnet.errors import InputError
from seqnet.tasks import ManyToOne
from seqnet.tasks.ensemble import ensemble_test_metrics
from tests.tasks.conftest import fit_one_batch

GRU = {"cell": "gru", "hidden_size": 16}


def test_an_ensemble_averages_the_probabilities_of_its_members(vowels):
    batches = list(vowels.test_dataloader())[:2]
    members = []
    for seed in (0, 1):
        torch.manual_seed(seed)
        members.append(ManyToOne(vowels.spec, encoder=GRU))
        fit_one_batch(members[-1], batches[0], steps=20)
    metrics = ensemble_test_metrics(members, batches)
    with torch.no_grad():
        hits = [
            (
                torch.stack([m.eval().predict_step(b)["probs"] for m in members]).mean(0).argmax(-1)
                == b.targets
            )
            for b in batches
        ]
    assert metrics["ensemble/test/acc"] == pytest.approx(torch.cat(hits).float().mean().item())


def test_an_ensemble_of_other_data_sets_is_refused(vowels, adding):
    with pytest.raises(InputError, match="predict different classes or targets"):
        ensemble_test_metrics([ManyToOne(vowels.spec, encoder=GRU), ManyToOne(adding.spec, encoder=GRU)], [])
