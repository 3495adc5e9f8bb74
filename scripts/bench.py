"""seqnet's speed against hand-written PyTorch, as ratios of contenders interleaved in one process.

    python scripts/bench.py                    # every case; writes benchmarks/*.json and benchmarks/README.md
    python scripts/bench.py encoder --reps 11  # one case
    python scripts/bench.py --tiny --out /tmp  # the smoke size the test suite runs
    python scripts/bench.py --device cuda      # the encoder routes on a GPU (bench_*_cuda.json)

Shared machines drift several-fold between runs, so absolute times are noise: each case runs its
contenders A B A B ... for `--reps` repetitions and reports the median ratio and its min-max.

Cases:
- encoder: forward+backward of `RecurrentEncoder` (auto route; the padded route on torch's
  kernels, auto's choice before the fused CPU kernel; the packed route seqnet used before routes
  existed; on the CPU the fused kernel forced, which auto does not pick for an LSTM's outputs)
  against raw `torch.nn` run over the padded tensor, per cell and shape; and
  the share of the matmul rate (a `torch.mm` of the same FLOPs, timed alongside) each one reaches,
  and the kernel each one ran: oneDNN's fused RNN, cuDNN's, or ATen's step-by-step loop.
- crossover: padded against packed route as the share of padding grows, with one long row and the
  rest short, and with power-law lengths (sets `PADDED_MAX_WASTE`).
- segments: the padded route cut into time segments (rows sorted by length, each segment run on
  the rows still active) against run whole, per cell and length profile (sets `PADDED_SEGMENTS`
  and `SEGMENT_MIN_SAVING`).
- final_state: forward+backward through the outputs and the exact final state over lengths 20-100:
  seqnet asked for it up front (`need_state=True`: an LSTM takes the fused kernel), seqnet reading
  it afterwards (an LSTM's outputs on oneDNN, then a second pass for the state), seqnet's packed
  route (what an LSTM's state took before the fused LSTM kernel), against raw torch.nn over packed
  sequences (the hand-written way to exact final states).
- lstm_kernel: an LSTM layer on the fused kernel against oneDNN's over equal lengths, by batch and
  hidden size, in training, inference and a frozen encoder.
- lstm_lengths: a bidirectional LSTM on the fused kernel against the padded route over variable
  lengths, by size and padding share (sets `FUSED_LSTM_MAX_CELLS`).
- kernel_isa: the fused CPU kernel built for the baseline instruction set (SSE2 on x86-64) against
  its AVX2/FMA build, which seqnet loads where torch detects AVX2: forward+backward, route fused.
- step: `RecurrentEncoder.step` over 20 steps (one ATen cell per layer, what `nn.LSTMCell` runs)
  against the hand-written loop of `nn.LSTMCell`/`GRUCell`/`RNNCell` and against torch.nn's
  sequence module called with T=1 per step (what `step` ran before), training and inference; the
  path of generation, beam search and every step-by-step decoder.
- generation: tokens/s of `LanguageModel.generate` (state carried) against re-reading the prefix
  at every step, and against the state carried with `step` through torch.nn's sequence module
  called with T=1 (`TorchRecurrentLayer.sequence_step`, what `step` ran before).
- seq2seq_step: training steps of `Seq2Seq` (teacher forcing: the attention decoder calls `step`
  once per target token) with `step` on ATen's cells against the T=1 module, at the cmudict_g2p
  experiment's sizes on synthetic pairs.
- training_step: a whole `ManyToOne` training step under the Lightning Trainer against the
  hand-written loop, small (GRU/LSTM-32, T12, B32) and large (2-layer LSTM-128, T100, B64) models;
  the loop with torch's default AdamW (what a hand-written loop gets) and with the fused AdamW
  seqnet picks (the same optimizer: what is left is the framework's overhead); and plain
  Lightning (a minimal LightningModule around the same torch.nn layers, with either AdamW): the
  floor of any framework built on Lightning's training loop, and with the fused one what seqnet
  adds over Lightning alone.
- bucketing: real tokens/s of training steps over bucketed against random batches (names, food
  reviews; `bucket: auto` turns bucketing on for both).
- startup: seconds until `seqnet-train --help` and a config error answer, and until the first
  training step of `seqnet-train debug=fast`; the fused CPU kernel's first build and cached load.
- remedies: the known CPU remedies for GRU/RNN (issue 10) against raw `torch.nn` over the padded
  tensor, forward+backward of one layer (H128, T100, B64): the cell written out with every step's
  input projection in one matmul and a Python loop for the recurrent part, eagerly, with the step
  through `torch.compile`, and with the whole loop through it (compile times reported apart; the
  compiled ones not at --tiny size).
- threads: a GRU training loop in a fresh process with OpenMP's default wait policy, with
  `OMP_WAIT_POLICY=PASSIVE`, with a short spin, and with one thread; on a quiet machine and beside
  a competing busy process that the case starts itself (sets the `process` defaults of the CLI).
- encoder_threads: the encoder case's GRU and Elman RNN at H128 (2 layers with equal lengths, 1
  layer with lengths 20-100) in a fresh process per setting of the threads case: seconds and the
  share of the matmul rate under each, and the share one step's recurrent matmul reaches alone.

encoder, crossover and step also run on a GPU (`--device cuda`, written as bench_encoder_cuda.json,
bench_crossover_cuda.json and bench_step_cuda.json); the other cases measure the CPU.
"""

from __future__ import annotations

import argparse
import copy
import itertools
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from unittest import mock

import lightning as L
import numpy as np
import torch
from benchmark_file import environment as benchmark_environment
from torch import nn

from seqnet.data import DataSpec, SequenceDataModule
from seqnet.data.sources import SequenceExample, SequenceSplits
from seqnet.data.sources.parallel_text import parallel_splits
from seqnet.nn import RecurrentEncoder, cells, fused
from seqnet.nn.cells import PADDED_MAX_WASTE, TORCH_CELLS, TorchRecurrentLayer
from seqnet.nn.fused import build, build_name, instruction_set, kernels, runnable_builds
from seqnet.tasks import LanguageModel, ManyToOne, Seq2Seq

GATES = {"lstm": 4, "gru": 3, "rnn": 1}


def interleaved(contenders: dict[str, Callable[[], object]], reps: int) -> dict[str, list[float]]:
    """Seconds per call of each contender after one warm-up round, measured in turns that each
    start one contender later (A B C, B C A, C A B, ...): a contender's place in the turn can move
    its time (two identical oneDNN LSTM contenders of the encoder case differed by their place), so
    every contender takes every place."""
    for run in contenders.values():
        run()
    names = list(contenders)
    times: dict[str, list[float]] = {name: [] for name in names}
    for rep in range(reps):
        for name in names[rep % len(names) :] + names[: rep % len(names)]:
            start = time.perf_counter()
            contenders[name]()
            times[name].append(time.perf_counter() - start)
    return times


def ratio(times: dict[str, list[float]], a: str, b: str) -> dict[str, float]:
    """Median and min-max over repetitions of time(a) / time(b) (paired by repetition)."""
    ratios = [x / y for x, y in zip(times[a], times[b], strict=True)]
    return {
        "median": round(statistics.median(ratios), 3),
        "min": round(min(ratios), 3),
        "max": round(max(ratios), 3),
    }


def synchronized(run: Callable[[], object], device: torch.device) -> Callable[[], object]:
    """`run`, then a wait for the device to finish it (CUDA runs asynchronously); what run returns."""

    def call() -> object:
        result = run()
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        return result

    return call


def forward_pass(module: nn.Module, x: torch.Tensor, lengths: torch.Tensor) -> Callable[[], torch.Tensor]:
    """One forward pass of an encoder (or of a raw torch.nn RNN over the padded tensor): its outputs."""

    def run() -> torch.Tensor:
        return module(x, lengths).outputs if isinstance(module, RecurrentEncoder) else module(x)[0]

    return run


def forward_backward(module: nn.Module, x: torch.Tensor, lengths: torch.Tensor) -> Callable[[], None]:
    """One forward+backward of an encoder (or of a raw torch.nn RNN over the padded tensor) on x's
    device; lengths stay on the CPU."""
    forward = forward_pass(module, x, lengths)
    return synchronized(lambda: forward().sum().backward(), x.device)


KERNELS = {
    "mkldnn_rnn": "onednn",
    "_cudnn_rnn": "cudnn",
    "miopen_rnn": "miopen",
    "FusedRecurrence": "seqnet_fused",
}


def recurrent_kernel(run: Callable[[], object]) -> str:
    """Which library ran the recurrence of one call of `run`: "onednn" (the CPU's fused RNN
    kernel), "cudnn", "miopen", "seqnet_fused" (seqnet's CPU kernel for GRU and Elman layers) or
    "aten" (ATen's loop over time steps), from the operators the profiler records."""
    with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU]) as profile:
        run()
    ops = {event.key for event in profile.key_averages()}
    found = {kernel for marker, kernel in KERNELS.items() for op in ops if marker in op}
    return "+".join(sorted(found)) or "aten"


def lengths_for(batch: int, steps: int, low: int, generator: torch.Generator) -> torch.Tensor:
    lengths = torch.randint(low, steps + 1, (batch,), generator=generator)
    lengths[0] = steps  # the padded tensor is as long as its longest sequence
    return lengths


def encoder_batch(
    batch: int, steps: int, inputs: int, variable: bool, generator: torch.Generator, device: str = "cpu"
) -> tuple[torch.Tensor, torch.Tensor]:
    """lengths (B,) on the CPU (20-100 % of `steps`, or all equal) and inputs x (B, T, I) on `device`,
    requiring grad: the encoder cases' batch."""
    lengths = lengths_for(batch, steps, steps // 5, generator) if variable else torch.full((batch,), steps)
    return lengths, torch.randn(batch, steps, inputs, generator=generator).to(device).requires_grad_()


def power_lengths(batch: int, steps: int, power: float, generator: torch.Generator) -> torch.Tensor:
    """Most rows short and a long tail: steps * u**power for u uniform, one row of `steps`."""
    lengths = (steps * torch.rand(batch, generator=generator) ** power).ceil().long().clamp(min=1)
    lengths[0] = steps
    return lengths


def same_flops_matmul(
    cell: str, batch: int, steps: int, inputs: int, hidden: int, layers: int, device: str = "cpu"
) -> tuple[int, Callable[[], object]]:
    """The FLOPs of a recurrent stack's forward+backward (3x the forward's multiply-adds, padding
    included), and a run of large `torch.mm`s of the same FLOPs on `device`: what the machine's
    matmul rate would do with them."""
    width = (inputs + hidden) * GATES[cell] * hidden  # multiply-adds per row and step, layer 1
    flops = 3 * 2 * batch * steps * (width + (layers - 1) * 2 * hidden * GATES[cell] * hidden)
    generator = torch.Generator().manual_seed(1)
    left = torch.randn(batch * steps, inputs + hidden, generator=generator).to(device)  # (B*T, I+H)
    right = torch.randn(inputs + hidden, GATES[cell] * hidden, generator=generator).to(device)  # (I+H, G*H)
    count = max(1, round(flops / (2 * left.shape[0] * left.shape[1] * right.shape[1])))
    return flops, synchronized(lambda: [left @ right for _ in range(count)], torch.device(device))


def same_weights(
    build: Callable[..., RecurrentEncoder], routes: tuple[str, ...]
) -> dict[str, RecurrentEncoder]:
    """One encoder per route, built by `build(route=...)` after `torch.manual_seed(0)`, each holding
    the first one's weights."""
    torch.manual_seed(0)
    encoders = {route: build(route=route) for route in routes}
    for encoder in encoders.values():
        encoder.load_state_dict(encoders[routes[0]].state_dict())
    return encoders


def encoder_case(reps: int, tiny: bool, device: str = "cpu") -> list[dict]:
    batch, steps, inputs = (8, 12, 4) if tiny else (64, 100, 32)
    shapes = [(16, 1, False)] if tiny else [(128, 2, False), (256, 1, False), (128, 1, True), (256, 1, True)]
    generator = torch.Generator().manual_seed(0)
    rows = []
    for cell in ("lstm", "gru", "rnn"):
        for hidden, layers, variable in shapes:
            lengths, x = encoder_batch(batch, steps, inputs, variable, generator, device)
            # on the CPU also the fused kernel forced: auto's own route for GRU/Elman, not an LSTM's
            encoders = same_weights(
                partial(RecurrentEncoder, inputs, hidden, cell=cell, num_layers=layers),
                ("auto", "packed", "padded", *(("fused",) if device == "cpu" else ())),
            )
            rnn_class, extra = TORCH_CELLS[cell]
            raw = rnn_class(inputs, hidden, num_layers=layers, batch_first=True, **extra).to(device)
            flops, matmul = same_flops_matmul(cell, batch, steps, inputs, hidden, layers, device)
            run = {
                route: forward_backward(encoder.to(device), x, lengths) for route, encoder in encoders.items()
            }
            routes = {
                "raw_padded": forward_backward(raw, x, lengths),
                "seqnet": run["auto"],
                "seqnet_packed": run["packed"],
                "seqnet_torch_kernels": run["padded"],
                **({"seqnet_fused": run["fused"]} if "fused" in run else {}),
            }
            times = interleaved({**routes, "matmul": matmul}, reps)
            mm_rate = flops / statistics.median(times["matmul"])
            rows.append(
                {
                    "cell": cell,
                    "hidden": hidden,
                    "layers": layers,
                    "lengths": f"{steps // 5}-{steps}" if variable else "equal",
                    "seqnet_vs_raw": ratio(times, "seqnet", "raw_padded"),
                    "packed_vs_seqnet": ratio(times, "seqnet_packed", "seqnet"),
                    "torch_kernels_vs_seqnet": ratio(times, "seqnet_torch_kernels", "seqnet"),
                    **(
                        {"fused_vs_seqnet": ratio(times, "seqnet_fused", "seqnet")}
                        if "fused" in encoders
                        else {}
                    ),
                    "matmul_share": {
                        name: round(flops / statistics.median(times[name]) / mm_rate, 3) for name in routes
                    },
                    "kernel": {name: recurrent_kernel(run) for name, run in routes.items()},
                }
            )
            print(rows[-1], flush=True)
    return rows


def saved_for_backward_mib(run_forward: Callable[[], torch.Tensor]) -> float:
    """MiB of the tensors autograd keeps from `run_forward()` for the backward pass (what training
    memory grows with the length), counted as they are saved."""
    saved = []

    def pack(tensor: torch.Tensor) -> torch.Tensor:
        saved.append(tensor.numel() * tensor.element_size())
        return tensor

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda tensor: tensor):
        run_forward()
    return round(sum(saved) / 2**20, 1)


def scan_case(reps: int, tiny: bool, device: str = "cpu") -> list[dict]:
    """The parallel-scan cells (`cell=mingru`, `minlstm`) against torch.nn's GRU and LSTM over the
    padded batch and seqnet's own GRU route (its fused kernel on the CPU), H128, B32, equal lengths,
    forward+backward: milliseconds, ratios, and the MiB each keeps for its backward pass."""
    batch, hidden, inputs = (4, 8, 4) if tiny else (32, 128, 32)
    generator = torch.Generator().manual_seed(0)
    rows = []
    for steps in (8,) if tiny else (64, 256, 1024, 4096):
        x = torch.randn(batch, steps, inputs, generator=generator).to(device)
        lengths = torch.full((batch,), steps)
        modules: dict[str, nn.Module] = {
            "mingru": RecurrentEncoder(inputs, hidden, cell="mingru"),
            "minlstm": RecurrentEncoder(inputs, hidden, cell="minlstm"),
            "torch_gru": nn.GRU(inputs, hidden, batch_first=True),
            "torch_lstm": nn.LSTM(inputs, hidden, batch_first=True),
            "seqnet_gru": RecurrentEncoder(inputs, hidden, cell="gru"),
        }
        runs = {name: forward_backward(module.to(device), x, lengths) for name, module in modules.items()}
        times = interleaved(runs, reps)
        saved = {
            name: saved_for_backward_mib(forward_pass(module, x, lengths)) for name, module in modules.items()
        }
        rows.append(
            {
                "steps": steps, "batch": batch, "hidden": hidden,
                "ms": {name: round(1000 * statistics.median(t), 2) for name, t in times.items()},
                "mingru_vs_torch_gru": ratio(times, "mingru", "torch_gru"),
                "mingru_vs_seqnet_gru": ratio(times, "mingru", "seqnet_gru"),
                "minlstm_vs_torch_lstm": ratio(times, "minlstm", "torch_lstm"),
                "saved_mib": saved,
            }
        )  # fmt: skip
        print(rows[-1], flush=True)
    return rows


def one_long_row(batch: int, steps: int, waste: float) -> torch.Tensor:
    """One row of `steps`, the others as short as a share `waste` of padding asks."""
    lengths = torch.full((batch,), max(1, round((1 - waste) * batch * steps - steps) // (batch - 1)))
    lengths[0] = steps
    return lengths


def crossover_case(reps: int, tiny: bool, device: str = "cpu") -> list[dict]:
    batch, steps, hidden = (8, 20, 16) if tiny else (64, 100, 128)
    generator = torch.Generator().manual_seed(0)
    profiles = {  # a power p leaves a share p / (p + 1) of padding
        "one long row": partial(one_long_row, batch, steps),
        "power law": lambda waste: power_lengths(batch, steps, waste / (1 - waste), generator),
    }
    wastes = (0.2, 0.4, 0.6, 0.8, 0.9, 0.95)
    rows = []
    for cell in ("lstm", "gru", "rnn"):
        for (profile, make_lengths), waste in itertools.product(profiles.items(), wastes):
            lengths = make_lengths(waste)
            x = torch.randn(batch, steps, 32).to(device).requires_grad_()
            torch.manual_seed(0)
            padded = RecurrentEncoder(32, hidden, cell=cell, route="padded").to(device)
            packed = RecurrentEncoder(32, hidden, cell=cell, route="packed").to(device)
            packed.load_state_dict(padded.state_dict())
            contenders = {
                "padded": forward_backward(padded, x, lengths),
                "packed": forward_backward(packed, x, lengths),
            }
            rows.append(
                {
                    "cell": cell,
                    "lengths": profile,
                    "waste": round(cells.padding_share(lengths, steps), 3),
                    "packed_vs_padded": ratio(interleaved(contenders, reps), "packed", "padded"),
                    "kernel": {name: recurrent_kernel(run) for name, run in contenders.items()},
                }
            )
            print(rows[-1], flush=True)
    return rows


def cut_into(count: int, run: Callable[[], None]) -> Callable[[], None]:
    """`run` with the padded route cut at `count` - 1 length quantiles (and the shortest length)
    however little the cut saves (count 1: run whole)."""

    def call() -> None:
        with (
            mock.patch.object(cells, "PADDED_SEGMENTS", count),
            mock.patch.object(cells, "SEGMENT_MIN_SAVING", 0.0),
        ):
            run()

    return call


def segments_case(reps: int, tiny: bool) -> list[dict]:
    batch, steps, hidden = (8, 20, 16) if tiny else (64, 100, 128)
    generator = torch.Generator().manual_seed(0)
    profiles = {  # the longest row always fills the padded tensor
        "uniform 85-100%": lambda: lengths_for(batch, steps, round(0.85 * steps), generator),
        "uniform 20-100%": lambda: lengths_for(batch, steps, steps // 5, generator),
        "power 3": lambda: power_lengths(batch, steps, 3, generator),
        "power 9": lambda: power_lengths(batch, steps, 9, generator),
    }
    rows = []
    for cell in ("lstm", "gru", "rnn"):
        for profile, make_lengths in profiles.items():
            lengths = make_lengths()
            x = torch.randn(batch, steps, 32, generator=generator).requires_grad_()
            torch.manual_seed(0)
            run_padded = forward_backward(RecurrentEncoder(32, hidden, cell=cell, route="padded"), x, lengths)
            contenders = {
                "whole": cut_into(1, run_padded),
                "segmented": cut_into(cells.PADDED_SEGMENTS, run_padded),
            }
            times = interleaved(contenders, reps)
            longest_first = lengths.sort(descending=True).values
            segments = cells.time_segments(longest_first, steps, cells.PADDED_SEGMENTS)
            rows.append(
                {
                    "cell": cell,
                    "lengths": profile,
                    "waste": round(cells.padding_share(lengths, steps), 3),
                    "saving": round(1 - cells.row_steps(segments) / (batch * steps), 3),
                    "whole_vs_segmented": ratio(times, "whole", "segmented"),
                }
            )
            print(rows[-1], flush=True)
    return rows


def with_final_state(
    module: nn.Module, x: torch.Tensor, lengths: torch.Tensor, **kwargs
) -> Callable[[], None]:
    """One forward+backward through the outputs and the final state: of an encoder (`kwargs` go to
    its call), or of a raw torch.nn RNN over packed sequences (the hand-written exact state)."""

    def run() -> None:
        if isinstance(module, RecurrentEncoder):
            out = module(x, lengths, **kwargs)
            outputs, state = out.outputs, [part for layer in out.final_state for part in layer]
        else:
            packed = nn.utils.rnn.pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False)
            out, final = module(packed)
            outputs = nn.utils.rnn.pad_packed_sequence(out, batch_first=True, total_length=x.shape[1])[0]
            state = list(final) if isinstance(final, tuple) else [final]
        (outputs.sum() + sum(part.sum() for part in state)).backward()

    return synchronized(run, x.device)


def final_state_case(reps: int, tiny: bool) -> list[dict]:
    batch, steps, inputs = (8, 12, 4) if tiny else (64, 100, 32)
    shapes = [(16, False)] if tiny else [(128, False), (256, False), (128, True)]
    generator = torch.Generator().manual_seed(0)
    rows = []
    for cell in ("lstm", "gru", "rnn"):
        for hidden, bidirectional in shapes:
            lengths, x = encoder_batch(batch, steps, inputs, True, generator)
            encoders = same_weights(
                partial(RecurrentEncoder, inputs, hidden, cell=cell, bidirectional=bidirectional),
                ("auto", "packed"),
            )
            auto, packed = encoders["auto"], encoders["packed"]
            rnn_class, extra = TORCH_CELLS[cell]
            raw = rnn_class(inputs, hidden, batch_first=True, bidirectional=bidirectional, **extra)
            contenders = {
                "raw_packed": with_final_state(raw, x, lengths),
                "seqnet": with_final_state(auto, x, lengths, need_state=True),
                "seqnet_read_later": with_final_state(auto, x, lengths),
                "seqnet_packed": with_final_state(packed, x, lengths),
            }
            times = interleaved(contenders, reps)
            rows.append(
                {
                    "cell": cell,
                    "hidden": hidden,
                    "directions": 2 if bidirectional else 1,
                    "lengths": f"{steps // 5}-{steps}",
                    "raw_packed_vs_seqnet": ratio(times, "raw_packed", "seqnet"),
                    "packed_vs_seqnet": ratio(times, "seqnet_packed", "seqnet"),
                    "read_later_vs_seqnet": ratio(times, "seqnet_read_later", "seqnet"),
                    "kernel": {name: recurrent_kernel(run) for name, run in contenders.items()},
                }
            )
            print(rows[-1], flush=True)
    return rows


def forward_only(
    module: RecurrentEncoder, x: torch.Tensor, lengths: torch.Tensor, grad: bool = False
) -> Callable[[], None]:
    """One forward of an encoder without backward: under `no_grad` (evaluation, prediction), or
    with grad mode on."""

    def run() -> None:
        with torch.set_grad_enabled(grad):
            module(x, lengths)

    return run


def frozen_forward(module: RecurrentEncoder, x: torch.Tensor, lengths: torch.Tensor) -> Callable[[], None]:
    """One forward with grad mode on through a frozen copy of module (nothing requires grad): a
    frozen encoder under a head that trains."""
    return forward_only(copy.deepcopy(module).requires_grad_(False), x, lengths, grad=True)


def lstm_kernel_case(reps: int, tiny: bool) -> list[dict]:
    """An LSTM layer on seqnet's fused kernel against oneDNN's, by batch and hidden size (equal
    lengths, T50, I8): oneDNN pays a floor per step that small layers never amortise. Three modes:
    training, inference under `no_grad`, and a frozen encoder with autograd on."""
    steps, inputs = (12, 4) if tiny else (50, 8)
    grid = [(8, 16)] if tiny else [(b, h) for b in (8, 32, 64, 128) for h in (16, 32, 64, 128)]
    generator = torch.Generator().manual_seed(0)
    rows = []
    for batch, hidden in grid:
        lengths, x = encoder_batch(batch, steps, inputs, False, generator)
        encoders = same_weights(
            partial(RecurrentEncoder, inputs, hidden, cell="lstm"), ("auto", "padded", "fused")
        )
        times = {
            mode: interleaved(
                {route: make(encoders[route], x, lengths) for route in ("padded", "fused")}, reps
            )
            for mode, make in (
                ("train", forward_backward),
                ("inference", forward_only),
                ("frozen", frozen_forward),
            )
        }
        rows.append(
            {
                "batch": batch,
                "hidden": hidden,
                "fused_vs_onednn": ratio(times["train"], "fused", "padded"),
                "fused_vs_onednn_inference": ratio(times["inference"], "fused", "padded"),
                "fused_vs_onednn_frozen": ratio(times["frozen"], "fused", "padded"),
                "auto": recurrent_kernel(forward_backward(encoders["auto"], x, lengths)),
            }
        )
        print(rows[-1], flush=True)
    return rows


def lstm_lengths_case(reps: int, tiny: bool) -> list[dict]:
    """A bidirectional LSTM over variable lengths (T40, I64) on seqnet's fused kernel against the
    padded route on oneDNN, by batch and hidden size and by how much of the batch is padding
    (lengths drawn from 10-40, 20-40 or 36-40, one row of 40): the kernel skips padded steps, which
    the padded route computes or cuts around. Training and inference (`no_grad`)."""
    steps, inputs = (12, 4) if tiny else (40, 64)
    grid = [(8, 16)] if tiny else [(32, 32), (32, 64), (64, 64), (32, 128), (64, 128), (128, 128)]
    generator = torch.Generator().manual_seed(0)
    rows = []
    for shortest in (steps // 4, steps // 2, steps - steps // 10):
        for batch, hidden in grid:
            lengths = lengths_for(batch, steps, shortest, generator)
            x = torch.randn(batch, steps, inputs, generator=generator).requires_grad_()
            encoders = same_weights(
                partial(RecurrentEncoder, inputs, hidden, cell="lstm", bidirectional=True),
                ("auto", "padded", "fused"),
            )
            times = {
                mode: interleaved({r: make(encoders[r], x, lengths) for r in ("padded", "fused")}, reps)
                for mode, make in (("train", forward_backward), ("inference", forward_only))
            }
            rows.append(
                {
                    "lengths": f"{shortest}-{steps}", "batch": batch, "hidden": hidden,
                    "padding_share": round(cells.padding_share(lengths, steps), 3),
                    "fused_vs_padded": ratio(times["train"], "fused", "padded"),
                    "fused_vs_padded_inference": ratio(times["inference"], "fused", "padded"),
                    "auto": recurrent_kernel(forward_backward(encoders["auto"], x, lengths)),
                }
            )  # fmt: skip
            print(rows[-1], flush=True)
    return rows


def patched(owner: object, name: str, value: object, run: Callable[[], object]) -> Callable[[], object]:
    """`run` with `owner.name` replaced by `value`; what run returns."""

    def call() -> object:
        with mock.patch.object(owner, name, value):
            return run()

    return call


def kernel_isa_case(reps: int, tiny: bool) -> list[dict]:
    batch, steps, inputs = (8, 12, 4) if tiny else (64, 100, 32)
    shapes = [(16, 1, False)] if tiny else [(128, 2, False), (128, 1, True), (32, 1, False)]
    isas = runnable_builds()
    if len(isas) == 1:
        return [{"cell": "any", "note": "this CPU has no AVX2: the kernel has one build here"}]
    builds = {isa: build(isa) for isa in isas}
    generator = torch.Generator().manual_seed(0)
    rows = []
    for cell in ("gru", "rnn", "lstm"):
        for hidden, layers, variable in shapes:
            lengths, x = encoder_batch(batch, steps, inputs, variable, generator)
            torch.manual_seed(0)
            encoder = RecurrentEncoder(inputs, hidden, cell=cell, num_layers=layers, route="fused")
            run = forward_backward(encoder, x, lengths)
            times = interleaved(
                {
                    isa: patched(fused, "kernels", lambda module=module: module, run)
                    for isa, module in builds.items()
                },
                reps,
            )  # each build in turn answers `seqnet.nn.fused.kernels()`
            rows.append(
                {
                    "cell": cell,
                    "hidden": hidden,
                    "layers": layers,
                    "lengths": f"{steps // 5}-{steps}" if variable else "equal",
                    **{f"{isa}_vs_avx2": ratio(times, isa, "avx2") for isa in isas if isa != "avx2"},
                }
            )
            print(rows[-1], flush=True)
    return rows


CELL_MODULES = {"lstm": nn.LSTMCell, "gru": nn.GRUCell, "rnn": nn.RNNCell}


def stepping(
    step: Callable[..., tuple], xs: torch.Tensor, state: object, train: bool
) -> Callable[[], object]:
    """Run `step(x_t, state) -> (y_t, state)` over every step of xs (B, T, I) on xs's device:
    forward+backward through the outputs when `train`, else a forward without autograd. Returns the
    outputs, T tensors (B, H)."""

    def run() -> list[torch.Tensor]:
        with torch.set_grad_enabled(train):
            carried, outputs = state, []
            for t in range(xs.shape[1]):
                y, carried = step(xs[:, t], carried)
                outputs.append(y)
            if train:
                torch.stack(outputs, dim=1).sum().backward()
        return outputs

    return synchronized(run, xs.device)


def same_outputs(contenders: dict[str, Callable[[], object]], reference: str) -> None:
    """Raise unless every contender returns the outputs (T tensors (B, H)) that `reference` does:
    a contender computing something else would make its ratio meaningless."""
    expected = torch.stack(contenders[reference]())  # (T, B, H)
    for name, run in contenders.items():
        torch.testing.assert_close(
            torch.stack(run()), expected, atol=1e-5, rtol=1e-4, msg=lambda m, name=name: f"{name}: {m}"
        )


def kernel_cell_step(layer: TorchRecurrentLayer, index: int, x_t: torch.Tensor, start: tuple) -> tuple:
    """`TorchRecurrentLayer._cell_step` on seqnet's fused CPU kernel with T=1: the contender
    `step` did not pick for each layer's step."""
    return layer._fused_layer(index, x_t.unsqueeze(1), start, [1] * x_t.shape[0])[1]


def step_case(reps: int, tiny: bool, device: str = "cpu") -> list[dict]:
    """`RecurrentEncoder.step` over T steps (ATen's cell per layer) against the hand-written loop
    of `nn.LSTMCell`/`GRUCell`/`RNNCell` and against torch.nn's sequence module called with T=1
    per step (what `step` ran before), in training (forward+backward) and inference."""
    steps = 4 if tiny else 20
    shapes = [(2, 8, 1)] if tiny else [(1, 64, 1), (1, 256, 1), (1, 256, 2), (32, 128, 1), (64, 256, 1)]
    on_kernel = None  # on the CPU also `step` on seqnet's fused kernel with T=1
    if device == "cpu" and kernels() is not None:
        on_kernel = partial(patched, TorchRecurrentLayer, "_cell_step", kernel_cell_step)
    generator = torch.Generator().manual_seed(0)
    rows = []
    for cell in ("lstm", "gru", "rnn"):
        for batch, hidden, layers in shapes:
            torch.manual_seed(0)
            encoder = RecurrentEncoder(hidden, hidden, cell=cell, num_layers=layers).to(device)
            rnn = encoder.layers[0].rnn
            cells_by_layer = [CELL_MODULES[cell](hidden, hidden).to(device) for _ in range(layers)]
            for layer, module in enumerate(cells_by_layer):
                for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
                    getattr(module, name).data = getattr(rnn, f"{name}_l{layer}").data

            def by_cells(x_t: torch.Tensor, state: list, cells: list = cells_by_layer) -> tuple:
                carried = []
                for module, start in zip(cells, state, strict=True):
                    carried.append(module(x_t, start))
                    x_t = carried[-1][0] if isinstance(carried[-1], tuple) else carried[-1]
                return x_t, carried

            def by_sequence(x_t: torch.Tensor, state: object, rnn: nn.RNNBase = rnn) -> tuple:
                out, state = rnn(x_t.unsqueeze(1), state)
                return out[:, 0], state

            xs = torch.randn(batch, steps, hidden, generator=generator).to(device)
            zeros = torch.zeros(layers, batch, hidden, device=device)
            torch_state = (zeros, zeros) if cell == "lstm" else zeros
            cell_state = [(z, z) if cell == "lstm" else z for z in zeros]
            row = {"cell": cell, "batch": batch, "hidden": hidden, "layers": layers}
            for suffix, train in (("", True), ("_inference", False)):
                contenders = {
                    "seqnet": stepping(encoder.step, xs, None, train),
                    "cells": stepping(by_cells, xs, cell_state, train),
                    "sequence_t1": stepping(by_sequence, xs, torch_state, train),
                }
                if on_kernel:
                    contenders["kernel_t1"] = on_kernel(stepping(encoder.step, xs, None, train))
                if not train:  # every contender steps the same weights
                    same_outputs(contenders, "seqnet")
                times = interleaved(contenders, reps)
                row[f"seqnet_vs_cells{suffix}"] = ratio(times, "seqnet", "cells")
                row[f"seqnet_vs_sequence_t1{suffix}"] = ratio(times, "seqnet", "sequence_t1")
                if on_kernel:
                    row[f"seqnet_vs_kernel_t1{suffix}"] = ratio(times, "seqnet", "kernel_t1")
                row[f"ms_per_step{suffix}"] = round(statistics.median(times["seqnet"]) / steps * 1e3, 3)
            rows.append(row)
            print(row, flush=True)
    return rows


def generation_case(reps: int, tiny: bool) -> list[dict]:
    vocab = ["<pad>", "<unk>", "<bos>", "<eos>", *"abcdefghijklmnopqrstuvwxyz .,"]
    spec = DataSpec("tokens", len(vocab), "tokens", vocab=vocab, target_vocab=vocab, aligned=True,
                    tokenizer={"name": "char", "lowercase": False})  # fmt: skip
    hidden, new_tokens = (16, 8) if tiny else (256, 200)
    torch.manual_seed(0)
    model = LanguageModel(spec, encoder={"cell": "lstm", "hidden_size": hidden}).eval()
    prompt = "to be or not to be, that is the question. " * (1 if tiny else 4)

    @torch.no_grad()
    def re_reading() -> None:
        ids = torch.tensor([model.vocabulary.encode(list(prompt))])
        for _ in range(new_tokens):
            logits, _ = model(ids, torch.tensor([ids.shape[1]]))
            ids = torch.cat([ids, logits[:, -1].argmax(-1, keepdim=True)], dim=1)

    def carried() -> None:
        model.generate(prompt, max_new_tokens=new_tokens, greedy_decoding=True)

    times = interleaved(
        {
            "state_carried": carried,
            "state_carried_sequence_step": patched(
                TorchRecurrentLayer, "step", TorchRecurrentLayer.sequence_step, carried
            ),
            "re_reading_prefix": re_reading,
        },
        reps,
    )
    row = {
        "prompt_tokens": len(prompt),
        "new_tokens": new_tokens,
        "tokens_per_second": {name: round(new_tokens / statistics.median(t), 1) for name, t in times.items()},
        "re_reading_vs_carried": ratio(times, "re_reading_prefix", "state_carried"),
        "sequence_step_vs_carried": ratio(times, "state_carried_sequence_step", "state_carried"),
    }
    print(row, flush=True)
    return [row]


def train_steps(model: nn.Module, optimizer: torch.optim.Optimizer, batches: list) -> None:
    """One training step of a seqnet task per batch (its `step` loss, backward, optimizer step),
    without the Trainer."""
    for b in batches:
        loss = model.step(b).loss
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()


def seq2seq_step_case(reps: int, tiny: bool) -> list[dict]:
    """Training steps (forward, backward, AdamW) of `Seq2Seq` with teacher forcing, whose attention
    decoder calls `step` once per target token: `step` on ATen's cells against torch.nn's
    sequence module with T=1 (`TorchRecurrentLayer.sequence_step`, what `step` ran before), at the
    cmudict_g2p experiment's sizes (embeddings 64, BiLSTM-128 encoder, LSTM-128 decoder with
    general attention and input feeding, B64) on synthetic pairs of its lengths (words of 4-12
    letters -> the letters reversed, one more token)."""
    rng = np.random.default_rng(0)
    letters = list("abcdefghijklmnopqrstuvwxyz")
    pairs = []
    for _ in range(256 if tiny else 1024):
        word = [str(c) for c in rng.choice(letters, size=int(rng.integers(4, 13)))]
        pairs.append((word, [c.upper() for c in reversed(word)] + ["."]))
    splits = parallel_splits("reversal", {"train": pairs, "val": pairs[:64], "test": pairs[:64]})
    batch = 64
    data = SequenceDataModule(_Splits(splits), batch_size=batch)
    data.setup()
    batches = list(itertools.islice(data.train_dataloader(), 2 if tiny else 8))
    hidden = 16 if tiny else 128
    torch.manual_seed(0)
    model = Seq2Seq(
        data.spec,
        encoder={"cell": "lstm", "hidden_size": hidden, "bidirectional": True},
        decoder={"cell": "lstm", "hidden_size": hidden, "attention": "general", "input_feed": True},
        embedding_dim=64,
    )
    train = partial(train_steps, model, torch.optim.AdamW(model.parameters(), lr=1e-3), batches)
    times = interleaved(
        {
            "cells": train,
            "sequence_t1": patched(TorchRecurrentLayer, "step", TorchRecurrentLayer.sequence_step, train),
        },
        reps,
    )
    row = {
        "batch": batch,
        "hidden": hidden,
        "target_steps_per_batch": round(statistics.mean(b.targets.shape[1] for b in batches), 1),
        "ms_per_batch": {k: round(statistics.median(t) / len(batches) * 1e3, 1) for k, t in times.items()},
        "cells_vs_sequence_t1": ratio(times, "cells", "sequence_t1"),
    }
    print(row, flush=True)
    return [row]


def bucketing_case(reps: int, tiny: bool) -> list[dict]:
    """Real (unpadded) tokens per second of a training step (forward, backward, AdamW) of a
    `ManyToOne` GRU-64 over the first batches of an epoch, bucketed against random batches."""
    from seqnet.data.sources import FoodReviewsSource, NamesSource

    rows = []
    for name, source, batch in [("names", NamesSource(), 128), ("food_reviews", FoodReviewsSource(), 32)]:
        loaders, tokens = {}, {}
        for bucket in (True, False):
            data = SequenceDataModule(source, batch_size=batch, bucket=bucket)
            data.setup()
            batches = list(itertools.islice(data.train_dataloader(), 2 if tiny else 30))
            loaders[f"bucket_{str(bucket).lower()}"] = batches
            tokens[f"bucket_{str(bucket).lower()}"] = sum(int(b.lengths.sum()) for b in batches)
        torch.manual_seed(0)
        model = ManyToOne(data.spec, encoder={"cell": "gru", "hidden_size": 64})
        optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
        times = interleaved({k: partial(train_steps, model, optimizer, v) for k, v in loaders.items()}, reps)
        row = {
            "data": name,
            "batch": batch,
            "padding_share": {
                k: round(1 - tokens[k] / sum(b.inputs.shape[0] * b.inputs.shape[1] for b in v), 3)
                for k, v in loaders.items()
            },
            "real_tokens_per_second": {k: round(tokens[k] / statistics.median(t)) for k, t in times.items()},
        }
        rates = {k: [tokens[k] / x for x in t] for k, t in times.items()}
        row["bucketed_vs_random_tokens_per_second"] = ratio(rates, "bucket_true", "bucket_false")
        rows.append(row)
        print(row, flush=True)
    return rows


class _Splits:
    """A data source over ready-made splits (the bench's own synthetic data)."""

    def __init__(self, splits: SequenceSplits) -> None:
        self.splits = splits

    def load(self) -> SequenceSplits:
        return self.splits


class _StepTimer(L.Callback):
    """Seconds between the starts of consecutive training batches: a whole step, loop included."""

    def __init__(self) -> None:
        self.starts: list[float] = []

    def on_train_batch_start(self, *args: object) -> None:
        self.starts.append(time.perf_counter())

    def steps(self) -> list[float]:
        return [b - a for a, b in zip(self.starts, self.starts[1:], strict=False)]


class _PlainLightning(L.LightningModule):
    """The hand-written model as the smallest LightningModule: torch.nn layers, last step, linear
    head, cross-entropy, AdamW (torch's default implementation, or fused)."""

    def __init__(self, cell: str, features: int, hidden: int, layers: int, fused: bool | None = None) -> None:
        super().__init__()
        self.fused = fused
        rnn_class, extra = TORCH_CELLS[cell]
        self.rnn = rnn_class(features, hidden, num_layers=layers, batch_first=True, **extra)
        self.head = nn.Linear(hidden, 4)

    def training_step(self, batch, batch_idx: int) -> torch.Tensor:
        out, _ = self.rnn(batch.inputs)  # (B, T, H), equal lengths
        return nn.functional.cross_entropy(self.head(out[:, -1]), batch.targets)

    def configure_optimizers(self) -> torch.optim.Optimizer:
        return torch.optim.AdamW(self.parameters(), lr=1e-3, fused=self.fused)


def training_step_case(reps: int, tiny: bool) -> list[dict]:
    """A whole training step of `ManyToOne` under the Lightning Trainer against the hand-written
    loop (padded torch.nn call, last step, linear head, loss, backward, clipping, AdamW), both on
    the same batches; interleaved epoch by epoch, median seconds per step."""
    shapes = (
        [("gru", 8, 6, 8, 4, 1)]
        if tiny
        else [("gru", 32, 12, 32, 1, 1), ("lstm", 32, 12, 32, 1, 1), ("lstm", 128, 100, 64, 32, 2)]
    )
    rows = []
    for cell, hidden, steps, batch, features, layers in shapes:
        generator = np.random.default_rng(0)
        examples = [
            SequenceExample(generator.normal(size=(steps, features)).astype(np.float32), str(i % 4))
            for i in range(batch * (4 if tiny else 20))
        ]
        splits = SequenceSplits("bench", train=examples, val=examples[:batch], test=examples[:batch])
        data = SequenceDataModule(_Splits(splits), batch_size=batch)
        data.setup()
        # the hand-written network: unidirectional (ManyToOne's default encoder reads both ways) and
        # without dropout (the task's default head has 0.1)
        encoder = {"cell": cell, "hidden_size": hidden, "num_layers": layers, "bidirectional": False}
        optimizer = {"_target_": "torch.optim.AdamW", "lr": 1e-3}
        rnn_class, extra = TORCH_CELLS[cell]
        rnn = rnn_class(features, hidden, num_layers=layers, batch_first=True, **extra)
        head = nn.Linear(hidden, 4)
        hand_optimizers = {
            fused: torch.optim.AdamW([*rnn.parameters(), *head.parameters()], lr=1e-3, fused=fused)
            for fused in (None, True)
        }

        def hand_written_epoch(
            fused: bool | None, rnn: nn.Module = rnn, head: nn.Module = head, data=data, opts=hand_optimizers
        ) -> list[float]:
            """The same DataLoader (batching and collate included), then the hand-written step."""
            opt = opts[fused]
            times, start = [], time.perf_counter()
            for b in data.train_dataloader():
                out, _ = rnn(b.inputs)  # (B, T, H), equal lengths
                loss = nn.functional.cross_entropy(head(out[:, -1]), b.targets)
                opt.zero_grad()
                loss.backward()
                torch.nn.utils.clip_grad_norm_([*rnn.parameters(), *head.parameters()], 1.0)
                opt.step()
                now = time.perf_counter()
                times.append(now - start)
                start = now
            return times

        def seqnet_epoch(
            data: SequenceDataModule = data, encoder: dict = encoder, optimizer: dict = optimizer
        ) -> list[float]:
            timer = _StepTimer()
            model = ManyToOne(
                data.spec, encoder=encoder, optimizer=optimizer, gradient_clip_val=1.0, dropout=0.0
            )
            trainer = L.Trainer(
                max_epochs=1, limit_val_batches=0, logger=False, enable_checkpointing=False,
                enable_progress_bar=False, enable_model_summary=False, callbacks=[timer],
            )  # fmt: skip
            trainer.fit(model, datamodule=data)
            return timer.steps()

        def plain_lightning_epoch(
            fused: bool | None,
            data: SequenceDataModule = data,
            shape: tuple = (cell, features, hidden, layers),
        ) -> list[float]:
            timer = _StepTimer()
            trainer = L.Trainer(
                max_epochs=1, limit_val_batches=0, logger=False, enable_checkpointing=False,
                enable_progress_bar=False, enable_model_summary=False, callbacks=[timer],
                gradient_clip_val=1.0,
            )  # fmt: skip
            trainer.fit(_PlainLightning(*shape, fused=fused), data.train_dataloader())
            return timer.steps()

        epochs: dict[str, Callable[[], list[float]]] = {  # each returns one epoch's step times
            "plain_lightning": partial(plain_lightning_epoch, None),
            "plain_lightning_fused": partial(plain_lightning_epoch, True),
            "seqnet": seqnet_epoch,
            "hand_written": partial(hand_written_epoch, None),
            "hand_written_fused": partial(hand_written_epoch, True),
        }
        medians: dict[str, list[float]] = {name: [] for name in epochs}
        for _ in range(1 if tiny else reps):
            for name, epoch in epochs.items():
                medians[name].append(statistics.median(epoch()))
        rows.append(
            {
                "cell": cell, "hidden": hidden, "steps": steps, "batch": batch, "layers": layers,
                "ms_per_step": {k: round(1000 * statistics.median(v), 2) for k, v in medians.items()},
                "seqnet_vs_hand_written": ratio(medians, "seqnet", "hand_written"),
                "seqnet_vs_hand_written_fused": ratio(medians, "seqnet", "hand_written_fused"),
                "plain_lightning_vs_hand_written": ratio(medians, "plain_lightning", "hand_written"),
                "seqnet_vs_plain_lightning_fused": ratio(medians, "seqnet", "plain_lightning_fused"),
            }
        )  # fmt: skip
        print(rows[-1], flush=True)
    return rows


FIRST_STEP_CALLBACK = """
import time
from pathlib import Path

import lightning as L


class FirstStep(L.Callback):
    def on_train_batch_start(self, *args):
        if not Path("first_step").exists():
            Path("first_step").write_text(repr(time.time()))
"""


def written_out_step(cell: str) -> Callable[..., torch.Tensor]:
    """One time step of a torch.nn GRU or tanh RNN, written out: (projected_t (B, G*H), h (B, H),
    w_hh, b_hh) -> h (B, H), where projected_t is the step's input projection."""

    def step(
        projected: torch.Tensor, h: torch.Tensor, w_hh: torch.Tensor, b_hh: torch.Tensor
    ) -> torch.Tensor:
        recurrent = nn.functional.linear(h, w_hh, b_hh)  # (B, G*H)
        if cell != "gru":
            return torch.tanh(projected + recurrent)
        x_r, x_z, x_n = projected.chunk(3, dim=-1)
        h_r, h_z, h_n = recurrent.chunk(3, dim=-1)
        r, z = torch.sigmoid(x_r + h_r), torch.sigmoid(x_z + h_z)
        n = torch.tanh(x_n + r * h_n)
        return n + z * (h - n)  # (1 - z) * n + z * h

    return step


def written_out(rnn: nn.RNNBase, step: Callable[..., torch.Tensor]) -> Callable[[torch.Tensor], torch.Tensor]:
    """One layer of a torch.nn GRU or tanh RNN written out with its parameters: every step's input
    projection in one matmul, then a Python loop calling `step` (`written_out_step`, eager or
    compiled); x (B, T, I) -> outputs (B, T, H). The loop holds the parameter tensors, not the
    module, which torch.compile refuses to trace."""
    w_ih, b_ih, w_hh, b_hh = rnn.weight_ih_l0, rnn.bias_ih_l0, rnn.weight_hh_l0, rnn.bias_hh_l0

    def run(x: torch.Tensor) -> torch.Tensor:
        projected = nn.functional.linear(x, w_ih, b_ih)  # (B, T, G*H)
        h = x.new_zeros(x.shape[0], w_hh.shape[1])  # (B, H)
        outputs = []
        for t in range(x.shape[1]):
            h = step(projected[:, t], h, w_hh, b_hh)
            outputs.append(h)
        return torch.stack(outputs, dim=1)  # (B, T, H)

    return run


def first_call_timed(
    function: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor, row: dict, key: str
) -> Callable[[], None]:
    """Run a torch.compile'd `function`'s first forward+backward on x (where it compiles), write
    its seconds to row[key] and return one forward+backward to time."""
    start = time.perf_counter()
    function(x).sum().backward()
    row[key] = round(time.perf_counter() - start, 1)
    return lambda: function(x).sum().backward()


def remedies_case(reps: int, tiny: bool) -> list[dict]:
    batch, steps, inputs, hidden = (8, 12, 4, 16) if tiny else (64, 100, 32, 128)
    generator = torch.Generator().manual_seed(0)
    rows = []
    for cell in ("gru", "rnn"):
        rnn_class, extra = TORCH_CELLS[cell]
        raw = rnn_class(inputs, hidden, batch_first=True, **extra)
        x = torch.randn(batch, steps, inputs, generator=generator, requires_grad=True)
        step = written_out_step(cell)
        loop = written_out(raw, step)
        torch.testing.assert_close(loop(x), raw(x)[0], atol=1e-5, rtol=1e-4)  # the same layer
        contenders = {
            "raw_padded": lambda raw=raw, x=x: raw(x)[0].sum().backward(),
            "written_out": lambda loop=loop, x=x: loop(x).sum().backward(),
        }
        row: dict = {"cell": cell, "hidden": hidden, "steps": steps, "batch": batch}
        if not tiny:
            # a graph break is an error (fullgraph)
            step_loop = written_out(raw, torch.compile(step, dynamic=False, fullgraph=True))
            compiled = torch.compile(loop, dynamic=False, fullgraph=True)
            contenders["compiled_step"] = first_call_timed(step_loop, x, row, "compile_step_seconds")
            contenders["compiled"] = first_call_timed(compiled, x, row, "compile_seconds")
            for function in (step_loop, compiled):
                torch.testing.assert_close(function(x), raw(x)[0], atol=1e-5, rtol=1e-4)
        times = interleaved(contenders, reps)
        row["written_out_vs_raw"] = ratio(times, "written_out", "raw_padded")
        for name in ("compiled_step", "compiled"):
            if name in times:
                row[f"{name}_vs_raw"] = ratio(times, name, "raw_padded")
        rows.append(row)
        print(row, flush=True)
    return rows


def startup_case(reps: int, tiny: bool) -> list[dict]:
    """Seconds until `seqnet-train --help` and a mistyped override answer, and from launch to the
    first training step of `seqnet-train debug=fast` (absolute: each is a fresh process); and the
    fused CPU kernel's first build (an empty extensions directory) and its load once cached."""
    program = str(Path(sys.executable).parent / "seqnet-train")
    commands = {"help": [program, "--help"], "config_error": [program, "model.encoder.bidirectonal=true"]}
    contenders = {
        name: (lambda command=command: subprocess.run(command, capture_output=True, check=False))
        for name, command in commands.items()
    }
    times = interleaved(contenders, 1 if tiny else reps)
    row = {
        name: {"seconds_median": round(statistics.median(t), 2), "seconds_max": round(max(t), 2)}
        for name, t in times.items()
    }
    first = [seconds_to_first_step(program) for _ in range(1 if tiny else reps)]
    row["first_training_step"] = {
        "seconds_median": round(statistics.median(first), 2),
        "seconds_max": round(max(first), 2),
    }
    with tempfile.TemporaryDirectory() as extensions:  # the build once (minutes at most), then loads
        build = kernel_seconds(extensions)
        loads = [kernel_seconds(extensions) for _ in range(1 if tiny else reps)]
    row["fused_kernel_build"] = {"seconds_median": round(build, 2), "seconds_max": round(build, 2)}
    row["fused_kernel_load"] = {
        "seconds_median": round(statistics.median(loads), 2),
        "seconds_max": round(max(loads), 2),
    }
    print(row, flush=True)
    return [row]


def kernel_seconds(extensions: str) -> float:
    """Seconds `seqnet.nn.fused.kernels()` takes in a fresh process with `extensions` as torch's
    extensions directory: a build where it is empty, a load where it holds the build."""
    code = (
        "import time; from seqnet.nn import fused; start = time.perf_counter(); "
        "assert fused.kernels() is not None; print(time.perf_counter() - start)"
    )
    env = {**os.environ, "TORCH_EXTENSIONS_DIR": extensions}
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    return float(done.stdout.split()[-1])


def seconds_to_first_step(program: str) -> float:
    """Launch `seqnet-train debug=fast` in a scratch directory; seconds until its first batch."""
    with tempfile.TemporaryDirectory() as scratch:
        Path(scratch, "first_step_callback.py").write_text(FIRST_STEP_CALLBACK)
        start = time.time()
        subprocess.run(
            [program, "debug=fast", "logger=csv", f"paths.log_dir={scratch}/logs",
             "+callbacks.first_step._target_=first_step_callback.FirstStep"],
            cwd=scratch, capture_output=True, check=True,
        )  # fmt: skip
        return float(Path(scratch, "first_step").read_text()) - start


THREADS_WORKLOAD = """
import os, sys, time
if os.environ.pop("SEQNET_WAIT_POLICY_AUTO", None):  # what seqnet's commands do before importing torch
    from seqnet.cli.process import thread_settings_for_this_run
    policy, threads, _ = thread_settings_for_this_run()
    if policy:
        os.environ["OMP_WAIT_POLICY"] = policy
    if threads:
        os.environ["OMP_NUM_THREADS"] = str(threads)
import torch
from seqnet.nn import RecurrentEncoder
torch.manual_seed(0)
model, hidden, batch = sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
if model == "torch_gru":  # a hand-written torch loop
    features, steps, rnn = 32, 50, torch.nn.GRU(32, hidden, batch_first=True)
    encode = lambda x: rnn(x)[0][:, -1]
else:  # seqnet's encoder: the fused kernel's GRU, or the default experiment's BiLSTM on oneDNN
    features, steps = (32, 50) if model == "seqnet_gru" else (12, 26)
    cell, both = ("gru", False) if model == "seqnet_gru" else ("lstm", True)
    rnn = RecurrentEncoder(features, hidden, cell=cell, bidirectional=both)
    encode = lambda x: rnn(x).last
head = torch.nn.LazyLinear(4)
x, y = torch.randn(batch, steps, features), torch.randint(0, 4, (batch,))
head(encode(x))
opt = torch.optim.AdamW([*rnn.parameters(), *head.parameters()])
def step():
    loss = torch.nn.functional.cross_entropy(head(encode(x)), y)
    opt.zero_grad(); loss.backward(); opt.step()
for _ in range(3):
    step()
start = time.perf_counter()
for _ in range(int(sys.argv[1])):
    step()
print(time.perf_counter() - start)
"""

# a competing process: another user's single-threaded job busy on one core
BUSY_LOAD = "while True:\n    pass\n"
# (workload, hidden, batch): a torch GRU loop at two sizes, seqnet's fused-kernel GRU, and the
# default experiment's BiLSTM-128 (JapaneseVowels' 12 features, 26 steps, batches of 32) on oneDNN
THREAD_WORKLOADS = [
    ("torch_gru", 64, 32),
    ("torch_gru", 256, 64),
    ("seqnet_gru", 64, 32),
    ("seqnet_bilstm", 128, 32),
]


def threads_case(reps: int, tiny: bool) -> list[dict]:
    """Training loops in a fresh process per run (`THREAD_WORKLOADS`) under each OpenMP setting of
    `thread_settings` (seqnet's `auto` among them), quiet, then beside a busy process. Seconds for
    the loop alone, start-up excluded; `auto_vs_best` is auto's median over the faster fixed
    policy's (default or PASSIVE) in that cell, `auto_vs_fastest` over the fastest fixed setting's
    (one thread included)."""
    steps = "5" if tiny else "40"
    cores = str(os.cpu_count())
    variants = {**thread_settings(tiny), "auto": {"OMP_NUM_THREADS": cores, "SEQNET_WAIT_POLICY_AUTO": "1"}}

    def run(env: dict[str, str], workload: str, hidden: int, batch: int) -> float:
        return float(run_workload(THREADS_WORKLOAD, env, steps, workload, str(hidden), str(batch)))

    rows = []
    for load in ("quiet", "busy_process"):
        competitor = subprocess.Popen([sys.executable, "-c", BUSY_LOAD]) if load != "quiet" else None
        try:
            for workload, hidden, batch in [("torch_gru", 8, 4)] if tiny else THREAD_WORKLOADS:
                seconds: dict[str, list[float]] = {name: [] for name in variants}
                for _ in range(1 if tiny else reps):
                    for name, env in variants.items():
                        seconds[name].append(run(env, workload, hidden, batch))
                medians = {k: statistics.median(v) for k, v in seconds.items()}
                best = min(("default", "passive"), key=medians.get)
                fastest = min((k for k in variants if k != "auto"), key=medians.get)
                rows.append(
                    {
                        "load": load, "threads": int(cores), "workload": workload, "hidden": hidden,
                        "batch": batch, "seconds": {k: round(v, 3) for k, v in medians.items()},
                        **{f"{k}_vs_default": ratio(seconds, k, "default") for k in list(variants)[1:]},
                        "auto_vs_best": ratio(seconds, "auto", best), "best_fixed": best,
                        "auto_vs_fastest": ratio(seconds, "auto", fastest), "fastest_fixed": fastest,
                    }
                )  # fmt: skip
                print(rows[-1], flush=True)
        finally:
            if competitor is not None:
                competitor.kill()
                competitor.wait()
    return rows


def thread_settings(tiny: bool = False) -> dict[str, dict[str, str]]:
    """The OpenMP settings the thread cases compare, as environment variables for a fresh process
    (`tiny`: the two fixed policies alone, each a process start of a few seconds)."""
    cores = str(os.cpu_count())
    settings = {
        "default": {"OMP_NUM_THREADS": cores},
        "passive": {"OMP_NUM_THREADS": cores, "OMP_WAIT_POLICY": "PASSIVE"},
        "spin_10k": {"OMP_NUM_THREADS": cores, "GOMP_SPINCOUNT": "10000"},
        "one_thread": {"OMP_NUM_THREADS": "1"},
    }
    return {k: settings[k] for k in ("default", "passive")} if tiny else settings


def run_workload(code: str, env: dict[str, str], *args: str) -> str:
    """Run `code` in a fresh Python with the OpenMP settings `env` (nothing else of OpenMP's
    inherited); the last line it prints."""
    unset = ("OMP_WAIT_POLICY", "OMP_NUM_THREADS", "GOMP_SPINCOUNT")
    base = {k: v for k, v in os.environ.items() if k not in unset}
    result = subprocess.run(
        [sys.executable, "-c", code, *args], env={**base, **env}, capture_output=True, text=True, check=True
    )
    return result.stdout.strip().splitlines()[-1]


ENCODER_THREADS_WORKLOAD = """
import json, statistics, sys, time, torch
sys.path.insert(0, sys.argv[1])
from bench import GATES, lengths_for, same_flops_matmul
from seqnet.nn import RecurrentEncoder
reps, batch, steps, inputs, hidden, layers, shortest = map(int, sys.argv[2:])
torch.manual_seed(0)
x = torch.randn(batch, steps, inputs, requires_grad=True)
lengths = lengths_for(batch, steps, shortest, torch.Generator().manual_seed(0))
def median_seconds(run):
    run()
    times = []
    for _ in range(reps):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return statistics.median(times)
result = {}
for cell in ("gru", "rnn"):
    # route padded: torch's kernels, whose per-step parallel regions these settings weigh on
    encoder = RecurrentEncoder(inputs, hidden, cell=cell, num_layers=layers, route="padded")
    flops, matmul = same_flops_matmul(cell, batch, steps, inputs, hidden, layers)
    seconds = median_seconds(lambda: encoder(x, lengths).outputs.sum().backward())
    h, u = torch.randn(batch, hidden), torch.randn(hidden, GATES[cell] * hidden)  # one step's h @ U
    result[cell] = {
        "flops": flops, "seconds": seconds, "matmul_seconds": median_seconds(matmul),
        "step_matmul_flops": 2 * batch * hidden * u.shape[1] * steps,
        "step_matmul_seconds": median_seconds(lambda: [h @ u for _ in range(steps)]),
    }
print(json.dumps(result))
"""


def encoder_threads_case(reps: int, tiny: bool) -> list[dict]:
    """The encoder case's GRU and Elman RNN at H128 on torch's kernels (route padded; 2 layers
    with equal lengths, 1 layer with lengths 20-100; forward+backward) in a fresh process per
    OpenMP setting of the threads case, on a quiet machine: seconds, and the share of the
    machine's matmul rate (the fastest setting's large `torch.mm`) each reaches. The per-step
    matmuls are small, so what a setting costs each parallel region weighs on them:
    `step_matmul_share` is the share one step's recurrent matmul (B x H by H x gates*H) reaches
    alone, T of them back to back, a ceiling for the recurrence."""
    # (batch, steps, inputs, hidden, layers, shortest length)
    shapes = [(8, 12, 4, 16, 1, 3)] if tiny else [(64, 100, 32, 128, 2, 100), (64, 100, 32, 128, 1, 20)]
    inner_reps = "1" if tiny else "5"
    here = str(Path(__file__).resolve().parent)
    settings = thread_settings(tiny)
    rows = []
    for shape in shapes:
        runs: dict[str, list[dict]] = {name: [] for name in settings}
        for _ in range(1 if tiny else reps):
            for name, env in settings.items():
                printed = run_workload(ENCODER_THREADS_WORKLOAD, env, here, inner_reps, *map(str, shape))
                runs[name].append(json.loads(printed))
        _, steps, _, hidden, layers, shortest = shape
        for cell in ("gru", "rnn"):
            seconds = {name: [run[cell]["seconds"] for run in measured] for name, measured in runs.items()}
            flops = runs["default"][0][cell]["flops"]
            matmul_rate = max(flops / run[cell]["matmul_seconds"] for done in runs.values() for run in done)
            step_rates = {
                name: statistics.median(
                    r[cell]["step_matmul_flops"] / r[cell]["step_matmul_seconds"] for r in done
                )
                for name, done in runs.items()
            }
            rows.append(
                {
                    "cell": cell, "hidden": hidden, "layers": layers,
                    "lengths": "equal" if shortest == steps else f"{shortest}-{steps}",
                    "seconds": {k: round(statistics.median(v), 4) for k, v in seconds.items()},
                    "matmul_share": {
                        k: round(flops / statistics.median(v) / matmul_rate, 3) for k, v in seconds.items()
                    },
                    "step_matmul_share": {k: round(v / matmul_rate, 3) for k, v in step_rates.items()},
                    **{f"{k}_vs_default": ratio(seconds, k, "default") for k in list(seconds)[1:]},
                }
            )  # fmt: skip
            print(rows[-1], flush=True)
    return rows


CASES = {
    "encoder": encoder_case,
    "crossover": crossover_case,
    "segments": segments_case,
    "final_state": final_state_case,
    "kernel_isa": kernel_isa_case,
    "lstm_kernel": lstm_kernel_case,
    "lstm_lengths": lstm_lengths_case,
    "step": step_case,
    "generation": generation_case,
    "seq2seq_step": seq2seq_step_case,
    "training_step": training_step_case,
    "bucketing": bucketing_case,
    "startup": startup_case,
    "remedies": remedies_case,
    "threads": threads_case,
    "encoder_threads": encoder_threads_case,
    "scan": scan_case,
}


DEVICE_CASES = ("encoder", "crossover", "step", "scan")  # the cases that take --device


def environment(device: str = "cpu") -> dict:
    """`benchmark_file.environment`, with the GPU, the fused kernel's build and the route limits."""
    return {
        **benchmark_environment(),
        **({"gpu": torch.cuda.get_device_name(), "cuda": torch.version.cuda} if device == "cuda" else {}),
        "fused_kernel_build": build_name(instruction_set()),
        "padded_max_waste": PADDED_MAX_WASTE,
        "padded_segments": cells.PADDED_SEGMENTS,
        "segment_min_saving": cells.SEGMENT_MIN_SAVING,
    }


def table(name: str, rows: list[dict]) -> str:
    """A Markdown table of one case's rows (nested ratios shown as median [min-max])."""

    def cell(value: object) -> str:
        if isinstance(value, dict) and "median" in value:
            return f"{value['median']:.2f} [{value['min']:.2f}-{value['max']:.2f}]"
        if isinstance(value, dict):
            return ", ".join(f"{k} {v}" for k, v in value.items())
        return str(value)

    keys = list(rows[0])
    lines = [f"### {name}", "", "| " + " | ".join(keys) + " |", "|" + "---|" * len(keys)]
    lines += ["| " + " | ".join(cell(row[k]) for k in keys) + " |" for row in rows]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("cases", nargs="*", help=f"any of {', '.join(CASES)} (default: all)")
    parser.add_argument("--reps", type=int, default=7)
    parser.add_argument("--tiny", action="store_true", help="smoke-test sizes (seconds, meaningless ratios)")
    parser.add_argument("--out", default="benchmarks")
    parser.add_argument(
        "--device", choices=("cpu", "cuda"), default="cpu",
        help=f"cuda: run {', '.join(DEVICE_CASES)} on the GPU (default: all of them)",
    )  # fmt: skip
    args = parser.parse_args()
    unknown = sorted(set(args.cases) - set(CASES))
    if unknown:
        parser.error(f"unknown case {unknown}; choose from {', '.join(CASES)}")
    if args.device == "cuda" and set(args.cases) - set(DEVICE_CASES):
        parser.error(f"--device cuda runs {', '.join(DEVICE_CASES)}; the other cases measure the CPU")
    if args.device == "cuda" and not torch.cuda.is_available():
        parser.error("--device cuda: torch sees no CUDA device here; run it on a GPU machine")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    on_cpu = args.device == "cpu"
    on_device, suffix = ({}, "") if on_cpu else ({"device": args.device}, f"_{args.device}")
    for name in args.cases or list(CASES if on_cpu else DEVICE_CASES):
        rows = CASES[name](args.reps, args.tiny, **on_device)
        result = {"case": name, "reps": args.reps, "environment": environment(args.device), "rows": rows}
        (out / f"bench_{name}{suffix}.json").write_text(json.dumps(result, indent=2) + "\n")
    sections = [
        table(path.stem.removeprefix("bench_"), json.loads(path.read_text())["rows"])
        for path in sorted(out.glob("bench_*.json"))
    ]
    header = (
        "# Benchmarks\n\nGenerated by `python scripts/bench.py` (`make bench`) from the `bench_*.json` files "
        "here: ratios of contenders interleaved in one process, median [min-max] over repetitions; "
        "see each file for the machine, threads and date.\n"
    )
    (out / "README.md").write_text(header + "\n" + "\n\n".join(sections) + "\n")


if __name__ == "__main__":
    main()
