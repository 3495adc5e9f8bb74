import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from seqnet.data import IGNORE_INDEX, SeqBatch, collate_sequences


@given(
    st.lists(st.integers(min_value=1, max_value=12), min_size=1, max_size=8),
    st.integers(min_value=1, max_value=3),
)
def test_collate_pads_and_keeps_lengths(lengths, features):
    examples = [(torch.rand(n, features) + 1.0, torch.tensor(i), None, None) for i, n in enumerate(lengths)]
    batch = collate_sequences(examples)
    assert batch.inputs.shape == (len(lengths), max(lengths), features)
    assert batch.lengths.tolist() == lengths and batch.lengths.dtype == torch.int64
    assert batch.mask.sum(1).tolist() == lengths
    assert torch.all(batch.inputs[~batch.mask] == 0)
    assert torch.all(batch.inputs[batch.mask] >= 1.0)
    for i, (x, *_) in enumerate(examples):
        assert torch.equal(batch.inputs[i, : lengths[i]], x)
    assert batch.targets.tolist() == list(range(len(lengths)))


def test_token_sequences_pad_with_the_pad_value():
    batch = collate_sequences(
        [
            (torch.tensor([4, 5, 6]), torch.tensor(0), None, None),
            (torch.tensor([7]), torch.tensor(1), None, None),
        ],
        pad_value=1,
    )
    assert batch.inputs.tolist() == [[4, 5, 6], [7, 1, 1]]


def test_empty_sequences_are_refused_with_their_position():
    with pytest.raises(ValueError, match="example 1 of the batch is an empty sequence"):
        collate_sequences(
            [(torch.ones(2, 1), torch.tensor(0), None, None), (torch.ones(0, 1), torch.tensor(1), None, None)]
        )


def test_moving_a_batch_keeps_lengths_on_the_cpu():
    batch = SeqBatch(torch.ones(2, 3, 1), torch.tensor([3, 2]), torch.tensor([0, 1]))
    moved = batch.to("meta")
    assert moved.inputs.device.type == "meta" and moved.targets.device.type == "meta"
    assert moved.lengths.device.type == "cpu"


@given(st.lists(st.tuples(st.integers(1, 9), st.integers(1, 9)), min_size=1, max_size=6))
def test_per_step_targets_pad_with_the_ignore_index_and_keep_their_lengths(pairs):
    examples = [
        (torch.ones(n, 2), torch.arange(m), torch.tensor(i % 2), None) for i, (n, m) in enumerate(pairs)
    ]
    batch = collate_sequences(examples, target_pad_value=IGNORE_INDEX)
    lengths = [m for _, m in pairs]
    assert batch.target_lengths.tolist() == lengths
    assert batch.targets.shape == (len(pairs), max(lengths))
    assert torch.all(batch.targets[~batch.target_mask] == IGNORE_INDEX)
    for i, m in enumerate(lengths):
        assert batch.targets[i, :m].tolist() == list(range(m))
    assert batch.conditions.tolist() == [i % 2 for i in range(len(pairs))]


def test_series_targets_pad_with_zeros_per_channel():
    batch = collate_sequences(
        [(torch.ones(3, 1), torch.ones(2, 3), None, None), (torch.ones(1, 1), torch.ones(4, 3), None, None)],
        target_pad_value=0.0,
    )
    assert batch.targets.shape == (2, 4, 3) and batch.targets[0, 2:].abs().sum() == 0
    assert batch.target_lengths.tolist() == [2, 4]


def test_a_batch_of_one_target_per_sequence_has_no_target_mask():
    batch = collate_sequences([(torch.ones(2, 1), torch.tensor(0), None, None)])
    with pytest.raises(ValueError, match="one target per sequence"):
        _ = batch.target_mask


def test_known_future_covariates_stack_and_travel_with_the_batch():
    examples = [(torch.ones(5, 3), torch.zeros(4, 1), None, torch.full((4, 2), float(i))) for i in range(3)]
    batch = collate_sequences(examples, target_pad_value=0.0)
    assert batch.future.shape == (3, 4, 2) and batch.future[:, 0, 0].tolist() == [0.0, 1.0, 2.0]
    moved = batch.to("cpu")
    assert moved.future is not None and moved.lengths is batch.lengths
