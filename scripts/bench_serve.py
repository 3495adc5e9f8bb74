"""Serving one step at a time: the exported streaming graph in onnxruntime against eager PyTorch.

    python scripts/bench_serve.py [--reps 5] [--steps 300] [--out benchmarks/bench_serve.json]

Two models, untrained (speed does not depend on the weights): a character language model with an
LSTM-256 (vocabulary 65: `next_token_logits`) and a many-to-one GRU-64 over 12 features read after
every step (`export_step`, as a streaming classifier). Each is exported with
`seqnet-export ... streaming=true` (`seqnet.tasks.export.export_task`) and stepped `--steps` times
with the state carried, at batch 1 (latency per step) and 64 (rows per second), alternating
onnxruntime and eager PyTorch (`torch.no_grad`) in one process; medians over `--reps`. Both use
the threads torch uses (onnxruntime's intra-op threads set to match).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import onnxruntime
import torch
from benchmark_file import write_benchmark

from seqnet.data import DataSpec
from seqnet.tasks import LanguageModel, ManyToOne
from seqnet.tasks.export import export_task, flat_state


def models() -> dict[str, Any]:
    """The two models of the table, each with a function making one step's inputs."""
    vocab = ["<pad>", "<unk>", "<bos>", "<eos>", *(chr(c) for c in range(32, 93))]
    lm_spec = DataSpec(
        input_kind="tokens", input_size=len(vocab), target_kind="tokens", vocab=vocab, target_vocab=vocab,
        aligned=True, tokenizer={"name": "char", "lowercase": False},
    )  # fmt: skip
    classifier_spec = DataSpec(
        input_kind="features", input_size=12, target_kind="classes", num_classes=9,
        class_names=[str(i) for i in range(9)],
    )  # fmt: skip
    torch.manual_seed(0)
    return {
        "language_model_lstm256": (
            LanguageModel(lm_spec, encoder={"cell": "lstm", "hidden_size": 256}),
            lambda batch: torch.randint(4, len(vocab), (batch,)),
        ),
        "many_to_one_gru64": (
            ManyToOne(classifier_spec, encoder={"cell": "gru", "hidden_size": 64, "bidirectional": False}),
            lambda batch: torch.randn(batch, 12),
        ),
    }


def eager_run(model: Any, inputs: list[torch.Tensor]) -> float:
    state = model.encoder.initial_state(len(inputs[0]))
    start = time.perf_counter()
    with torch.no_grad():
        for x in inputs:
            _, state = model.export_step(x, state)
    return time.perf_counter() - start


def onnx_run(session: Any, model: Any, inputs: list[torch.Tensor]) -> float:
    state = [t.numpy() for t in flat_state(model.encoder.initial_state(len(inputs[0])))]
    feeds = [x.numpy() for x in inputs]
    names = [i.name for i in session.get_inputs()]
    start = time.perf_counter()
    for x in feeds:
        _, *state = session.run(None, dict(zip(names, [x, *state], strict=True)))
    return time.perf_counter() - start


def measure(name: str, model: Any, make: Any, reps: int, steps: int, folder: Path) -> list[dict]:
    model.eval()
    info = export_task(model, folder / f"{name}.onnx", streaming=True)
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = torch.get_num_threads()
    session = onnxruntime.InferenceSession(info["path"], options, providers=["CPUExecutionProvider"])
    rows = []
    for batch in (1, 64):
        inputs = [make(batch) for _ in range(steps)]
        onnx_run(session, model, inputs[:10]), eager_run(model, inputs[:10])  # warm-up
        times: dict[str, list[float]] = {"onnxruntime": [], "eager": []}
        for _ in range(reps):
            times["onnxruntime"].append(onnx_run(session, model, inputs))
            times["eager"].append(eager_run(model, inputs))
        median = {k: statistics.median(v) for k, v in times.items()}
        rows.append({
            "model": name, "batch": batch, "steps": steps,
            "ms_per_step": {k: round(1000 * v / steps, 4) for k, v in median.items()},
            "rows_per_second": {k: round(batch * steps / v) for k, v in median.items()},
            "eager_vs_onnxruntime": round(median["eager"] / median["onnxruntime"], 3),
        })  # fmt: skip
        print(rows[-1], flush=True)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--out", default="benchmarks/bench_serve.json")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp())
    rows = [row for name, (model, make) in models().items() for row in measure(name, model, make, args.reps,
            args.steps, folder)]  # fmt: skip
    write_benchmark(args.out, "serve_streaming_step", rows, onnxruntime=onnxruntime.__version__)


if __name__ == "__main__":
    main()
