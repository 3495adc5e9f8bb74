import numpy as np

from seqnet.data import BucketBatchSampler, ResumableDataLoader


def loader(seed: int) -> ResumableDataLoader:
    lengths = np.random.default_rng(0).integers(1, 30, size=50)
    sampler = BucketBatchSampler(lengths, batch_size=4, pool_factor=2, seed=seed)
    return ResumableDataLoader(list(range(50)), batch_sampler=sampler, collate_fn=list)


def test_a_loader_restored_mid_epoch_hands_out_the_rest_of_that_epochs_batches():
    unbroken = loader(seed=3)
    unbroken.batch_sampler.set_epoch(2)
    expected = list(unbroken)
    stopped = loader(seed=3)
    stopped.batch_sampler.set_epoch(2)
    batches = iter(stopped)
    seen = [next(batches) for _ in range(5)]
    state = stopped.state_dict()
    assert state == {"batches_returned": 5, "seed": 3} and seen == expected[:5]

    resumed = loader(seed=99)  # a run without a fixed seed: the checkpoint's seed comes back
    resumed.load_state_dict(state)
    batches = iter(resumed)
    resumed.batch_sampler.set_epoch(2)  # as Lightning does on a resumed run: after iter()
    assert list(batches) == expected[5:]
    assert resumed.state_dict()["batches_returned"] == len(expected)
    resumed.batch_sampler.set_epoch(3)
    assert len(list(resumed)) == len(expected)  # the next epoch is whole


def test_a_loader_saved_at_the_end_of_an_epoch_starts_the_next_one_whole():
    finished = loader(seed=3)
    list(finished)
    resumed = loader(seed=3)
    resumed.load_state_dict(finished.state_dict())
    assert len(list(resumed)) == len(finished)
