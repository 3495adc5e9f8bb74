"""Stateful streams: a corpus's consecutive windows as parallel streams, row by row."""

import itertools

import pytest

from seqnet.data import SequenceDataModule
from seqnet.data.sources import TextCorpusSource, UCRSource
from seqnet.data.streams import StreamBatchSampler
from seqnet.errors import InputError


def test_each_row_is_a_run_of_consecutive_windows_and_processes_own_disjoint_runs():
    assert list(StreamBatchSampler(10, 3)) == [[0, 3, 6], [1, 4, 7], [2, 5, 8]]  # window 9 left out
    ranks = [list(StreamBatchSampler(20, 3, num_replicas=2, rank=r)) for r in (0, 1)]
    assert ranks[0][0] == [0, 3, 6] and ranks[1][0] == [9, 12, 15]
    assert not {i for b in ranks[0] for i in b} & {i for b in ranks[1] for i in b}
    sampler = StreamBatchSampler(10, 3)
    sampler.start_at(2)  # a run resumed mid-epoch
    assert list(sampler) == [[2, 5, 8]]


def test_evaluation_processes_split_the_rows_of_one_layout():
    """Under DDP, evaluation reads the windows one process reads, with the same context."""
    single = list(StreamBatchSampler(20, 5, split_rows=True))
    ranks = [list(StreamBatchSampler(20, 5, num_replicas=2, rank=r, split_rows=True)) for r in (0, 1)]
    assert [a + b for a, b in zip(*ranks, strict=True)] == single
    assert [len(batch) for batch in (ranks[0][0], ranks[1][0])] == [3, 2]


@pytest.fixture
def streams(tmp_path) -> SequenceDataModule:
    (tmp_path / "a.txt").write_text("the cat sat on the mat. " * 60)
    (tmp_path / "b.txt").write_text("a dog ran in the fog. " * 40)
    source = TextCorpusSource([str(tmp_path / "a.txt"), str(tmp_path / "b.txt")], seq_len=16)
    dm = SequenceDataModule(source, batch_size=4, stateful=True)
    dm.setup()
    return dm


def test_a_row_continues_its_text_from_batch_to_batch_and_starts_over_at_a_document(streams):
    batches = list(streams.train_dataloader())
    assert not batches[0].continues.any()  # every epoch starts its streams fresh
    restarts = 0
    for before, batch in itertools.pairwise(batches):
        for row in range(4):
            if batch.continues[row]:  # the next window: its first input is the last one's last target
                assert batch.inputs[row, 0] == before.targets[row, before.lengths[row] - 1]
            else:
                restarts += 1
    assert restarts == 1  # the second document begins inside one run
    val = list(streams.val_dataloader())
    assert all(batch.continues is not None for batch in val)  # validation streams too


def test_stateful_streams_refuse_whole_sequences_and_bucketing():
    with pytest.raises(InputError, match="stateful=true carries state from window to window"):
        SequenceDataModule(UCRSource("JapaneseVowels"), stateful=True).setup()
    with pytest.raises(InputError, match="bucketing"):
        SequenceDataModule(UCRSource("JapaneseVowels"), stateful=True, bucket=True)
