from collections import Counter

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from seqnet.data.sampler import BucketBatchSampler, random_batch_padding

lengths_strategy = st.lists(st.integers(min_value=1, max_value=60), min_size=1, max_size=300)


def flat(sampler) -> list[int]:
    return [i for batch in sampler for i in batch]


@given(lengths_strategy, st.integers(min_value=1, max_value=16), st.booleans())
def test_one_process_sees_every_example_exactly_once(lengths, batch_size, shuffle):
    sampler = BucketBatchSampler(lengths, batch_size, shuffle=shuffle, pool_factor=4)
    batches = list(sampler)
    assert sorted(flat(batches)) == list(range(len(lengths)))
    assert len(batches) == len(sampler)
    assert all(1 <= len(b) <= batch_size for b in batches)


@settings(deadline=None)
@given(lengths_strategy, st.integers(min_value=1, max_value=8), st.integers(min_value=1, max_value=4))
def test_training_shards_cover_the_data_and_give_every_rank_the_same_batches(lengths, batch, replicas):
    shards = [
        flat(BucketBatchSampler(lengths, batch, num_replicas=replicas, rank=r, seed=7))
        for r in range(replicas)
    ]
    counts = [
        len(list(BucketBatchSampler(lengths, batch, num_replicas=replicas, rank=r, seed=7)))
        for r in range(replicas)
    ]
    assert len(set(counts)) == 1, "every rank must run the same number of batches"
    assert set().union(*map(set, shards)) == set(range(len(lengths)))
    per_rank = -(-len(lengths) // replicas)
    assert all(len(s) == per_rank for s in shards)
    repeats = sum(Counter(i for s in shards for i in s).values()) - len(lengths)
    assert repeats == per_rank * replicas - len(lengths)  # only the wrap-around padding repeats


@given(lengths_strategy, st.integers(min_value=1, max_value=8), st.integers(min_value=1, max_value=4))
def test_evaluation_shards_are_disjoint_and_count_every_example_once(lengths, batch, replicas):
    shards = [
        flat(BucketBatchSampler(lengths, batch, shuffle=False, num_replicas=replicas, rank=r))
        for r in range(replicas)
    ]
    assert sorted(i for s in shards for i in s) == list(range(len(lengths)))


def test_a_new_order_every_epoch_and_the_same_order_for_the_same_epoch():
    lengths = list(range(1, 201))
    sampler = BucketBatchSampler(lengths, 8, seed=1)
    first = list(sampler)
    assert list(sampler) == first
    sampler.set_epoch(1)
    assert list(sampler) != first
    assert sorted(flat(sampler)) == list(range(200))


def padding_share(sampler, lengths) -> float:
    lengths = np.asarray(lengths)
    padded = sum(len(b) * lengths[b].max() for b in sampler)
    return 1 - lengths.sum() / padded


def test_bucketing_cuts_padding():
    lengths = np.random.default_rng(0).integers(5, 500, size=2000).tolist()
    exact = padding_share(BucketBatchSampler(lengths, 32, pool_factor=50, length_noise=0), lengths)
    bucketed = padding_share(BucketBatchSampler(lengths, 32, pool_factor=50), lengths)
    plain = padding_share(BucketBatchSampler(lengths, 32, pool_factor=None), lengths)
    assert exact < 0.04 and bucketed < 0.08 < 0.3 < plain


def test_a_single_pool_still_mixes_its_batches_from_epoch_to_epoch():
    """Without length noise a data set smaller than one pool would get the same batches forever."""
    lengths = np.random.default_rng(0).integers(5, 30, size=256).tolist()
    sampler = BucketBatchSampler(lengths, 32, pool_factor=50, seed=1)
    epochs = []
    for epoch in range(2):
        sampler.set_epoch(epoch)
        epochs.append({frozenset(batch) for batch in sampler})
    assert len(epochs[0] & epochs[1]) < 4, "most batches differ between epochs"
    assert padding_share(sampler, lengths) < 0.1
    evaluation = BucketBatchSampler(lengths, 32, shuffle=False, pool_factor=50)
    assert list(evaluation) == list(evaluation)
    assert flat(evaluation) == sorted(range(256), key=lambda i: lengths[i])


def test_random_batch_padding_measures_the_share_of_padded_steps():
    assert random_batch_padding([7] * 100, 8) == 0.0
    assert random_batch_padding([1, 3], 2) == pytest.approx(1 - 4 / 6)


def test_without_grouping_evaluation_keeps_dataset_order():
    sampler = BucketBatchSampler([5, 1, 3, 2], 3, shuffle=False, pool_factor=None)
    assert list(sampler) == [[0, 1, 2], [3]]


def test_drop_last_drops_each_ranks_short_batch():
    sampler = BucketBatchSampler([3] * 10, 4, drop_last=True)
    assert [len(b) for b in sampler] == [4, 4] and len(sampler) == 2


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(batch_size=0), "batch_size must be at least 1"),
        (dict(batch_size=2, pool_factor=0), "pool_factor must be at least 1"),
        (dict(batch_size=2, num_replicas=2, rank=2), r"rank must be in \[0, 2\)"),
    ],
)
def test_bad_arguments_are_refused(kwargs, message):
    with pytest.raises(ValueError, match=message):
        BucketBatchSampler([1, 2, 3], **kwargs)
