"""The fused CPU kernel for GRU, Elman and LSTM layers: exact gradients and final states, torch's
numbers in float32, NaN kept, no saved activations without autograd, auto's use of it, and a
fallback where it cannot be built."""

import os
import warnings

import pytest
import torch

from seqnet.errors import InputError
from seqnet.nn import RecurrentEncoder, cells, fused
from seqnet.nn.cells import TORCH_CELLS

KINDS = sorted(fused.FUSED_KINDS)


def layer_weights(kind, inputs, hidden, dtype=torch.float64):
    rnn_class, extra = TORCH_CELLS[kind]
    torch.manual_seed(0)
    rnn = rnn_class(inputs, hidden, batch_first=True, **extra).to(dtype)
    return rnn, list(rnn._flat_weights)


def start_state(kind, batch, hidden, dtype=torch.float64, scale=1.0):
    """(h0,) or an LSTM's (h0, c0), each (B, H)."""
    return tuple(torch.randn(batch, hidden, dtype=dtype) * scale for _ in range(2 if kind == "lstm" else 1))


def torch_state(kind, start):
    """A (B, H) start state -> what torch.nn takes: (1, B, H) h, or (h, c)."""
    return tuple(s[None] for s in start) if kind == "lstm" else start[0][None]


def fused_outputs(kind, x, start, weights, lengths):
    return fused.fused_recurrence(kind, x, start, weights, lengths)[0]


@pytest.mark.parametrize("kind", KINDS)
def test_gradients_of_inputs_start_state_weights_and_final_state_pass_gradcheck(kind):
    _, weights = layer_weights(kind, 3, 4)
    x = torch.randn(4, 5, 3, dtype=torch.float64, requires_grad=True)
    start = tuple(s.requires_grad_(True) for s in start_state(kind, 4, 4))
    lengths = [5, 4, 2, 1]
    for weight in weights:
        weight.requires_grad_(True)

    def function(x, *tensors):
        state, layer_weights = tensors[: len(start)], list(tensors[len(start) :])
        out, final = fused.fused_recurrence(kind, x, state, layer_weights, lengths)
        return out, *final

    assert torch.autograd.gradcheck(function, (x, *start, *weights))


@pytest.mark.parametrize("kind", KINDS)
def test_float32_matches_torch_over_a_long_batch_with_each_rows_final_state(kind):
    rnn, weights = layer_weights(kind, 8, 32, torch.float32)
    x = torch.randn(16, 40, 8)
    start = start_state(kind, 16, 32, torch.float32)
    out, final = fused.fused_recurrence(kind, x, start, weights, [40] * 16)
    expected, expected_final = rnn(x, torch_state(kind, start))
    torch.testing.assert_close(out, expected, atol=1e-5, rtol=1e-5)
    for got, want in zip(final, expected_final if kind == "lstm" else (expected_final,), strict=True):
        torch.testing.assert_close(got, want[0], atol=1e-5, rtol=1e-5)
    lengths = [40, 33, 20, 7]
    short, final = fused.fused_recurrence(kind, x[:4], tuple(s[:4] for s in start), weights, lengths)
    for row, length in enumerate(lengths):
        row_start = torch_state(kind, tuple(s[row : row + 1] for s in start))
        alone, alone_final = rnn(x[row : row + 1, :length], row_start)
        torch.testing.assert_close(short[row, :length], alone[0], atol=1e-5, rtol=1e-5)
        assert torch.all(short[row, length:] == 0)
        for got, want in zip(final, alone_final if kind == "lstm" else (alone_final,), strict=True):
            torch.testing.assert_close(got[row], want[0, 0], atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("kind", KINDS)
def test_saturating_inputs_give_torchs_outputs_and_finite_gradients(kind, dtype):
    """Fast math's exp overflows to NaN unless the kernel clamps: a GRU on unscaled pixels did."""
    rnn, weights = layer_weights(kind, 4, 8, dtype)
    for scale in (100.0, 1e5):
        x = (torch.randn(16, 10, 4, dtype=dtype) * scale).requires_grad_(True)
        start = tuple(torch.zeros(16, 8, dtype=dtype) for _ in start_state(kind, 1, 1))
        out = fused_outputs(kind, x, start, weights, [10] * 16)
        torch.testing.assert_close(out, rnn(x)[0], atol=1e-5, rtol=1e-5)
        out.sum().backward()
        assert torch.isfinite(x.grad).all()


@pytest.mark.parametrize("kind", KINDS)
def test_a_nan_input_spreads_as_through_torchs_kernel(kind):
    """Fast math must not hide a NaN: the trainer's non-finite-loss check relies on it."""
    rnn, weights = layer_weights(kind, 3, 4)
    x = torch.randn(2, 6, 3, dtype=torch.float64)
    x[0, 2, 0] = float("nan")
    start = tuple(torch.zeros(2, 4, dtype=torch.float64) for _ in start_state(kind, 1, 1))
    nans = []
    for function in (lambda x: fused_outputs(kind, x, start, weights, [6, 6]), lambda x: rnn(x)[0]):
        x_seen = x.clone().requires_grad_(True)
        out = function(x_seen)
        out[:, -1].sum().backward()
        nans.append((torch.isnan(out), torch.isnan(x_seen.grad)))
    assert nans[0][0][0, 2:].any() and not nans[0][0][1].any()  # from the NaN's step on, in its row only
    assert all(torch.equal(a, b) for a, b in zip(*nans, strict=True))


@pytest.mark.parametrize("kind", ["gru", "lstm"])
def test_without_autograd_it_keeps_no_activations_and_gives_the_same_outputs(kind, monkeypatch):
    _, weights = layer_weights(kind, 3, 4)
    x = torch.randn(3, 7, 3, dtype=torch.float64)
    start = start_state(kind, 3, 4)
    kept = []
    original = fused.kernels().forward
    monkeypatch.setattr(fused.kernels(), "forward", lambda *a: kept.append(a[-1]) or original(*a))
    trained = fused_outputs(kind, x, start, [w.requires_grad_(True) for w in weights], [7, 5, 2])
    with torch.no_grad():
        inferred = fused_outputs(kind, x, start, weights, [7, 5, 2])
    assert kept == [True, False]
    torch.testing.assert_close(inferred, trained.detach())
    gates = 4 if kind == "lstm" else 3
    gi = torch.randn(3, 7, gates * 4, dtype=torch.float64)
    c0 = start[1] if kind == "lstm" else torch.empty(0, dtype=torch.float64)
    w_hh, b_hh = weights[1].detach(), weights[3].detach()
    arguments = (fused.FUSED_KINDS[kind], gi, start[0], c0, w_hh, b_hh, [7, 5, 2])
    *_, hidden, gate_values, cell_states = original(*arguments, False)
    assert hidden.shape == gate_values.shape == (1, 3, gates * 4)  # one step's scratch, not 7 steps'
    assert cell_states.shape == ((1, 3, 4) if kind == "lstm" else (0, 3, 4))
    *_, hidden, gate_values, cell_states = original(*arguments, True)
    assert gate_values.shape == (7, 3, gates * 4)


def test_the_kernel_names_the_shapes_it_expects():
    _, weights = layer_weights("gru", 3, 4)
    gi = torch.randn(2, 5, 12, dtype=torch.float64)
    empty = torch.empty(0, dtype=torch.float64)
    w_hh, b_hh = weights[1].detach(), weights[3].detach()
    h0 = torch.zeros(2, 4, dtype=torch.float64)
    with pytest.raises(RuntimeError, match=r"h0 must be \(B, H\) with B = 2, got \[3, 4\]"):
        fused.kernels().forward(
            0, gi, torch.zeros(3, 4, dtype=torch.float64), empty, w_hh, b_hh, [5, 2], True
        )
    with pytest.raises(RuntimeError, match=r"lengths must be B = 2 values sorted longest first"):
        fused.kernels().forward(0, gi, h0, empty, w_hh, b_hh, [2, 5], True)


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
        assert RecurrentEncoder(5, 4, cell=cell, bidirectional=True)(x, lengths).final_state.batch_size == 3
    assert calls == ["gru", "gru", "rnn", "rnn", "rnn_relu", "rnn_relu", "lstm", "lstm"]  # each direction
    RecurrentEncoder(5, 4, cell="gru").to(torch.bfloat16)(x.bfloat16(), lengths)  # a dtype it lacks
    RecurrentEncoder(5, 4, cell="gru", route="padded")(x, lengths)
    monkeypatch.setenv("SEQNET_FUSED_KERNELS", "0")
    RecurrentEncoder(5, 4, cell="gru")(x, lengths)
    assert len(calls) == 8


def test_a_small_lstm_takes_the_fused_kernel_where_enough_of_the_batch_is_padding(monkeypatch):
    """oneDNN's LSTM over equal lengths; the kernel, which skips padded steps, over lengths with at
    least `SEGMENT_MIN_SAVING` padding on a layer of at most `FUSED_LSTM_MAX_CELLS` (B3 x H4 = 12)."""
    calls = count_fused(monkeypatch)
    x = torch.randn(3, 10, 5)
    encoder = RecurrentEncoder(5, 4, cell="lstm", bidirectional=True)
    for grad in (True, False):
        with torch.set_grad_enabled(grad):
            encoder(x, torch.tensor([10, 10, 10]))
            assert calls == []  # equal lengths: oneDNN, training or inference
            encoder(x, torch.tensor([10, 9, 10]))
            assert calls == []  # 1/30 padding: the padded route on oneDNN
            encoder(x, torch.tensor([10, 3, 10]))
            assert calls == ["lstm", "lstm"]  # 7/30 padding: the kernel, each direction
            calls.clear()
    monkeypatch.setattr(cells, "FUSED_LSTM_MAX_CELLS", 11)
    encoder(x, torch.tensor([10, 3, 10]))
    assert calls == []  # a larger layer: oneDNN over the padded tensor


@pytest.mark.filterwarnings("ignore:LSTM with projections is not supported with oneDNN")
def test_a_larger_lstm_takes_the_fused_kernel_only_for_its_final_state_over_variable_lengths(monkeypatch):
    """oneDNN's LSTM is faster on larger layers; only their final c over variable lengths needs the
    kernel (packing did it 2-3x slower)."""
    calls = count_fused(monkeypatch)
    monkeypatch.setattr(cells, "FUSED_LSTM_MAX_CELLS", 11)  # B3 x H4 is larger
    x = torch.randn(3, 6, 5)
    encoder = RecurrentEncoder(5, 4, cell="lstm")
    out = encoder(x, torch.tensor([6, 2, 6]))
    assert calls == []  # outputs alone: oneDNN over the padded tensor
    state = out.final_state
    assert calls == ["lstm"]
    packed = RecurrentEncoder(5, 4, cell="lstm", route="packed")
    packed.load_state_dict(encoder.state_dict())
    for got, want in zip(state.top, packed(x, torch.tensor([6, 2, 6])).final_state.top, strict=True):
        torch.testing.assert_close(got, want)
    assert encoder(x, torch.tensor([6, 6, 6])).final_state.batch_size == 3  # equal lengths: one oneDNN call
    projected = RecurrentEncoder(5, 4, cell="lstm", proj_size=3)  # no fused route: packing
    assert projected(x, torch.tensor([6, 2, 6])).final_state.batch_size == 3
    assert calls == ["lstm"]


def test_a_forced_fused_route_refuses_what_it_cannot_run():
    with pytest.raises(InputError, match=r"route='fused' does not run an LSTM with proj_size"):
        RecurrentEncoder(5, 4, cell="lstm", route="fused", proj_size=3)
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


@pytest.mark.parametrize("cell", ["gru", "lstm"])
def test_under_bfloat16_autocast_step_keeps_its_state_in_float32(cell):
    """ATen's cells multiply in bfloat16 there but return float32, so the carried state never
    rounds to bfloat16 from step to step."""
    encoder = RecurrentEncoder(5, 4, cell=cell, num_layers=2)
    x = torch.randn(3, 5)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        y, state = encoder.step(x)
    assert y.dtype == torch.float32 and all(t.dtype == torch.float32 for layer in state for t in layer)
    expected_y, expected_state = encoder.step(x)
    torch.testing.assert_close(y, expected_y, atol=1e-2, rtol=1e-2)
    torch.testing.assert_close(state.top, expected_state.top, atol=1e-2, rtol=1e-2)


@pytest.mark.parametrize(
    ("capability", "builds"),
    [
        ("AVX512", ["portable", "avx2", "avx512"]),
        ("AVX2", ["portable", "avx2"]),
        ("DEFAULT", ["portable"]),
        ("SVE256", ["portable"]),
    ],
)
def test_the_build_follows_the_vector_instructions_torch_detects(capability, builds, monkeypatch):
    monkeypatch.setattr(torch.backends.cpu, "get_cpu_capability", lambda: capability)
    assert fused.runnable_builds() == builds
    assert fused.instruction_set() == builds[-1]  # the widest


@pytest.mark.parametrize("isa", fused.runnable_builds()[:-1])
def test_every_build_this_cpu_can_run_gives_the_same_numbers(isa):
    """Each narrower build (the portable one is what a CPU without AVX2 loads) against the widest,
    the one loaded here."""
    loaded = fused.kernels()
    assert loaded.__name__ == fused.build_name(fused.instruction_set())
    narrower = fused.build(isa)
    _, weights = layer_weights("lstm", 8, 32, torch.float32)
    gi = torch.randn(16, 20, 128)
    h0, c0 = start_state("lstm", 16, 32, torch.float32)
    w_hh, b_hh = weights[1].detach(), weights[3].detach()
    arguments = (fused.FUSED_KINDS["lstm"], gi, h0, c0, w_hh, b_hh, [20] * 8 + [9] * 8, True)
    for ours, theirs in zip(loaded.forward(*arguments)[:3], narrower.forward(*arguments)[:3], strict=True):
        torch.testing.assert_close(ours, theirs, atol=1e-5, rtol=1e-5)  # outputs, final h and c


def test_a_build_is_named_by_its_source_and_flags_so_two_versions_keep_one_build_each(tmp_path, monkeypatch):
    name = fused.build_name("avx2")
    assert name.startswith("seqnet_recurrence_avx2_") and name != fused.build_name("portable")
    edited = tmp_path / "recurrence.cpp"
    edited.write_text(fused.SOURCE.read_text() + "\n// another version\n")
    monkeypatch.setattr(fused, "SOURCE", edited)
    assert fused.build_name("avx2") != name


def test_a_build_that_compiles_says_so_on_stderr_and_a_cached_one_is_silent(tmp_path, monkeypatch, capsys):
    from torch.utils import cpp_extension

    isa = fused.instruction_set()
    fused.build(isa)  # cached by the suite's first use: loads silently
    assert fused.is_built(isa) and capsys.readouterr().err == ""
    monkeypatch.setenv("TORCH_EXTENSIONS_DIR", str(tmp_path))  # an empty cache
    monkeypatch.setattr(cpp_extension, "load", lambda name, *a, **k: name)
    assert not fused.is_built(isa)
    assert fused.build(isa) == fused.build_name(isa)
    printed = capsys.readouterr().err.splitlines()
    assert printed[0].startswith(f"seqnet: compiling the fused CPU kernel for {isa} once (about 30-40 s")
    assert printed[1].startswith(f"seqnet: fused CPU kernel for {isa} built in")


def test_seqnet_build_kernels_builds_what_training_loads(monkeypatch, capsys):
    from seqnet.cli import build_kernels

    built = []
    monkeypatch.setattr(fused, "build", built.append)
    monkeypatch.setattr("sys.argv", ["seqnet-build-kernels", "--all"])
    build_kernels.main()
    assert built == fused.runnable_builds()
    assert f"{fused.build_name(fused.instruction_set())}: ready in" in capsys.readouterr().out
