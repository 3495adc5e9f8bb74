"""minGRU and minLSTM: the log-space scan against a float64 loop written from the paper's
equations (not the cells' gate code), one step at a time, padding, start states and stacks."""

import pytest
import torch

from seqnet.nn import MinGRU, MinLSTM, RecurrentEncoder


def g(v):
    return torch.where(v >= 0, v + 0.5, torch.sigmoid(v))


def paper_loop(layer, x, h):
    """Feng et al. (2024), algorithms 1 and 3, sequential mode, in float64."""
    weight, bias = layer.linear.weight.double(), layer.linear.bias.double()
    outputs = []
    for t in range(x.shape[1]):
        k = x[:, t].double() @ weight.T + bias  # (B, gates * H)
        if isinstance(layer, MinGRU):
            gate, candidate = k.chunk(2, dim=-1)
            z = torch.sigmoid(gate)
            h = (1 - z) * h + z * g(candidate)
        else:
            forget, keep, candidate = k.chunk(3, dim=-1)
            f, i = torch.sigmoid(forget), torch.sigmoid(keep)
            h = f / (f + i) * h + i / (f + i) * g(candidate)
        outputs.append(h)
    return torch.stack(outputs, dim=1)  # (B, T, H)


@pytest.mark.parametrize("cell", [MinGRU, MinLSTM])
@pytest.mark.parametrize("steps", [16, 1024])
def test_the_scan_is_the_papers_loop_from_any_start_state(cell, steps):
    torch.manual_seed(0)
    layer = cell(6, 16)
    x = torch.randn(4, steps, 6)
    start = torch.randn(4, 16) * 2  # negative values too: the scan must not take their log
    out, (final,) = layer(x, torch.full((4,), steps), (start.unsqueeze(0),))
    expected = paper_loop(layer, x, start.double())
    torch.testing.assert_close(out.double(), expected, rtol=1e-4, atol=1e-5)
    torch.testing.assert_close(final[0].double(), expected[:, -1], rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("cell", [MinGRU, MinLSTM])
def test_stepping_gives_the_scan_and_padding_leaves_the_state_alone(cell):
    torch.manual_seed(0)
    layer = cell(3, 8)
    x, lengths, start = torch.randn(3, 12, 3), torch.tensor([12, 7, 1]), (torch.randn(1, 3, 8),)
    out, (final,) = layer(x, lengths, start)
    state, stepped = start, []
    for t in range(12):
        h, state = layer.step(x[:, t], state)
        stepped.append(h)
    stepped = torch.stack(stepped, dim=1)  # (B, T, H)
    torch.testing.assert_close(out[0], stepped[0], rtol=1e-5, atol=1e-6)
    for row, length in enumerate(lengths.tolist()):
        torch.testing.assert_close(out[row, :length], stepped[row, :length], rtol=1e-5, atol=1e-6)
        torch.testing.assert_close(final[0, row], stepped[row, length - 1], rtol=1e-5, atol=1e-6)
        assert not out[row, length:].any()  # outputs are zero at padding
        alone, _ = layer(x[row : row + 1, :length], lengths[row : row + 1], (start[0][:, row : row + 1],))
        torch.testing.assert_close(out[row : row + 1, :length], alone, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("cell", ["mingru", "minlstm"])
def test_scan_cells_stack_mix_run_both_ways_and_carry_state_across_chunks(cell):
    torch.manual_seed(0)
    encoder = RecurrentEncoder(5, 8, cell=[cell, "lstm", cell], residual=True, layer_norm=True)
    x, lengths = torch.randn(2, 20, 5, requires_grad=True), torch.tensor([20, 20])
    whole = encoder(x, lengths)
    first = encoder(x[:, :9], torch.tensor([9, 9]))
    second = encoder(x[:, 9:], torch.tensor([11, 11]), first.final_state)
    torch.testing.assert_close(
        torch.cat([first.outputs, second.outputs], 1), whole.outputs, rtol=1e-4, atol=1e-5
    )
    whole.outputs.sum().backward()
    assert torch.isfinite(x.grad).all() and x.grad.abs().sum() > 0
    both = RecurrentEncoder(5, 8, cell=cell, bidirectional=True)
    assert both(x, torch.tensor([20, 13])).outputs.shape == (2, 20, 16)
