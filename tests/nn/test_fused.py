"""The fused CPU kernel for GRU and Elman layers: exact gradients, torch's numbers in float32, NaN
kept, no saved activations without autograd, auto's use of it, and a fallback where it cannot be
built."""

import os
import warnings

import pytest
import torch

from seqnet.errors import InputError
from seqnet.nn import RecurrentEncoder, fused
from seqnet.nn.cells import TORCH_CELLS

KINDS = sorted(fused.FUSED_KINDS)


def layer_weights(kind, inputs, hidden, dtype=torch.float64):
    rnn_class, extra = TORCH_CELLS[kind]
    torch.manual_seed(0)
    rnn = rnn_class(inputs, hidden, batch_first=True, **extra).to(dtype)
    return rnn, list(rnn._flat_weights)


@pytest.mark.parametrize("kind", KINDS)
def test_gradients_of_inputs_start_state_and_weights_pass_gradcheck(kind):
    _, weights = layer_weights(kind, 3, 4)
    x = torch.randn(4, 5, 3, dtype=torch.float64, requires_grad=True)
    h0 = torch.randn(4, 4, dtype=torch.float64, requires_grad=True)
    lengths = [5, 4, 2, 1]
    for weight in weights:
        weight.requires_grad_(True)

    def function(x, h0, *weights):
        return fused.fused_recurrence(kind, x, h0, list(weights), lengths)

    assert torch.autograd.gradcheck(function, (x, h0, *weights))


@pytest.mark.parametrize("kind", KINDS)
def test_float32_matches_torch_over_a_long_batch_and_zeroes_padding(kind):
    rnn, weights = layer_weights(kind, 8, 32, torch.float32)
    x = torch.randn(16, 40, 8)
    h0 = torch.randn(16, 32)
    out = fused.fused_recurrence(kind, x, h0, weights, [40] * 16)
    torch.testing.assert_close(out, rnn(x, h0[None])[0], atol=1e-5, rtol=1e-5)
    lengths = [40, 33, 20, 7]
    short = fused.fused_recurrence(kind, x[:4], h0[:4], weights, lengths)
    for row, length in enumerate(lengths):
        alone = rnn(x[row : row + 1, :length], h0[None, row : row + 1])[0][0]
        torch.testing.assert_close(short[row, :length], alone, atol=1e-5, rtol=1e-5)
        assert torch.all(short[row, length:] == 0)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("kind", KINDS)
def test_saturating_inputs_give_torchs_outputs_and_finite_gradients(kind, dtype):
    """Fast math's exp overflows to NaN unless the kernel clamps: a GRU on unscaled pixels did."""
    rnn, weights = layer_weights(kind, 4, 8, dtype)
    for scale in (100.0, 1e5):
        x = (torch.randn(16, 10, 4, dtype=dtype) * scale).requires_grad_(True)
        out = fused.fused_recurrence(kind, x, torch.zeros(16, 8, dtype=dtype), weights, [10] * 16)
        torch.testing.assert_close(out, rnn(x)[0], atol=1e-5, rtol=1e-5)
        out.sum().backward()
        assert torch.isfinite(x.grad).all()


@pytest.mark.parametrize("kind", KINDS)
def test_a_nan_input_spreads_as_through_torchs_kernel(kind):
    """Fast math must not hide a NaN: the trainer's non-finite-loss check relies on it."""
    rnn, weights = layer_weights(kind, 3, 4)
    x = torch.randn(2, 6, 3, dtype=torch.float64)
    x[0, 2, 0] = float("nan")
    nans = []
    for function in (lambda x: fused.fused_recurrence(kind, x, torch.zeros(2, 4).double(), weights, [6, 6]),
                     lambda x: rnn(x)[0]):  # fmt: skip
        x_seen = x.clone().requires_grad_(True)
        out = function(x_seen)
        out[:, -1].sum().backward()
        nans.append((torch.isnan(out), torch.isnan(x_seen.grad)))
    assert nans[0][0][0, 2:].any() and not nans[0][0][1].any()  # from the NaN's step on, in its row only
    assert all(torch.equal(a, b) for a, b in zip(*nans, strict=True))


def test_without_autograd_it_keeps_no_activations_and_gives_the_same_outputs(monkeypatch):
    _, weights = layer_weights("gru", 3, 4)
    x = torch.randn(3, 7, 3, dtype=torch.float64)
    h0 = torch.zeros(3, 4, dtype=torch.float64)
    kept = []
    original = fused.kernels().forward
    monkeypatch.setattr(fused.kernels(), "forward", lambda *a: kept.append(a[-1]) or original(*a))
    trained = fused.fused_recurrence("gru", x, h0, [w.requires_grad_(True) for w in weights], [7, 5, 2])
    with torch.no_grad():
        inferred = fused.fused_recurrence("gru", x, h0, weights, [7, 5, 2])
    assert kept == [True, False]
    torch.testing.assert_close(inferred, trained.detach())
    gi = torch.randn(3, 7, 12, dtype=torch.float64)
    _, hidden, gates = original(0, gi, h0, weights[1].detach(), weights[3].detach(), [7, 5, 2], False)
    assert hidden.shape == gates.shape == (1, 3, 12)  # one step's scratch, not 7 steps'


def count_fused(monkeypatch):
    calls = []
    original = fused.fused_recurrence
    monkeypatch.setattr(fused, "fused_recurrence", lambda *a: calls.append(a[0]) or original(*a))
    return calls


def test_auto_takes_the_fused_kernel_for_gru_and_elman_layers_on_the_cpu_only(monkeypatch):
    calls = count_fused(monkeypatch)
    x = torch.randn(3, 6, 5)
    lengths = torch.tensor([6, 2, 6])
    for cell in ("gru", "rnn", "rnn_relu", "lstm"):
        RecurrentEncoder(5, 4, cell=cell, bidirectional=True)(x, lengths)
    assert calls == ["gru", "gru", "rnn", "rnn", "rnn_relu", "rnn_relu"]  # each direction, no LSTM
    RecurrentEncoder(5, 4, cell="gru").to(torch.bfloat16)(x.bfloat16(), lengths)  # a dtype it lacks
    RecurrentEncoder(5, 4, cell="gru", route="padded")(x, lengths)
    monkeypatch.setenv("SEQNET_FUSED_KERNELS", "0")
    RecurrentEncoder(5, 4, cell="gru")(x, lengths)
    assert len(calls) == 6


def test_a_forced_fused_route_refuses_what_it_cannot_run():
    with pytest.raises(InputError, match=r"route='fused' runs .*'gru'.* not 'lstm'"):
        RecurrentEncoder(5, 4, cell="lstm", route="fused")
    encoder = RecurrentEncoder(5, 4, cell="gru", route="fused").to(torch.bfloat16)
    with pytest.raises(InputError, match=r"CPU float32/float64 tensors, got torch\.bfloat16"):
        encoder(torch.randn(2, 3, 5, dtype=torch.bfloat16))


def test_a_failed_build_warns_once_and_auto_falls_back_to_torch(monkeypatch):
    from torch.utils import cpp_extension

    def no_compiler(*args, **kwargs):
        raise RuntimeError("Ninja is required to load C++ extensions")

    monkeypatch.setattr(cpp_extension, "load", no_compiler)
    fused.kernels.cache_clear()
    try:
        with pytest.warns(RuntimeWarning, match=r"could not be built .*Ninja is required.*pip install ninja"):
            assert fused.kernels() is None
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # cached: no second warning
            out = RecurrentEncoder(5, 4, cell="gru")(torch.randn(2, 3, 5), torch.tensor([3, 1]))
        assert out.outputs.shape == (2, 3, 4)
        with pytest.raises(InputError, match="could not be built"):
            RecurrentEncoder(5, 4, cell="gru", route="fused")(torch.randn(2, 3, 5))
    finally:
        fused.kernels.cache_clear()  # the next caller loads the cached build


def test_the_build_finds_the_ninja_wheel_without_an_activated_environment():
    ninja = pytest.importorskip("ninja")
    before = os.environ["PATH"]
    with fused._ninja_on_path():
        assert os.environ["PATH"].split(os.pathsep)[0] == ninja.BIN_DIR
    assert os.environ["PATH"] == before


def test_under_bfloat16_autocast_the_layer_runs_in_float32():
    encoder = RecurrentEncoder(5, 4, cell="gru")
    x, lengths = torch.randn(3, 6, 5), torch.tensor([6, 2, 4])
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out = encoder(x, lengths).outputs
    torch.testing.assert_close(out, encoder(x, lengths).outputs)
