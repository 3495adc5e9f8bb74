"""Arrays and texts in memory as sources: the target kind follows the targets' shape and type."""

import numpy as np
import pytest
import torch

from seqnet.data import SequenceDataModule
from seqnet.data.sources import ArraySource, TextSource


@pytest.mark.parametrize(
    ("y", "kind", "first"),
    [
        ([0, 1, 1, 0, 1, 0, 1, 0, 1, 0], "classes", "0"),
        (["cat", "dog"] * 5, "classes", "cat"),
        (np.linspace(0, 1, 10), "values", [0.0]),
        (np.ones((10, 3)), "values", [1.0, 1.0, 1.0]),
    ],
)
def test_one_target_per_sequence_is_a_class_or_values(y, kind, first):
    x = [np.arange(n * 2, dtype=float).reshape(n, 2) for n in range(2, 12)]
    splits = ArraySource(x, y, test_fraction=0.2).load()
    assert splits.target_kind == kind and not splits.aligned
    assert (len(splits.train), len(splits.test)) == (8, 2)
    target = splits.train[0].target
    assert (target if kind == "classes" else target.tolist()) == first


def test_a_padded_array_with_lengths_and_per_step_targets_is_tagging_or_per_step_regression():
    x = torch.randn(6, 5, 3)  # padded: lengths cut each row
    lengths = [5, 4, 3, 5, 2, 4]
    tags = [["A", "B", "A", "B", "A"]] * 6
    splits = ArraySource(x, tags, lengths=lengths, x_test=x[:2], y_test=tags[:2]).load()
    assert splits.target_kind == "tags" and splits.aligned
    assert [len(e.values) for e in splits.train] == lengths
    assert [len(e.target) for e in splits.train] == lengths
    per_step = ArraySource(x.numpy(), x.numpy()[..., :1], lengths=lengths).load()
    assert per_step.target_kind == "series" and per_step.train[0].target.shape[1] == 1


def test_mismatched_inputs_are_refused_with_what_to_fix():
    with pytest.raises(ValueError, match="3 sequences but 2 targets in y"):
        ArraySource(np.zeros((3, 4, 1)), [0, 1]).load()
    with pytest.raises(ValueError, match="different numbers of features"):
        ArraySource([np.zeros((4, 1)), np.zeros((4, 2))], [0, 1]).load()
    with pytest.raises(ValueError, match="give one tag per token"):
        TextSource([["a", "b"]] * 5, [["X"]] * 5).load()


def test_texts_become_token_examples_with_a_training_vocabulary():
    data = SequenceDataModule.from_texts(
        ["good film", "bad film", "great fun", "dull plot"] * 5,
        ["pos", "neg", "pos", "neg"] * 5,
        batch_size=4,
    )
    data.setup()
    assert data.spec.input_kind == "tokens" and data.spec.class_names == ["neg", "pos"]
