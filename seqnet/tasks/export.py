"""A trained task as a graph that runs without seqnet: ONNX (onnxruntime and every ONNX runtime) or
`torch.export` (`.pt2`, loaded with `torch.export.load`).

Two graphs per task (`seqnet-export`, `export_task`):

- the full-sequence graph: `inputs` ((B, T) int64 token ids or (B, T, F) float32 features, padded)
  and `lengths` ((B,) int64) -> the task's `EXPORT_OUTPUTS`, equal to `forward` on the same
  padded batch. Every layer runs its padded route as plain tensor operations (`graph_forward`):
  packing and the fused CPU kernel do not export, and variable lengths enter as `lengths`.
- the streaming graph (`streaming=True`): one step, `(inputs, state_in_0, ...) -> (outputs,
  state_out_0, ...)`, the state held by the caller. The initial state (names, shapes, dtypes and
  values: a learned one is not zeros) is written into the ONNX file's `metadata_props` as JSON
  under `seqnet.initial_state`, and beside a `.pt2` file as `<file>.json`.

ONNX uses torch's TorchScript-based exporter where the encoder holds torch.nn RNN, LSTM or GRU
layers (the dynamo-based exporter fixes their time dimension to the example's) and the
dynamo-based one otherwise (the scan cells' `logcumsumexp` exists only there). `torch.export`
specialises those layers' time loop too, so a full-sequence `.pt2` of such an encoder takes inputs
padded to `max_steps`; the streaming graph has no time dimension and runs at any length.
"""

from __future__ import annotations

import inspect
import json
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from seqnet.data.word_chars import CASINGS
from seqnet.errors import InputError, cause_of
from seqnet.nn import EncoderState
from seqnet.nn.cells import TorchRecurrentLayer

FORMATS = ("onnx", "torch_export")
EXAMPLE_LENGTHS = (7, 3, 5)  # the example batch the graphs are traced with: mixed lengths


@dataclass
class Graph:
    """One graph of an export, as a task describes it (`SequenceModule.export_graphs`).

    module: called as `module(*example(lengths))` while traced; inputs / outputs: their names;
    axes: each input's and output's dynamic axes by name ("batch", "steps", "source_steps");
    suffix: "" for the file asked for, else written beside it as `<stem>.<suffix><ext>`;
    stepwise: the first output has a steps axis (a padded `.pt2` returns `max_steps` of them);
    exporter: "dynamo" to use torch's dynamo-based ONNX exporter even for torch.nn RNN layers (a
        graph whose time axis is static, as a forecaster's window is), else chosen by the cells.
    """

    module: nn.Module
    example: Callable[[tuple[int, ...]], tuple[Tensor, ...]]
    inputs: list[str]
    outputs: list[str]
    axes: dict[str, dict[int, str]]
    suffix: str = ""
    stepwise: bool = False
    exporter: str | None = None


class SequenceGraph(nn.Module):
    """(inputs, lengths) -> the task's full-sequence outputs (`export_outputs`)."""

    def __init__(self, task: nn.Module) -> None:
        super().__init__()
        self.task = task

    def forward(self, inputs: Tensor, lengths: Tensor) -> tuple[Tensor, ...]:
        return self.task.export_outputs(inputs, lengths)


class StepGraph(nn.Module):
    """(inputs at one step, state tensors...) -> (outputs, state tensors after the step...)."""

    def __init__(self, task: nn.Module) -> None:
        super().__init__()
        self.task = task

    def forward(self, inputs: Tensor, *state: Tensor) -> tuple[Tensor, ...]:
        outputs, after = self.task.export_step(inputs, unflat_state(state, self.task.encoder.state_sizes))
        return (outputs, *flat_state(after))


def flat_state(state: EncoderState) -> list[Tensor]:
    """An `EncoderState` -> its tensors, layer by layer (the streaming graph's state order)."""
    return [tensor for layer in state.layers for tensor in layer]


def state_count(encoder: nn.Module) -> int:
    """How many tensors `flat_state` gives for this encoder's state (an LSTM layer has two)."""
    return sum(len(sizes) for sizes in encoder.state_sizes)


def unflat_state(tensors: Sequence[Tensor], state_sizes: Sequence[Sequence[int]]) -> EncoderState:
    """`flat_state`'s inverse for an encoder with these per-layer `state_sizes`."""
    layers, start = [], 0
    for sizes in state_sizes:
        layers.append(tuple(tensors[start : start + len(sizes)]))
        start += len(sizes)
    return EncoderState(tuple(layers))


def example_inputs(task: nn.Module, lengths: tuple[int, ...] = EXAMPLE_LENGTHS) -> tuple[Tensor, Tensor]:
    """A padded batch of the task's input kind: ids below the vocabulary size, or features."""
    spec = task.spec
    generator = torch.Generator().manual_seed(0)
    shape = (len(lengths), max(lengths))
    if spec.input_kind == "tokens":
        inputs = torch.randint(4, max(5, spec.input_size), shape, generator=generator)  # (B, T)
        if spec.char_vocab:  # words with casing and characters: (B, T, 2 + L)
            casing = torch.randint(1, len(CASINGS), shape, generator=generator)
            chars = torch.randint(
                4, max(5, len(spec.char_vocab)), (*shape, spec.max_word_chars), generator=generator
            )
            inputs = torch.cat([inputs.unsqueeze(-1), casing.unsqueeze(-1), chars], -1)
    else:
        inputs = torch.randn(*shape, spec.input_size, generator=generator)
    steps = torch.arange(shape[1]).unsqueeze(0) < torch.tensor(lengths).unsqueeze(1)  # (B, T)
    inputs = inputs * (steps if inputs.dim() == 2 else steps.unsqueeze(-1))
    return inputs, torch.tensor(lengths, dtype=torch.int64)


def default_graphs(task: nn.Module, streaming: bool) -> list[Graph]:
    """A task's one graph: full-sequence (`export_outputs`) or one step (`export_step`)."""
    names = list(task.export_output_names())
    if not names:
        raise InputError(
            f"{type(task).__name__} does not export yet; see docs/export.md for the tasks that do"
        )
    stepwise = bool(getattr(task, "EXPORT_STEPWISE", False))
    if not streaming:
        axes = {"inputs": {0: "batch", 1: "steps"}, "lengths": {0: "batch"}}
        axes |= {name: {0: "batch", 1: "steps"} if stepwise else {0: "batch"} for name in names}
        return [Graph(SequenceGraph(task), task.export_example, ["inputs", "lengths"], names, axes,
                      stepwise=stepwise)]  # fmt: skip
    if task.encoder.bidirectional:
        raise InputError(
            "streaming=true runs one step at a time, but this model's encoder is bidirectional: its "
            "backward direction needs the whole sequence; export the full-sequence graph (streaming=false)"
        )

    def example(lengths: tuple[int, ...]) -> tuple[Tensor, ...]:
        inputs, _ = task.export_example(lengths)
        return (inputs[:, 0], *flat_state(task.encoder.initial_state(len(lengths), "cpu")))

    count = state_count(task.encoder)
    state_in, state_out = [f"state_in_{i}" for i in range(count)], [f"state_out_{i}" for i in range(count)]
    axes = {"inputs": {0: "batch"}, names[0]: {0: "batch"}} | {n: {1: "batch"} for n in state_in + state_out}
    return [Graph(StepGraph(task), example, ["inputs", *state_in], [names[0], *state_out], axes)]


def export_task(
    task: nn.Module,
    path: str | Path,
    format: str = "onnx",
    streaming: bool = False,
    max_steps: int = 256,
) -> dict[str, Any]:
    """Write `task`'s graphs (`export_graphs`: the full-sequence one, or the streaming one; a
    seq2seq model's encoder at `path` and its one-step decoder beside it) and return what was
    written: {"path", "paths", "format", "streaming", "inputs", "outputs", "metadata"} (inputs and
    outputs of the graph at `path`). The task is exported in eval mode on the CPU and left as it
    was. Raises `InputError` where the task or its encoder cannot be exported."""
    if format not in FORMATS:
        raise InputError(f"format must be one of {FORMATS}, got {format!r}")
    was_training = task.training
    task = task.to("cpu").eval()
    try:
        return _export(task, Path(path), format, streaming, max_steps)
    except Exception as error:  # the exporters wrap what the model raised while traced
        cause = cause_of(error, (InputError,))
        if cause is None:
            raise
        raise cause from None
    finally:
        task.train(was_training)  # the exporters restore the mode of the graph they were handed


def _export(task: nn.Module, path: Path, format: str, streaming: bool, max_steps: int) -> dict[str, Any]:
    path.parent.mkdir(parents=True, exist_ok=True)
    graphs = task.export_graphs(streaming)
    metadata = _metadata(task, streaming and len(graphs) == 1)
    torch_layers = any(isinstance(m, TorchRecurrentLayer) for m in task.modules())
    if format == "onnx" and torch_layers and any(hasattr(m, "coefficients") for m in task.modules()):
        raise InputError(
            "this encoder mixes scan cells (mingru, minlstm) with torch.nn RNN layers: neither ONNX "
            "exporter takes both with inputs of any length yet; export format=torch_export "
            "(inputs padded to max_steps), or one kind of cell"
        )
    paths = []
    for graph in graphs:
        target = path if not graph.suffix else path.with_name(f"{path.stem}.{graph.suffix}{path.suffix}")
        graph.module.eval()
        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the exporters' deprecation and tracer notes
            if format == "onnx":
                _to_onnx(graph, target, legacy=torch_layers and graph.exporter != "dynamo")
                _write_onnx_metadata(target, metadata)
            else:
                fixed = torch_layers and any(
                    "steps" in n for axes in graph.axes.values() for n in axes.values()
                )
                lengths = (max_steps, max(1, max_steps // 2), 1) if fixed else EXAMPLE_LENGTHS
                shapes = _dynamic_shapes(graph, fixed_steps=fixed)
                program = torch.export.export(graph.module, graph.example(lengths), dynamic_shapes=shapes)
                torch.export.save(program, str(target))
                target.with_name(target.name + ".json").write_text(json.dumps(metadata, indent=2) + "\n")
        paths.append(str(target))
    first = graphs[0]
    return {
        "path": paths[0], "paths": paths, "format": format, "streaming": streaming,
        "inputs": first.inputs, "outputs": first.outputs, "metadata": metadata,
    }  # fmt: skip


def _dynamic_shapes(graph: Graph, fixed_steps: bool) -> tuple[Any, ...]:
    """`torch.export`'s dynamic shapes from the graph's named axes (one `Dim` per name; the time
    axes left static where `fixed_steps`), nested as the module's signature is (`*state`)."""
    dims: dict[str, Any] = {}

    def dim(name: str) -> Any:
        if name not in dims:
            dims[name] = torch.export.Dim(name, min=1 if name == "batch" else 2)
        return dims[name]

    shapes = [
        {
            axis: dim(name)
            for axis, name in graph.axes.get(arg, {}).items()
            if not (fixed_steps and "steps" in name)
        }
        for arg in graph.inputs
    ]
    parameters = list(inspect.signature(graph.module.forward).parameters.values())
    fixed = [p for p in parameters if p.kind != inspect.Parameter.VAR_POSITIONAL]
    if len(fixed) < len(parameters):  # forward(a, b, *rest): the rest is one tuple
        return (*shapes[: len(fixed)], tuple(shapes[len(fixed) :]))
    return tuple(shapes)


def _to_onnx(graph: Graph, path: Path, legacy: bool) -> None:
    args = graph.example(EXAMPLE_LENGTHS)
    if legacy:
        torch.onnx.export(
            graph.module, args, str(path), input_names=graph.inputs, output_names=graph.outputs,
            dynamic_axes=graph.axes, dynamo=False,
        )  # fmt: skip
        return
    program = torch.onnx.export(
        graph.module, args, input_names=graph.inputs, output_names=graph.outputs,
        dynamic_shapes=_dynamic_shapes(graph, fixed_steps=False), dynamo=True,
    )  # fmt: skip
    program.save(str(path))


def _metadata(task: nn.Module, streaming: bool) -> dict[str, Any]:
    """What a caller needs beside the graph: the task, the input kind, the output names, the
    class names, and for a lone streaming graph its initial state (a conditioned generator's comes
    from its start graph)."""
    spec = task.spec
    metadata: dict[str, Any] = {
        "seqnet.task": type(task).__name__,
        "seqnet.input_kind": spec.input_kind,
        "seqnet.input_size": spec.input_size,
        "seqnet.class_names": list(spec.class_names),
        "seqnet.streaming": streaming,
        **task.export_metadata(),
    }
    if spec.input_kind == "tokens":  # ids in, as seqnet's tokenizer made them
        metadata["seqnet.vocabulary"] = spec.vocab
        metadata["seqnet.tokenizer"] = spec.tokenizer
    if streaming:
        state = flat_state(task.encoder.initial_state(1, "cpu"))
        metadata["seqnet.initial_state"] = [
            {
                "name": f"state_in_{i}",
                "shape": list(t.shape),
                "dtype": str(t.dtype).removeprefix("torch."),
                "value": t.detach()[:, 0].tolist(),
            }
            for i, t in enumerate(state)
        ]  # (layers*directions, 1, S) each; the value is the batch row to repeat
    return metadata


def _write_onnx_metadata(path: Path, metadata: dict[str, Any]) -> None:
    import onnx

    model = onnx.load(str(path))
    for key, value in metadata.items():
        entry = model.metadata_props.add()
        entry.key, entry.value = key, json.dumps(value)
    onnx.save(model, str(path))


# --- checks ---------------------------------------------------------------------------------------
CHECK_LENGTHS = (11, 4, 1, 8)  # lengths unlike the traced example's


def runner(info: dict[str, Any], path: str | None = None) -> Any:
    """A callable over numpy or tensor arguments (in the graph's input order) -> list of numpy
    outputs, for the graph `export_task` wrote at `path` (default: its main one)."""
    path = path or info["path"]
    if info["format"] == "onnx":
        session = _onnx_session(path)
        names = [i.name for i in session.get_inputs()]
        return lambda *args: session.run(None, {n: _numpy(a) for n, a in zip(names, args, strict=True)})
    program = torch.export.load(path)
    module = program.module()
    run = lambda *args: [t.detach().numpy() for t in module(*(torch.as_tensor(a) for a in args))]  # noqa: E731
    run.example = program.example_inputs[0]  # what a padded .pt2 was traced with (its static steps)
    return run


def check_export(task: nn.Module, info: dict[str, Any]) -> float:
    """The largest absolute difference between the written graphs and the task itself: each graph
    beside its module on an example of mixed lengths unlike the traced one, or full-length
    sequences stepped through the streaming graph."""
    was_training = task.training
    task.eval()
    try:
        with torch.no_grad():
            if info["streaming"] and len(info["paths"]) == 1:  # one step graph: step whole sequences
                return _check_streaming(task, runner(info))
            worst = 0.0
            for graph, path in zip(task.export_graphs(info["streaming"]), info["paths"], strict=True):
                run = runner(info, path)
                args = graph.example(CHECK_LENGTHS)
                expected = graph.module(*args)
                expected = expected if isinstance(expected, tuple) else (expected,)
                got = run(*_padded_to(args, graph, getattr(run, "example", None)))
                worst = max(worst, *(_difference(g, e) for g, e in zip(got, expected, strict=True)))
            return worst
    finally:
        task.train(was_training)


def _padded_to(
    args: tuple[Tensor, ...], graph: Graph, traced: tuple[Tensor, ...] | None
) -> tuple[Tensor, ...]:
    """Zero-pad each argument's time axes to the length a `.pt2` was traced at (its steps are
    static when the encoder holds torch.nn RNN layers); the arguments as they are otherwise."""
    if traced is None:
        return args
    padded = []
    for arg, name, example in zip(args, graph.inputs, _flat(traced), strict=True):
        for axis, axis_name in graph.axes.get(name, {}).items():
            extra = example.shape[axis] - arg.shape[axis]
            if "steps" in axis_name and extra > 0:
                pad = [0, 0] * (arg.dim() - 1 - axis) + [0, extra]
                arg = nn.functional.pad(arg, pad)
        padded.append(arg)
    return tuple(padded)


def _flat(args: tuple[Any, ...]) -> list[Tensor]:
    return [t for a in args for t in (a if isinstance(a, tuple) else (a,))]


def _check_streaming(task: nn.Module, run: Any) -> float:
    """Step full-length rows through the graph, comparing each step's output with the full
    sequence's (per-step tasks), or the last step's with the sequence's output."""
    inputs, lengths = task.export_example((CHECK_LENGTHS[0],) * 2)
    full = task.export_outputs(inputs, lengths)[0].numpy()  # (B, T, ...) or (B, ...)
    state = [t.numpy() for t in flat_state(task.encoder.initial_state(len(lengths), "cpu"))]
    worst = 0.0
    for t in range(inputs.shape[1]):
        out, *state = run(inputs[:, t], *state)
        if task.EXPORT_STEPWISE:
            worst = max(worst, float(np.abs(out - full[:, t]).max()))
    return worst if task.EXPORT_STEPWISE else float(np.abs(out - full).max())


def _difference(got: np.ndarray, expected: Tensor) -> float:
    """Largest |got - expected| over expected's extent (a padded graph returns more steps)."""
    wanted = expected.numpy()
    got = got[tuple(slice(0, d) for d in wanted.shape)]
    if wanted.dtype == bool:
        return float((got != wanted).sum())
    return float(np.abs(got - wanted).max())


def _numpy(value: Any) -> np.ndarray:
    return value.numpy() if isinstance(value, Tensor) else np.asarray(value)


def _onnx_session(path: str | Path) -> Any:
    try:
        import onnxruntime
    except ImportError:
        raise InputError("running ONNX graphs needs onnxruntime: pip install 'seqnet[export]'") from None
    return onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])


# --- quantization -----------------------------------------------------------------------------------
def quantize_dynamic(task: nn.Module, path: str | Path, test_loader: Any = None) -> dict[str, Any]:
    """onnxruntime's dynamic int8 quantization of the ONNX graph at `path`, written beside it as
    `<name>.int8.onnx`: {"path", "bytes", "float_bytes", "test"}, where "test" (given the test
    split's batches and a full-sequence graph) compares float and int8 on it: accuracy for classes,
    tags and tokens, else the mean absolute change of the outputs."""
    try:
        from onnxruntime.quantization import QuantType
        from onnxruntime.quantization import quantize_dynamic as quantize
    except ImportError:
        raise InputError("quantize=dynamic needs onnxruntime: pip install 'seqnet[export]'") from None
    path = Path(path)
    target = path.with_name(path.stem + ".int8.onnx")
    quantize(str(path), str(target), weight_type=QuantType.QInt8)
    result: dict[str, Any] = {
        "path": str(target),
        "bytes": target.stat().st_size,
        "float_bytes": path.stat().st_size,
    }
    if test_loader is not None:
        result["test"] = compare_on_batches(task, _onnx_session(path), _onnx_session(target), test_loader)
    return result


def compare_on_batches(task: nn.Module, float_graph: Any, int8_graph: Any, batches: Any) -> dict[str, float]:
    """Run two full-sequence ONNX sessions over batches: {"accuracy_float", "accuracy_int8"} where
    the targets are class ids (classes, tags, tokens), else {"mean_abs_change"}."""
    correct = {"float": 0, "int8": 0}
    count, change, values = 0, 0.0, 0
    for batch in batches:
        feed = {"inputs": _numpy(batch.inputs), "lengths": _numpy(batch.lengths)}
        if batch.future is not None:  # a forecaster's known-future covariates
            feed["future"] = _numpy(batch.future)
        outputs = {k: g.run(None, feed)[0] for k, g in (("float", float_graph), ("int8", int8_graph))}
        targets = batch.targets.numpy()
        if targets.dtype.kind not in "iu" or outputs["float"].ndim != targets.ndim + 1:
            change += float(np.abs(outputs["float"] - outputs["int8"]).sum())
            values += outputs["float"].size
            continue
        valid = targets >= 0  # IGNORE_INDEX pads per-step targets
        if batch.target_lengths is not None:
            steps = np.arange(targets.shape[1])[None, :] < batch.target_lengths.numpy()[:, None]
            valid &= steps
        for name, out in outputs.items():
            correct[name] += int((out.argmax(-1) == targets)[valid].sum())
        count += int(valid.sum())
    if count:
        return {"accuracy_float": correct["float"] / count, "accuracy_int8": correct["int8"] / count}
    return {"mean_abs_change": change / max(values, 1)}
