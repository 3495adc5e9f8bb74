import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from seqnet.data import SeqBatch, collate_sequences


@given(
    st.lists(st.integers(min_value=1, max_value=12), min_size=1, max_size=8),
    st.integers(min_value=1, max_value=3),
)
def test_collate_pads_and_keeps_lengths(lengths, features):
    examples = [(torch.rand(n, features) + 1.0, torch.tensor(i)) for i, n in enumerate(lengths)]
    batch = collate_sequences(examples)
    assert batch.inputs.shape == (len(lengths), max(lengths), features)
    assert batch.lengths.tolist() == lengths and batch.lengths.dtype == torch.int64
    assert batch.mask.sum(1).tolist() == lengths
    assert torch.all(batch.inputs[~batch.mask] == 0)
    assert torch.all(batch.inputs[batch.mask] >= 1.0)
    for i, (x, _) in enumerate(examples):
        assert torch.equal(batch.inputs[i, : lengths[i]], x)
    assert batch.targets.tolist() == list(range(len(lengths)))


def test_token_sequences_pad_with_the_pad_value():
    batch = collate_sequences(
        [(torch.tensor([4, 5, 6]), torch.tensor(0)), (torch.tensor([7]), torch.tensor(1))],
        pad_value=1,
    )
    assert batch.inputs.tolist() == [[4, 5, 6], [7, 1, 1]]


def test_empty_sequences_are_refused_with_their_position():
    with pytest.raises(ValueError, match="example 1 of the batch is an empty sequence"):
        collate_sequences([(torch.ones(2, 1), torch.tensor(0)), (torch.ones(0, 1), torch.tensor(1))])


def test_moving_a_batch_keeps_lengths_on_the_cpu():
    batch = SeqBatch(torch.ones(2, 3, 1), torch.tensor([3, 2]), torch.tensor([0, 1]))
    moved = batch.to("meta")
    assert moved.inputs.device.type == "meta" and moved.targets.device.type == "meta"
    assert moved.lengths.device.type == "cpu"
