import numpy as np
import pytest

from seqnet.data.sources import AddingProblemSource, CopyMemorySource, NoisySineSource


def test_adding_problem_targets_are_the_sum_of_the_two_marked_values():
    splits = AddingProblemSource(length=20, num_train=50, num_val=5, num_test=5).load()
    for example in splits.train:
        values, markers = example.values[:, 0], example.values[:, 1]
        assert markers.sum() == 2 and markers[:10].sum() == 1
        assert example.target == pytest.approx(values[markers == 1].sum(), rel=1e-6)


@pytest.mark.parametrize("delay", [0, 30])
def test_copy_memory_asks_for_the_first_symbols_at_the_end(delay):
    splits = CopyMemorySource(
        delay=delay, copy_length=5, num_symbols=4, num_train=20, num_val=2, num_test=2
    ).load()
    vocab = splits.vocab
    for example in splits.train:
        inputs = [vocab[i] for i in example.values]
        assert len(inputs) == len(example.target) == delay + 2 * 5
        assert inputs[5 + delay] == ":" and example.target[-5:] == inputs[:5]
        assert set(example.target[:-5]) == {"_"} and set(inputs[:5]) <= {"a", "b", "c", "d"}
    assert splits.class_names == ["_", "a", "b", "c", "d"]


def test_noisy_sines_continue_the_same_wave():
    clean = NoisySineSource(length=40, horizon=5, noise=0.0, num_train=10, num_val=2, num_test=2).load()
    for example in clean.train:
        wave = np.concatenate([example.values[:, 0], example.target[:, 0]])  # (45,)
        assert np.abs(wave).max() <= 1.5 + 1e-5
        # A sine satisfies x[t+1] + x[t-1] = 2 cos(w) x[t]; w is the same over window and horizon.
        ratio = (wave[2:] + wave[:-2]) / np.where(np.abs(wave[1:-1]) > 0.2, wave[1:-1], np.nan)
        assert np.nanstd(ratio) < 1e-3
    noisy = NoisySineSource(noise=0.1, num_train=5, num_val=1, num_test=1).load()
    assert noisy.train[0].values.shape == (64, 1) and noisy.train[0].target.shape == (8, 1)


def test_denoising_sines_target_the_clean_wave_at_every_input_step():
    splits = NoisySineSource(length=30, noise=0.2, num_train=50, num_val=5, num_test=5, task="denoise").load()
    assert splits.aligned and splits.target_kind == "series" and splits.horizon == 0
    noisy, clean = splits.train[0].values, splits.train[0].target
    assert noisy.shape == clean.shape == (30, 1)
    residual = np.concatenate([e.values - e.target for e in splits.train])
    assert 0.18 < residual.std() < 0.22  # the noise, and nothing else, separates input and target
    forecast = NoisySineSource(length=30, noise=0.2, num_train=50, num_val=5, num_test=5).load()
    np.testing.assert_array_equal(forecast.train[0].values, noisy)  # same waves for both tasks
