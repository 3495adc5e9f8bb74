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

import json
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from seqnet.errors import InputError
from seqnet.nn import EncoderState
from seqnet.nn.cells import TorchRecurrentLayer

FORMATS = ("onnx", "torch_export")
EXAMPLE_LENGTHS = (7, 3, 5)  # the example batch the graphs are traced with: mixed lengths


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
        self.layout = [len(sizes) for sizes in task.encoder.state_sizes]  # tensors per layer

    def forward(self, inputs: Tensor, *state: Tensor) -> tuple[Tensor, ...]:
        layers, start = [], 0
        for count in self.layout:
            layers.append(tuple(state[start : start + count]))
            start += count
        outputs, after = self.task.export_step(inputs, EncoderState(tuple(layers)))
        return (outputs, *flat_state(after))


def flat_state(state: EncoderState) -> list[Tensor]:
    """An `EncoderState` -> its tensors, layer by layer (the streaming graph's state order)."""
    return [tensor for layer in state.layers for tensor in layer]


def example_inputs(task: nn.Module, lengths: tuple[int, ...] = EXAMPLE_LENGTHS) -> tuple[Tensor, Tensor]:
    """A padded batch of the task's input kind: ids below the vocabulary size, or features."""
    spec = task.spec
    generator = torch.Generator().manual_seed(0)
    shape = (len(lengths), max(lengths))
    if spec.input_kind == "tokens":
        inputs = torch.randint(4, max(5, spec.input_size), shape, generator=generator)
    else:
        inputs = torch.randn(*shape, spec.input_size, generator=generator)
    steps = torch.arange(shape[1]).unsqueeze(0) < torch.tensor(lengths).unsqueeze(1)  # (B, T)
    inputs = inputs * (steps if inputs.dim() == 2 else steps.unsqueeze(-1))
    return inputs, torch.tensor(lengths, dtype=torch.int64)


def export_task(
    task: nn.Module,
    path: str | Path,
    format: str = "onnx",
    streaming: bool = False,
    max_steps: int = 256,
) -> dict[str, Any]:
    """Write `task`'s full-sequence (or streaming) graph to `path`; returns what was written:
    {"path", "format", "streaming", "inputs", "outputs", "metadata"}. The task is exported in eval
    mode on the CPU. Raises `InputError` where the task or its encoder cannot be exported."""
    if format not in FORMATS:
        raise InputError(f"format must be one of {FORMATS}, got {format!r}")
    was_training = task.training
    task = task.to("cpu").eval()
    try:
        return _export(task, Path(path), format, streaming, max_steps)
    except Exception as error:  # the exporters wrap what the model raised while traced
        cause = _input_error(error)
        if cause is None:
            raise
        raise cause from None
    finally:
        task.train(was_training)  # the exporters restore the mode of the graph they were handed


def _export(task: nn.Module, path: Path, format: str, streaming: bool, max_steps: int) -> dict[str, Any]:
    path.parent.mkdir(parents=True, exist_ok=True)
    graph, args, inputs, outputs = _graph(task, streaming)
    graph.eval()
    metadata = _metadata(task, streaming)
    torch_layers = any(isinstance(m, TorchRecurrentLayer) for m in task.modules())
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the exporters' deprecation and tracer notes
        if format == "onnx":
            if torch_layers and any(hasattr(m, "coefficients") for m in task.modules()):
                raise InputError(
                    "this encoder mixes scan cells (mingru, minlstm) with torch.nn RNN layers: neither ONNX "
                    "exporter takes both with inputs of any length yet; export format=torch_export "
                    "(inputs padded to max_steps), or one kind of cell"
                )
            _to_onnx(graph, args, path, inputs, outputs, streaming, legacy=torch_layers)
            _write_onnx_metadata(path, metadata)
        else:
            if torch_layers and not streaming:
                steps = max_steps
                args = example_inputs(task, (steps, max(1, steps // 2), 1))
            program = torch.export.export(
                graph, args, dynamic_shapes=_dynamic_shapes(args, streaming, torch_layers)
            )
            torch.export.save(program, str(path))
            path.with_name(path.name + ".json").write_text(json.dumps(metadata, indent=2) + "\n")
    return {"path": str(path), "format": format, "streaming": streaming, "inputs": inputs,
            "outputs": outputs, "metadata": metadata}  # fmt: skip


def _input_error(error: BaseException | None) -> InputError | None:
    """The `InputError` among `error`'s causes and contexts, if any."""
    seen = set()
    while error is not None and id(error) not in seen:
        if isinstance(error, InputError):
            return error
        seen.add(id(error))
        error = error.__cause__ or error.__context__
    return None


def _graph(task: nn.Module, streaming: bool) -> tuple[nn.Module, tuple[Tensor, ...], list[str], list[str]]:
    """The graph module, its example arguments, and its input and output names."""
    names = list(getattr(task, "EXPORT_OUTPUTS", ()))
    if not names:
        raise InputError(
            f"{type(task).__name__} does not export yet; see docs/export.md for the tasks that do"
        )
    inputs, lengths = example_inputs(task)
    if not streaming:
        return SequenceGraph(task), (inputs, lengths), ["inputs", "lengths"], names
    if task.encoder.bidirectional:
        raise InputError(
            "streaming=true runs one step at a time, but this model's encoder is bidirectional: its "
            "backward direction needs the whole sequence; export the full-sequence graph (streaming=false)"
        )
    state = flat_state(task.encoder.initial_state(len(lengths), "cpu"))
    state_names = [f"state_in_{i}" for i in range(len(state))]
    out_names = [f"state_out_{i}" for i in range(len(state))]
    return StepGraph(task), (inputs[:, 0], *state), ["inputs", *state_names], [names[0], *out_names]


def _dynamic_shapes(args: tuple[Tensor, ...], streaming: bool, fixed_steps: bool) -> tuple[Any, ...]:
    batch = torch.export.Dim("batch", min=1)
    if streaming:  # inputs (B,) or (B, F), states (1, B, S)
        return ({0: batch}, tuple({1: batch} for _ in args[1:]))  # forward(inputs, *state)
    time = None if fixed_steps else torch.export.Dim("steps", min=2)
    return ({0: batch, 1: time} if time is not None else {0: batch}, {0: batch})


def _to_onnx(
    graph: nn.Module, args: tuple[Tensor, ...], path: Path, inputs: list[str], outputs: list[str],
    streaming: bool, legacy: bool,
) -> None:  # fmt: skip
    if legacy:
        axes: dict[str, dict[int, str]] = {name: {0: "batch"} for name in [*inputs, *outputs]}
        if streaming:  # states are (layers*directions, B, S)
            axes.update({name: {1: "batch"} for name in [*inputs[1:], *outputs[1:]]})
        else:
            axes["inputs"] = {0: "batch", 1: "steps"}
            if graph.task.EXPORT_STEPWISE:
                axes[outputs[0]] = {0: "batch", 1: "steps"}
        torch.onnx.export(
            graph, args, str(path), input_names=inputs, output_names=outputs, dynamic_axes=axes, dynamo=False
        )
        return
    program = torch.onnx.export(
        graph, args, input_names=inputs, output_names=outputs,
        dynamic_shapes=_dynamic_shapes(args, streaming, fixed_steps=False), dynamo=True,
    )  # fmt: skip
    program.save(str(path))


def _metadata(task: nn.Module, streaming: bool) -> dict[str, Any]:
    """What a caller needs beside the graph: the task, the input kind, the output names, the
    class names, and for the streaming graph the initial state."""
    spec = task.spec
    metadata: dict[str, Any] = {
        "seqnet.task": type(task).__name__,
        "seqnet.input_kind": spec.input_kind,
        "seqnet.input_size": spec.input_size,
        "seqnet.class_names": list(spec.class_names),
        "seqnet.streaming": streaming,
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


def runner(info: dict[str, Any]) -> Any:
    """A callable over numpy or tensor arguments (in the graph's input order) -> list of numpy
    outputs, for a file `export_task` wrote."""
    if info["format"] == "onnx":
        session = _onnx_session(info["path"])
        names = [i.name for i in session.get_inputs()]
        return lambda *args: session.run(None, {n: _numpy(a) for n, a in zip(names, args, strict=True)})
    program = torch.export.load(info["path"]).module()
    return lambda *args: [t.detach().numpy() for t in program(*(torch.as_tensor(a) for a in args))]


def check_export(task: nn.Module, info: dict[str, Any]) -> float:
    """The largest absolute difference between the written graph and the task itself, on a batch
    of mixed lengths (full-sequence graph), or stepping through full-length rows (streaming)."""
    run = runner(info)
    was_training = task.training
    task.eval()
    try:
        with torch.no_grad():
            if info["streaming"]:
                return _check_streaming(task, run)
            lengths = CHECK_LENGTHS
            inputs, lengths_t = example_inputs(task, lengths)
            expected = task.export_outputs(inputs, lengths_t)
            padded = inputs
            torch_layers = any(isinstance(m, TorchRecurrentLayer) for m in task.modules())
            if (
                info["format"] == "torch_export" and torch_layers
            ):  # the .pt2 of torch.nn RNN layers takes inputs padded to its max_steps
                steps = torch.export.load(info["path"]).example_inputs[0][0].shape[1]
                padded = nn.functional.pad(inputs, (0, 0) * (inputs.dim() - 2) + (0, steps - inputs.shape[1]))
            got = run(padded, lengths_t)
            return max(_difference(g, e, task.EXPORT_STEPWISE) for g, e in zip(got, expected, strict=True))
    finally:
        task.train(was_training)


def _check_streaming(task: nn.Module, run: Any) -> float:
    """Step full-length rows through the graph, comparing each step's output with the full
    sequence's (per-step tasks), or the last step's with the sequence's output."""
    inputs, lengths = example_inputs(task, (CHECK_LENGTHS[0],) * 2)
    full = task.export_outputs(inputs, lengths)[0].numpy()  # (B, T, ...) or (B, ...)
    state = [t.numpy() for t in flat_state(task.encoder.initial_state(len(lengths), "cpu"))]
    worst = 0.0
    for t in range(inputs.shape[1]):
        out, *state = run(inputs[:, t], *state)
        if task.EXPORT_STEPWISE:
            worst = max(worst, float(np.abs(out - full[:, t]).max()))
    return worst if task.EXPORT_STEPWISE else float(np.abs(out - full).max())


def _difference(got: np.ndarray, expected: Tensor, stepwise: bool) -> float:
    wanted = expected.numpy()
    if stepwise:  # a .pt2 padded to max_steps returns that many steps
        got = got[:, : wanted.shape[1]]
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
