import numpy as np
import pytest
import torch

from seqnet.data import SequenceDataModule, hold_out
from seqnet.data.sources import AddingProblemSource, SequenceExample, SequenceSplits
from seqnet.errors import InputError


class ListSource:
    def __init__(self, splits: SequenceSplits) -> None:
        self.splits = splits

    def load(self) -> SequenceSplits:
        return self.splits


def examples(labels: list[str], offset: float = 0.0) -> list[SequenceExample]:
    return [
        SequenceExample(np.full((i % 4 + 1, 2), i + offset, np.float32), label)
        for i, label in enumerate(labels)
    ]


def test_hold_out_is_stratified_disjoint_and_deterministic():
    data = examples(["a"] * 40 + ["b"] * 10)
    train, val = hold_out(data, 0.2, seed=3, target_kind="classes")
    again, _ = hold_out(data, 0.2, seed=3, target_kind="classes")
    assert [id(e) for e in train] == [id(e) for e in again]
    assert len(train) + len(val) == 50 and not {id(e) for e in train} & {id(e) for e in val}
    assert sorted(e.target for e in val) == ["a"] * 8 + ["b"] * 2


def test_a_held_out_sentence_with_a_tag_training_lacks_stays_in_training():
    """A rare tag drawn wholly into validation would have no training example and no class."""
    data = [SequenceExample(np.zeros((2, 1), np.float32), ["O", "O"]) for _ in range(40)]
    data += [SequenceExample(np.zeros((2, 1), np.float32), ["O", "rare"])]
    for seed in range(10):
        train, val = hold_out(data, 0.5, seed=seed, target_kind="tags")
        assert len(train) + len(val) == 41 and any("rare" in e.target for e in train)
        assert all(e.target == ["O", "O"] for e in val) and len(val) >= 19


def test_spec_statistics_come_from_the_training_part_only():
    splits = SequenceSplits("toy", train=examples(["a", "b"] * 10), test=examples(["a", "b"], 1e6))
    dm = SequenceDataModule(ListSource(splits), batch_size=4, val_fraction=0.25)
    dm.setup()
    train_values = np.concatenate([x.numpy() for x, *_ in dm.datasets["train"]])
    np.testing.assert_allclose(dm.spec.feature_mean, train_values.mean(0), rtol=1e-6)
    assert dm.spec.num_classes == 2 and dm.spec.class_names == ["a", "b"]
    batch = next(iter(dm.train_dataloader()))
    assert batch.inputs.shape[0] == 4 and batch.targets.dtype == torch.int64


def test_val_fraction_zero_trains_on_every_example_and_validates_on_them(caplog):
    splits = SequenceSplits("toy", train=examples(["a", "b"] * 10), test=examples(["a", "b"], 1e6))
    dm = SequenceDataModule(ListSource(splits), batch_size=4, val_fraction=0)
    with caplog.at_level("INFO"):
        dm.setup()
    assert len(dm.datasets["train"]) == 20
    assert [float(x.sum()) for x, *_ in dm.datasets["val"]] == [
        float(x.sum()) for x, *_ in dm.datasets["train"]
    ]
    assert "validation reads the training split" in caplog.text


def test_a_test_label_unseen_in_training_is_a_clear_error():
    splits = SequenceSplits("toy", train=examples(["a", "b"] * 5), test=examples(["c"]))
    with pytest.raises(
        ValueError,
        match=r"toy test example 0 has label 'c', which the training "
        r"split does not contain \(known: \['a', 'b'\]\)",
    ):
        SequenceDataModule(ListSource(splits)).setup()


def test_empty_sequences_are_skipped_and_long_ones_truncated(caplog):
    train = [*examples(["a", "b"] * 5), SequenceExample(np.zeros((0, 2), np.float32), "a")]
    splits = SequenceSplits("toy", train=train, val=examples(["a", "b"]), test=examples(["a"]))
    dm = SequenceDataModule(ListSource(splits), max_length=2)
    dm.setup()
    assert len(dm.datasets["train"]) == 10
    assert max(len(x) for x, *_ in dm.datasets["train"]) == 2
    assert "skipped 1 empty sequences" in caplog.text and "truncated" in caplog.text


def test_regression_spec_has_target_statistics():
    dm = SequenceDataModule(AddingProblemSource(length=10, num_train=200, num_val=50, num_test=50))
    dm.setup()
    assert dm.spec.target_kind == "values" and dm.spec.output_size == 1
    assert 0.9 < dm.spec.target_mean[0] < 1.1
    assert dm.val_dataloader().dataset is dm.datasets["val"] and len(dm.datasets["val"]) == 50


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(batch_size=0), "batch_size must be at least 1"),
        (dict(val_fraction=1.0), r"val_fraction must be in \[0, 1\)"),
        (dict(max_length=0), "max_length must be at least 1"),
    ],
)
def test_bad_arguments_are_refused(kwargs, message):
    with pytest.raises(ValueError, match=message):
        SequenceDataModule(AddingProblemSource(), **kwargs)


def test_under_ddp_each_rank_evaluates_a_disjoint_part_and_together_all_of_it():
    from types import SimpleNamespace

    dm = SequenceDataModule(
        AddingProblemSource(length=10, num_train=101, num_val=37, num_test=37), batch_size=8, bucket=True
    )
    dm.setup()
    seen = []
    train_batches = set()
    for rank in range(3):
        dm.trainer = SimpleNamespace(world_size=3, global_rank=rank)
        seen += [float(y) for batch in dm.val_dataloader() for y in batch.targets.flatten()]
        train_batches.add(len(dm.train_dataloader()))
    expected = sorted(float(y) for _, y, *_ in dm.datasets["val"] for y in y.flatten())
    assert sorted(seen) == expected
    assert len(train_batches) == 1


def test_bucketed_batches_pad_less_than_plain_ones():
    source = AddingProblemSource(length=10, num_train=64, num_val=8, num_test=8)
    splits = source.load()
    rng = np.random.default_rng(0)
    for example in splits.train:
        example.values = example.values[: rng.integers(1, 11)]

    def padded_steps(bucket: bool) -> int:
        dm = SequenceDataModule(ListSource(splits), batch_size=8, bucket=bucket)
        dm.setup()
        return sum(batch.inputs.shape[0] * batch.inputs.shape[1] for batch in dm.train_dataloader())

    assert padded_steps(bucket=True) < padded_steps(bucket=False)


@pytest.mark.parametrize(
    ("varied", "batch_size", "expected"), [(False, 2, False), (True, 2, True), (True, 8, False)]
)
def test_auto_buckets_where_random_batches_would_pad_a_lot_over_enough_batches(varied, batch_size, expected):
    splits = AddingProblemSource(length=30, num_train=100, num_val=8, num_test=8).load()
    if varied:
        for example, stop in zip(splits.train, np.random.default_rng(0).integers(3, 31, 100), strict=True):
            example.values = example.values[:stop]
    dm = SequenceDataModule(ListSource(splits), batch_size=batch_size)
    dm.setup()
    assert dm.bucket is expected


def test_a_token_source_without_vocabulary_is_refused():
    splits = SequenceSplits(
        "toy",
        train=[SequenceExample(np.array([4, 5]), "a")] * 4,
        test=[SequenceExample(np.array([4]), "a")],
        input_kind="tokens",
    )
    with pytest.raises(ValueError, match="toy: a token source must provide its vocabulary"):
        SequenceDataModule(ListSource(splits)).setup()


def test_an_evaluation_split_smaller_than_the_process_count_is_refused_by_name():
    """Under DDP every process must evaluate at least one sequence (Lightning refuses a rank with
    an empty loader, and the other ranks then hang up): say so, with the fixes."""
    from types import SimpleNamespace

    dm = SequenceDataModule(AddingProblemSource(length=5, num_train=40, num_val=1, num_test=3), batch_size=4)
    dm.setup()
    dm.trainer = SimpleNamespace(world_size=2, global_rank=0)
    with pytest.raises(InputError, match="the val split has 1 sequences, fewer than the 2 processes"):
        dm.val_dataloader()
    assert len(list(dm.test_dataloader())) == 1  # 3 test sequences: rank 0 takes 2
