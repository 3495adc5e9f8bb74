"""Per-step targets and conditions from examples to batches (see seqnet/data/targets.py)."""

import numpy as np
import pytest
import torch

from seqnet.data import IGNORE_INDEX, SequenceDataModule, build_spec
from seqnet.data.sources import SequenceExample, SequenceSplits
from tests.data.test_datamodule import ListSource

VOCAB = ["<pad>", "<unk>", "<bos>", "<eos>", "a", "b"]


def tagged(n: int, tags=("X", "Y")) -> list[SequenceExample]:
    return [
        SequenceExample(
            np.full(i % 3 + 2, 4 + i % 2, np.int64), [tags[(i + j) % len(tags)] for j in range(i % 3 + 2)]
        )
        for i in range(n)
    ]


def tag_splits(**kwargs) -> SequenceSplits:
    defaults = dict(
        name="toy",
        train=tagged(12),
        val=tagged(4),
        test=tagged(4),
        input_kind="tokens",
        target_kind="tags",
        vocab=VOCAB,
        aligned=True,
    )
    return SequenceSplits(**{**defaults, **kwargs})


def test_tags_become_ids_padded_with_the_ignore_index():
    dm = SequenceDataModule(ListSource(tag_splits()), batch_size=6)
    dm.setup()
    assert dm.spec.class_names == ["X", "Y"] and dm.spec.sequence_targets and dm.spec.aligned
    batch = next(iter(dm.val_dataloader()))
    assert batch.targets.shape == batch.inputs.shape
    assert torch.equal(batch.target_lengths, batch.lengths)
    assert torch.all(batch.targets[~batch.mask] == IGNORE_INDEX) and torch.all(batch.targets[batch.mask] >= 0)


def test_a_test_tag_unseen_in_training_is_a_clear_error():
    splits = tag_splits(test=tagged(2, tags=("Z",)))
    with pytest.raises(
        ValueError, match=r"toy test example 0 has tag 'Z', which the training split does not"
    ):
        SequenceDataModule(ListSource(splits)).setup()


def test_aligned_targets_of_the_wrong_length_are_refused_and_truncated_together():
    bad = [SequenceExample(np.array([4, 5, 4]), ["X", "Y"])]
    with pytest.raises(ValueError, match=r"toy test example 0 has 3 input steps but 2 targets"):
        SequenceDataModule(ListSource(tag_splits(test=bad))).setup()
    dm = SequenceDataModule(ListSource(tag_splits()), max_length=2)
    dm.setup()
    assert all(len(x) == len(y) <= 2 for x, y, *_ in dm.datasets["train"])


def test_token_targets_pad_with_the_target_pad_and_conditions_batch():
    target_vocab = ["<pad>", "<unk>", "<bos>", "<eos>", "P", "Q", "R"]
    make = [
        SequenceExample(
            np.array([4] * (i + 1)), np.array([*[4, 5, 6][: i % 3 + 1], 3]), condition=["m", "f"][i % 2]
        )
        for i in range(6)
    ]
    splits = SequenceSplits(
        "pairs",
        train=make,
        val=make[:2],
        test=make[:2],
        input_kind="tokens",
        target_kind="tokens",
        vocab=VOCAB,
        target_vocab=target_vocab,
        condition_kind="classes",
    )
    dm = SequenceDataModule(ListSource(splits), batch_size=6)
    dm.setup()
    assert dm.spec.condition_names == ["f", "m"] and dm.spec.target_vocab == target_vocab
    batch = next(iter(dm.predict_dataloader()))
    assert batch.targets[0].tolist() == [4, 3, 0] and batch.target_lengths.tolist() == [2, 3]
    assert batch.conditions.tolist() == [1, 0]


def test_series_targets_get_per_channel_statistics_from_training_only():
    def series(offset):
        return [
            SequenceExample(np.zeros((5, 1), np.float32), np.full((3, 2), [i, 10 + i], np.float32) + offset)
            for i in range(4)
        ]

    splits = SequenceSplits(
        "s", train=series(0), val=series(0), test=series(100), target_kind="series", horizon=3
    )
    spec = build_spec(splits, splits.train)
    assert spec.output_size == 2 and spec.horizon == 3
    np.testing.assert_allclose(spec.target_mean, [1.5, 11.5])


def test_a_condition_kind_without_conditions_is_refused():
    splits = tag_splits(condition_kind="classes")
    with pytest.raises(ValueError, match="condition_kind is 'classes' but an example has none"):
        build_spec(splits, splits.train)


def test_text_sources_record_their_tokenizers_in_the_spec(tmp_path):
    from seqnet.data.sources import LabelledTextSource, ParallelTextSource

    path = tmp_path / "a.tsv"
    path.write_text("x\tHello there\ny\tGood bye\n")
    labelled = LabelledTextSource(path, path, tokenizer="char").load()
    spec = build_spec(labelled, labelled.train)
    assert spec.tokenizer == {"name": "char", "lowercase": True} and spec.target_tokenizer is None
    pairs = ParallelTextSource(path, path, source_tokenizer="char", target_tokenizer="word").load()
    assert build_spec(pairs, pairs.train).target_tokenizer == {
        "name": "word",
        "lowercase": False,
        "spacing": {},
    }
