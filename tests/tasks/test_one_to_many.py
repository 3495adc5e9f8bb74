import itertools

import pytest
import torch

from seqnet.data import collate_sequences
from seqnet.tasks import ConditionedState, OneToMany
from tests.tasks.conftest import quiet_trainer

GRU = {"cell": "gru", "hidden_size": 32}


def batch_of(dm, size=8):
    return collate_sequences(
        dm.datasets["train"][:size], pad_value=dm.spec.pad_id, target_pad_value=dm.spec.pad_id
    )


def fitted(dm, tmp_path, withhold, epochs=15):
    torch.manual_seed(0)
    model = OneToMany(
        dm.spec, withhold_condition=withhold, condition_dim=8, encoder=GRU, embedding_dim=16,
        optimizer={"_target_": "torch.optim.Adam", "lr": 1e-2},
    )  # fmt: skip
    trainer = quiet_trainer(tmp_path, max_epochs=epochs, enable_checkpointing=False)
    trainer.fit(model, datamodule=dm)
    return model.eval(), trainer.validate(model, datamodule=dm, verbose=False)[0]["val/nll"]


@pytest.fixture(scope="module")
def conditioned(toy_runs, tmp_path_factory):
    return fitted(toy_runs, tmp_path_factory.mktemp("both"), withhold=False)


def test_the_condition_lowers_the_validation_nll_below_the_same_model_without_it(
    conditioned, toy_runs, tmp_path
):
    _, with_condition = conditioned
    _, withheld = fitted(toy_runs, tmp_path, withhold=True)
    assert with_condition < withheld - 0.1, (with_condition, withheld)


def assert_follows(model, conditions):
    for condition, direction in conditions:
        for text in model.generate(condition, n=3, greedy_decoding=True, prompt="d"):
            steps = [ord(b) - ord(a) for a, b in itertools.pairwise(text)]
            assert len(text) >= 3 and all(step == direction for step in steps), (condition, text)


def test_greedy_generation_follows_the_condition(conditioned):
    model, _ = conditioned
    assert_follows(model, [("up", 1), ("down", -1)])


def test_a_feature_vector_conditions_generation_through_a_linear_layer(toy_vector_runs, tmp_path):
    model, _ = fitted(toy_vector_runs, tmp_path, withhold=False)
    assert model.spec.condition_kind == "values" and model.spec.condition_size == 2
    assert_follows(model, [([1.0, 0.0], 1), (torch.tensor([0.0, 1.0]), -1)])
    with pytest.raises(ValueError, match="the condition needs 2 values, got 3"):
        model.generate([1.0, 0.0, 0.0])


def test_sampling_is_reproducible_with_a_seed(conditioned):
    model, _ = conditioned
    first = model.generate("up", n=4, temperature=1.5, seed=3)
    assert first == model.generate("up", n=4, temperature=1.5, seed=3)
    assert first != model.generate("up", n=4, temperature=1.5, seed=4)


def test_an_unknown_condition_lists_the_known_ones(conditioned):
    model, _ = conditioned
    with pytest.raises(ValueError, match=r"unknown condition 'sideways'; this model knows \['down', 'up'\]"):
        model.generate("sideways")


@pytest.mark.parametrize("mode", ["init", "input", "both"])
@torch.no_grad()
def test_stepping_gives_the_logits_of_the_whole_sequence_in_every_mode(toy_runs, mode):
    torch.manual_seed(0)
    model = OneToMany(toy_runs.spec, condition_mode=mode, encoder={"cell": "lstm", "hidden_size": 8}).eval()
    batch = batch_of(toy_runs)
    logits, _ = model(batch.inputs, batch.lengths, ConditionedState(None, batch.conditions))
    state = ConditionedState(None, batch.conditions)
    for t in range(batch.inputs.shape[1]):
        step_logits, state = model.next_token_logits(batch.inputs[:, t], state)
        valid = t < batch.lengths
        assert torch.allclose(step_logits[valid], logits[valid, t], atol=1e-5)


@torch.no_grad()
def test_withholding_the_condition_keeps_the_network_and_its_initial_weights_but_ignores_the_condition(
    toy_runs,
):
    models = {}
    for withhold in (False, True):
        torch.manual_seed(0)
        models[withhold] = OneToMany(toy_runs.spec, withhold_condition=withhold, encoder=GRU).eval()
    conditioned, withheld = models[False].state_dict(), models[True].state_dict()
    assert conditioned.keys() == withheld.keys()
    assert all(torch.equal(conditioned[name], withheld[name]) for name in conditioned)  # paired runs
    batch = batch_of(toy_runs)
    flipped = ConditionedState(None, 1 - batch.conditions)
    for withhold, model in models.items():
        logits, _ = model(batch.inputs, batch.lengths, ConditionedState(None, batch.conditions))
        assert torch.equal(logits, model(batch.inputs, batch.lengths, flipped)[0]) == withhold
    assert models[True].generate(n=2, seed=0, max_new_tokens=4) == models[True].generate(
        "up", n=2, seed=0, max_new_tokens=4
    )


def test_unconditioned_data_is_refused_with_the_task_to_use(toy_corpus):
    with pytest.raises(ValueError, match="no condition per example; train it with model=language_model"):
        OneToMany(toy_corpus.spec)
