import pytest
import torch

from seqnet.errors import InputError
from seqnet.nn import ConvBranch, ConvFrontend

LENGTHS = torch.tensor([9, 4, 1, 6])


def batch(extra_padding: int = 0) -> torch.Tensor:
    torch.manual_seed(0)
    x = torch.randn(len(LENGTHS), int(LENGTHS.max()), 3, dtype=torch.float64)
    x = torch.cat([x, torch.zeros(len(LENGTHS), extra_padding, 3, dtype=torch.float64)], dim=1)
    for i, n in enumerate(LENGTHS):
        x[i, n:] = 99.0  # garbage in padding must never reach a valid step
    return x


def frontend(**kwargs) -> ConvFrontend:
    torch.manual_seed(1)
    return ConvFrontend(3, channels=(5, 6), kernel_sizes=(4, 3), **kwargs).double().eval()


@pytest.mark.parametrize("norm", ["batch", "layer", "none"])
@pytest.mark.parametrize("stride", [1, 2, 3])
def test_a_sequences_output_does_not_change_with_more_padding_or_alone(norm, stride):
    layer = frontend(norm=norm, stride=stride)
    y, lengths = layer(batch(), LENGTHS)
    assert lengths.tolist() == [-(-n // stride) for n in LENGTHS.tolist()]
    wider, _ = layer(batch(extra_padding=5), LENGTHS)
    for i, n in enumerate(lengths.tolist()):
        alone, _ = layer(batch()[i : i + 1, : LENGTHS[i]], LENGTHS[i : i + 1])
        torch.testing.assert_close(y[i, :n], alone[0])
        torch.testing.assert_close(wider[i, :n], y[i, :n])
        assert torch.all(y[i, n:] == 0)


def test_batch_norm_in_training_takes_its_statistics_from_valid_steps_only():
    layer = frontend(norm="batch").train()
    torch.testing.assert_close(layer(batch(), LENGTHS)[0], layer(batch(extra_padding=7), LENGTHS)[0][:, :9])
    assert layer.norms[0].running_mean.abs().sum() > 0  # the running statistics moved


def test_the_conv_branch_averages_over_valid_steps():
    torch.manual_seed(0)
    branch = ConvBranch(3, channels=(4,), kernel_sizes=(1,), norm="none").double()
    y, _ = branch.convs(batch(), LENGTHS)
    pooled = branch(batch(), LENGTHS)
    for i, n in enumerate(LENGTHS.tolist()):
        torch.testing.assert_close(pooled[i], y[i, :n].mean(0))


def test_mismatched_kernels_are_refused():
    with pytest.raises(InputError, match="one kernel size per convolution"):
        ConvFrontend(3, channels=(4, 5), kernel_sizes=(3,))
