"""Fused CPU kernels for GRU, Elman RNN and LSTM layers (`csrc/recurrence.cpp`), built on first use.

On the CPU, ATen runs a GRU as a handful of small autograd-recorded ops per time step, and that
overhead, not arithmetic, bounds it at the sizes RNNs are used at. The fused kernel runs a whole
layer and direction in one call: per step one matmul and one loop over every gate, a hand-written
backward, and only the rows still active at each step (rows sorted longest first), so padding is
skipped as exactly as packing skips it and each row's final state (an LSTM's c too) is exact.
`python scripts/bench.py encoder`, `final_state` and `lstm_kernel` measure it. An LSTM uses it
over variable lengths, where the layer is small and skipping the padding pays, and for its exact
final state; over equal lengths oneDNN's fused LSTM is faster at every size measured.

The kernel is compiled with the C++ compiler and ninja the first time a process needs it (about
half a minute, announced on standard error) and cached by torch in `TORCH_EXTENSIONS_DIR` (default
`~/.cache/torch_extensions`), so later runs load it in a moment; `seqnet-build-kernels` (which
`make install` runs) builds it ahead. Each build is named after a hash of its source and flags, so
two checkouts or versions of seqnet keep one build each instead of rebuilding it in turn. Without
a compiler, layers keep torch's kernels and warn once.
`SEQNET_FUSED_KERNELS=0` keeps the automatic route off them (a forced `route=fused` still runs them).
"""

from __future__ import annotations

import functools
import hashlib
import os
import sys
import time
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType

import torch
from torch import Tensor

FUSED_KINDS = {"gru": 0, "rnn": 1, "rnn_relu": 2, "lstm": 3}  # the kernel's Kind enum
FUSED_DTYPES = (torch.float32, torch.float64)
SOURCE = Path(__file__).with_name("csrc") / "recurrence.cpp"
# Fast math lets the compiler vectorise exp and tanh; the kernel clamps their arguments and tests
# for NaN on the bits, so saturating inputs and NaN behave as in torch's kernels
# (tests/nn/test_fused.py).
CFLAGS = ["-O3", "-ffast-math", "-fopenmp-simd"]
# Wider vectors where the CPU has them, as torch itself detects them (`python scripts/bench.py
# kernel_isa` measures each build against the AVX2 one). Not -march=native: each instruction set is
# its own build, under its own name, so a kernel cached on a home directory shared across a
# cluster's nodes runs on each.
ISA_FLAGS = {
    "portable": [],
    "avx2": ["-mavx2", "-mfma"],
    # the extensions torch's "AVX512" capability requires of the CPU
    "avx512": ["-mavx2", "-mfma", "-mavx512f", "-mavx512vl", "-mavx512bw", "-mavx512dq"],
}
ISA_CAPABILITIES = {"avx2": ("AVX2", "AVX512"), "avx512": ("AVX512",)}  # torch's names each build runs on


def runnable_builds() -> list[str]:
    """The instruction sets (keys of `ISA_FLAGS`) whose build this CPU runs, as torch detects it."""
    capability = torch.backends.cpu.get_cpu_capability()
    return ["portable", *(isa for isa, names in ISA_CAPABILITIES.items() if capability in names)]


def enabled() -> bool:
    """Whether the fused kernels may be used (`SEQNET_FUSED_KERNELS` is not "0")."""
    return os.environ.get("SEQNET_FUSED_KERNELS", "1") != "0"


@contextmanager
def _ninja_on_path() -> Iterator[None]:
    """torch finds ninja on PATH; the `ninja` wheel seqnet depends on puts it beside the Python of
    its environment, which is not on PATH when a script runs without activating that environment."""
    try:
        import ninja
    except ImportError:  # a system ninja, if any, is then the one torch finds
        yield
        return
    path = os.environ.get("PATH", "")
    os.environ["PATH"] = os.pathsep.join([ninja.BIN_DIR, path])
    try:
        yield
    finally:
        os.environ["PATH"] = path


def instruction_set() -> str:
    """The widest build this CPU runs: "avx512" where torch detects AVX-512, "avx2" where it detects
    AVX2, else "portable" (SSE2 on x86-64, the baseline elsewhere). `ATEN_CPU_CAPABILITY=avx2` (torch's
    own switch) narrows both torch's kernels and this choice."""
    return runnable_builds()[-1]


def build_name(isa: str) -> str:
    """The name the build for instruction set `isa` has in torch's extension cache: the instruction
    set and a hash of the source and the flags, since torch keys its cache by name alone."""
    digest = hashlib.sha256(SOURCE.read_bytes())
    digest.update(" ".join(CFLAGS + ISA_FLAGS[isa]).encode())
    return f"seqnet_recurrence_{isa}_{digest.hexdigest()[:10]}"


def is_built(isa: str) -> bool:
    """Whether torch's extension cache holds the build for `isa` (loading it then takes a moment)."""
    from torch.utils import cpp_extension

    name = build_name(isa)
    return any(Path(cpp_extension._get_build_directory(name, verbose=False)).glob(f"{name}*.so"))


def build(isa: str) -> ModuleType:
    """The extension compiled for instruction set `isa` (a key of `ISA_FLAGS`), or torch's cached
    build of it. A build that has to compile says so on standard error first, and when it is done."""
    from torch.utils import cpp_extension

    compiling = not is_built(isa)
    if compiling:
        start = time.monotonic()
        announce(
            f"seqnet: compiling the fused CPU kernel for {isa} once (about 30-40 s; later runs load it "
            "from torch's extension cache; `seqnet-build-kernels` builds it ahead)"
        )
    with _ninja_on_path():
        module = cpp_extension.load(build_name(isa), [str(SOURCE)], extra_cflags=CFLAGS + ISA_FLAGS[isa])
    if compiling:
        announce(f"seqnet: fused CPU kernel for {isa} built in {time.monotonic() - start:.0f} s")
    return module


def announce(message: str) -> None:
    """A line on standard error, on a line of its own even when a progress bar is being drawn."""
    lead = "\n" if sys.stderr.isatty() else ""
    print(f"{lead}{message}", file=sys.stderr, flush=True)


@functools.cache
def kernels() -> ModuleType | None:
    """The compiled extension for this CPU, built on the first call of a process; None where it
    cannot be built (a warning says why and how to fix it)."""
    try:
        return build(instruction_set())
    except (OSError, RuntimeError, ImportError) as error:  # no compiler or ninja, a failed build
        warnings.warn(
            f"seqnet's fused CPU kernels for GRU, Elman RNN and LSTM layers could not be built ({error}); "
            "those layers use torch's kernels, which are slower on the CPU. Install a C++ compiler and "
            "ninja (`pip install ninja`) to build them, or set SEQNET_FUSED_KERNELS=0 to silence this.",
            RuntimeWarning,
            stacklevel=2,
        )
        return None


def supports(kind: str, x: Tensor) -> bool:
    """Whether the fused kernel can run a `kind` layer on x (a CPU float32/float64 tensor)."""
    return kind in FUSED_KINDS and x.device.type == "cpu" and x.dtype in FUSED_DTYPES


class FusedRecurrence(torch.autograd.Function):
    """gi (B, T, G*H), h0 (B, H), c0 (B, H) for an LSTM else empty, w_hh (G*H, H), b_hh (G*H) ->
    outputs (B, T, H), final h (B, H), final c (B, H) for an LSTM else empty; `keep`: save what
    backward needs (every step's gates), else only one step's scratch."""

    @staticmethod
    def forward(
        ctx,
        kind: int,
        gi: Tensor,
        h0: Tensor,
        c0: Tensor,
        w_hh: Tensor,
        b_hh: Tensor,
        lengths: list[int],
        keep: bool,
    ):
        out, hn, cn, *saved = kernels().forward(kind, gi, h0, c0, w_hh, b_hh, lengths, keep)
        ctx.kind, ctx.lengths = kind, lengths
        ctx.save_for_backward(h0, c0, w_hh, out, *saved)
        return out, hn, cn

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, d_out: Tensor, d_hn: Tensor, d_cn: Tensor):
        h0, c0, w_hh, out, *saved = ctx.saved_tensors
        d_gi, d_h0, d_c0, d_w_hh, d_b_hh = kernels().backward(
            ctx.kind, d_out, d_hn, d_cn, h0, c0, w_hh, out, *saved, ctx.lengths
        )
        return None, d_gi, d_h0, d_c0 if c0.numel() else None, d_w_hh, d_b_hh, None, None


def fused_recurrence(
    kind: str, x: Tensor, start: tuple[Tensor, ...], weights: list[Tensor], lengths: list[int]
) -> tuple[Tensor, tuple[Tensor, ...]]:
    """One layer and direction of a `kind` RNN over x (B, T, I) from its start state, (h0,) or an
    LSTM's (h0, c0), each (B, H) -> (outputs (B, T, H), the state after each row's last valid step).

    weights: torch's [w_ih, w_hh, b_ih, b_hh] for that layer and direction. lengths: the rows'
    lengths, longest first (>= 1). Outputs are exactly zero after each row's length.
    """
    w_ih, w_hh, b_ih, b_hh = weights
    batch, steps, features = x.shape
    with torch.autocast(x.device.type, enabled=False):  # under autocast the layer keeps x's dtype
        gi = torch.addmm(b_ih, x.reshape(batch * steps, features), w_ih.t())  # (B*T, G*H)
    gi = gi.view(batch, steps, -1)  # (B, T, G*H)
    h0 = start[0].contiguous()
    c0 = start[1].contiguous() if kind == "lstm" else h0.new_empty(0)
    keep = torch.is_grad_enabled() and any(t.requires_grad for t in (gi, h0, c0, w_hh, b_hh))
    out, hn, cn = FusedRecurrence.apply(FUSED_KINDS[kind], gi, h0, c0, w_hh, b_hh, lengths, keep)
    return out, (hn, cn) if kind == "lstm" else (hn,)
