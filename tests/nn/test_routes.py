"""Every execution route of the built-in cells gives the same outputs, states and gradients."""

import warnings

import pytest
import torch

from seqnet.nn import RecurrentEncoder
from seqnet.nn import cells as cells_module
from seqnet.nn.cells import TORCH_CELLS
from seqnet.nn.fused import FUSED_KINDS

LENGTHS = torch.tensor([3, 9, 6, 1, 9, 4])  # sorting them is not its own inverse
ROUTE_CONFIGS = [
    dict(cell=cell, bidirectional=bidirectional, num_layers=layers)
    for cell in sorted(TORCH_CELLS)
    for bidirectional in (False, True)
    for layers in (1, 2)
] + [
    dict(cell="lstm", num_layers=2, bidirectional=True, proj_size=3),
    dict(cell=["lstm", "gru"], bidirectional=True),
]


def pair(route="padded", **kwargs):
    """The packed route and `route`, with the same weights (float64)."""
    encoders = []
    for each in ("packed", route):
        torch.manual_seed(0)
        encoders.append(RecurrentEncoder(5, 6, route=each, **kwargs).double())
    return encoders


def torch_kernels_only(monkeypatch):
    """Auto as it chooses without seqnet's fused CPU kernel (on CUDA, or where it cannot be built)."""
    monkeypatch.setenv("SEQNET_FUSED_KERNELS", "0")


def run(enc, x):
    x = x.clone().requires_grad_(True)
    out = enc(x, LENGTHS)
    states = [t for layer in out.final_state for t in layer]
    loss = (out.outputs.pow(2).sum() + out.last.sum() + sum(s.pow(2).sum() for s in states)) * 0.1
    loss.backward()
    grads = [p.grad for p in enc.parameters()] + [x.grad]
    return out, states, grads


def segmenting(monkeypatch, count):
    """The padded route cut at `count` - 1 length quantiles and the shortest length (1: not cut)."""
    monkeypatch.setattr(cells_module, "PADDED_SEGMENTS", count)


def fuses(kwargs):
    """Whether every layer of the encoder built from kwargs can run on the fused kernel."""
    cells = kwargs["cell"] if isinstance(kwargs["cell"], list) else [kwargs["cell"]]
    return all(cell in FUSED_KINDS for cell in cells) and not kwargs.get("proj_size")


@pytest.mark.parametrize(
    "route, segments", [("padded", 1), ("padded", 4), ("fused", 1)], ids=["whole", "segmented", "fused"]
)
@pytest.mark.parametrize("kwargs", ROUTE_CONFIGS, ids=str)
def test_every_route_agrees_with_packing_on_outputs_states_and_gradients(
    kwargs, route, segments, monkeypatch
):
    if route == "fused" and not fuses(kwargs):
        pytest.skip("the fused kernel runs no LSTM projections")
    segmenting(monkeypatch, segments)
    packed, other = pair(route, **kwargs)
    torch.manual_seed(1)
    x = torch.randn(6, 9, 5, dtype=torch.float64)
    x[torch.arange(9).unsqueeze(0) >= LENGTHS.unsqueeze(1)] = 99.0  # garbage in padding
    assert_same(run(packed, x), run(other, x))


def assert_same(a, b):
    """Two `run` results: equal outputs, last outputs, states and gradients; zero padded outputs."""
    torch.testing.assert_close(a[0].outputs, b[0].outputs, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(a[0].last, b[0].last, atol=1e-5, rtol=1e-5)
    assert torch.all(b[0].outputs[~b[0].mask] == 0)
    for sa, sb in zip(a[1], b[1], strict=True):
        torch.testing.assert_close(sa, sb, atol=1e-5, rtol=1e-5)
    for ga, gb in zip(a[2], b[2], strict=True):
        torch.testing.assert_close(ga, gb, atol=1e-5, rtol=1e-5)


def test_time_segments_cut_at_the_shortest_length_and_the_quartiles():
    longest_first = torch.tensor([9, 9, 6, 4, 3, 1])
    assert cells_module.time_segments(longest_first, 9, 4) == [(0, 1, 6), (1, 3, 5), (3, 4, 4), (4, 9, 3)]
    assert cells_module.time_segments(longest_first, 9, 2) == [(0, 1, 6), (1, 4, 5), (4, 9, 3)]
    assert cells_module.time_segments(longest_first, 12, 1) == [(0, 12, 6)]
    assert cells_module.time_segments(longest_first, 12, 4)[-1] == (9, 12, 0)  # past the longest row


def count_row_steps(monkeypatch, kind):
    """Record rows x steps of every recurrent kernel call of `kind` on the padded route."""
    calls = []
    original = cells_module._FUNCTIONS[kind]

    def counted(sequence, *args):
        calls.append(sequence.shape[0] * sequence.shape[1])
        return original(sequence, *args)

    monkeypatch.setitem(cells_module._FUNCTIONS, kind, counted)
    return calls


@pytest.mark.parametrize("cell", ["gru", "lstm"])
def test_the_padded_route_skips_the_steps_after_most_rows_end_and_only_then(cell, monkeypatch):
    calls = count_row_steps(monkeypatch, cell)
    torch.manual_seed(0)
    padded = RecurrentEncoder(5, 6, cell=cell, route="padded", bidirectional=True)
    packed = RecurrentEncoder(5, 6, cell=cell, route="packed", bidirectional=True)
    packed.load_state_dict(padded.state_dict())
    x = torch.randn(6, 12, 5)
    short = torch.tensor([9, 9, 6, 1, 8, 4])  # all end before the padded tensor does
    torch.testing.assert_close(padded(x, short).outputs, packed(x, short).outputs, atol=1e-5, rtol=1e-5)
    assert sum(calls) == 2 * (37 + 1)  # each direction: the 37 valid steps, and step 8 of the row of 8
    calls.clear()
    padded(x, torch.tensor([12, 12, 11, 12, 10, 12]))  # too little padding to pay for a cut
    assert calls == [6 * 12, 6 * 12]


def count_packing(monkeypatch):
    calls = []
    original = cells_module.pack_padded_sequence
    monkeypatch.setattr(
        cells_module, "pack_padded_sequence", lambda *a, **k: calls.append(1) or original(*a, **k)
    )
    return calls


def test_auto_runs_variable_lengths_padded_on_cpu_and_packs_only_for_an_lstm_state_someone_reads(monkeypatch):
    torch_kernels_only(monkeypatch)
    calls = count_packing(monkeypatch)
    x = torch.randn(6, 9, 5)
    gru_state = RecurrentEncoder(5, 6, cell="gru", num_layers=2)(x, LENGTHS).final_state
    assert gru_state.top.shape == (1, 6, 6)  # GRU states are read off the outputs
    out = RecurrentEncoder(5, 6, cell="lstm")(x, LENGTHS)
    assert calls == [], "no packing on the CPU at this padding share"
    first = out.final_state  # c of an LSTM: computed now, exactly, through the packed route
    assert calls == [1]
    assert out.final_state is first and calls == [1]  # and only once


def test_mostly_padding_goes_packed_and_a_forced_route_is_kept(monkeypatch):
    torch_kernels_only(monkeypatch)
    calls = count_packing(monkeypatch)
    skewed = torch.tensor([4, 2, 2, 2, 2, 2])  # 94 % padding
    x = torch.randn(6, 40, 5)
    RecurrentEncoder(5, 6, cell="gru")(x, skewed)
    assert calls == [1]
    RecurrentEncoder(5, 6, cell="lstm")(x, skewed)  # oneDNN's padded LSTM beats packing at any share
    assert calls == [1]
    RecurrentEncoder(5, 6, cell="gru", route="padded")(x, skewed)
    assert calls == [1]
    RecurrentEncoder(5, 6, cell="gru", route="packed")(x[:, :9], LENGTHS)
    assert calls == [1, 1]
    with pytest.raises(ValueError, match="route must be one of"):
        RecurrentEncoder(5, 6, cell="gru", route="fast")


CUDNN_COPY_WARNING = (
    "RNN module weights are not part of single contiguous chunk of memory. This means they need to "
    "be compacted at every call, possibly greatly increasing memory usage. To compact weights again "
    "call flatten_parameters()."
)


def test_only_cudnns_weight_copy_warning_is_silenced_and_only_on_cuda():
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        with cells_module._quiet_weight_copy(torch.device("cuda")):
            warnings.warn(CUDNN_COPY_WARNING, UserWarning, stacklevel=1)
            warnings.warn("something else", UserWarning, stacklevel=1)
        with cells_module._quiet_weight_copy(torch.device("cpu")):
            warnings.warn(CUDNN_COPY_WARNING, UserWarning, stacklevel=1)
        warnings.warn(CUDNN_COPY_WARNING, UserWarning, stacklevel=1)  # the filter ends with the block
    assert [str(w.message) for w in seen] == ["something else", CUDNN_COPY_WARNING, CUDNN_COPY_WARNING]


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
@pytest.mark.parametrize("cell", ["gru", "lstm"])
def test_a_forced_padded_route_on_cuda_matches_packed_and_warns_nothing(cell):
    packed, padded = (enc.cuda() for enc in pair(cell=cell, bidirectional=True, num_layers=2))
    torch.manual_seed(1)
    x = torch.randn(6, 9, 5, dtype=torch.float64, device="cuda")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # cuDNN's weight-copy advice would fail here
        assert_same(run(packed, x), run(padded, x))
