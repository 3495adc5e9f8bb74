import pytest
import torch

from seqnet.errors import InputError
from seqnet.nn import SeriesAugmentation

LENGTHS = torch.tensor([6, 3])


def batch() -> torch.Tensor:
    x = torch.arange(12, dtype=torch.float64).reshape(2, 6, 1) + 1
    x[1, 3:] = 0
    return x


def test_off_by_default_and_padding_stays_zero():
    assert torch.equal(SeriesAugmentation()(batch(), LENGTHS), batch())
    torch.manual_seed(0)
    noisy = SeriesAugmentation(jitter=0.5, scaling=0.2, window_slice=0.5)(batch(), LENGTHS)
    assert torch.all(noisy[1, 3:] == 0) and not torch.equal(noisy, batch())


def test_the_same_seed_gives_the_same_draws():
    augment = SeriesAugmentation(jitter=0.1, scaling=0.1, window_slice=0.7)
    torch.manual_seed(3)
    first = augment(batch(), LENGTHS)
    torch.manual_seed(3)
    assert torch.equal(augment(batch(), LENGTHS), first)


def test_window_slicing_stretches_a_window_of_the_sequence_over_its_length():
    torch.manual_seed(0)
    sliced = SeriesAugmentation(window_slice=0.5)(batch(), LENGTHS)
    first = sliced[0, :, 0]  # a window of 3 of 1..6, stretched over 6 steps: evenly spaced
    steps = first[1:] - first[:-1]
    torch.testing.assert_close(steps, torch.full_like(steps, 0.4))
    assert 1 <= first[0] <= 4 and first[-1] - first[0] == pytest.approx(2.0)


def test_jitter_is_in_units_of_each_channels_scale():
    torch.manual_seed(0)
    zeros = torch.zeros(1000, 5, 2, dtype=torch.float64)
    noise = SeriesAugmentation(jitter=0.1)(zeros, torch.full((1000,), 5), torch.tensor([1.0, 10.0]))
    stds = noise.reshape(-1, 2).std(0)
    assert stds[0] == pytest.approx(0.1, rel=0.05) and stds[1] == pytest.approx(1.0, rel=0.05)


def test_bad_settings_are_refused():
    with pytest.raises(InputError, match="0 < window_slice <= 1"):
        SeriesAugmentation(window_slice=0)
