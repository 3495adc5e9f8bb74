"""seqnet-export: a checkpoint in, a graph out that onnxruntime and torch.export run; bad input is
one line and exit status 2."""

import json

import numpy as np
import pytest
import torch

from tests.commands import run_cli

pytest.importorskip("onnxruntime")


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    folder = tmp_path_factory.mktemp("export")
    trained = run_cli(
        "seqnet-train", "debug=fast", "model.encoder.bidirectional=false", f"hydra.run.dir={folder / 'run'}",
        cwd=folder,
    )  # fmt: skip
    assert trained.returncode == 0, trained.stderr[-2000:]
    return folder, folder / "run" / "checkpoints" / "best.ckpt"


def test_a_checkpoint_exports_to_onnx_quantized_and_checked(checkpoint):
    folder, ckpt = checkpoint
    done = run_cli(
        "seqnet-export", f"ckpt_path={ckpt}", "output=out/model.onnx", "quantize=dynamic", cwd=folder
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "largest difference from the checkpoint, on a batch of mixed lengths" in done.stdout
    difference = float(done.stdout.split("mixed lengths: ")[1].split()[0])
    assert difference < 1e-4
    assert (folder / "out" / "model.int8.onnx").is_file()
    assert "accuracy_float" in done.stdout.split("test split: ")[1]
    (record,) = folder.glob("logs/**/export.json")  # the run's record, what scripts/bench_export.py reads
    assert json.loads(record.read_text())["quantized"]["bytes"] > 0


@pytest.mark.parametrize("format", ["onnx", "torch_export"])
def test_the_streaming_graph_steps_as_the_model_does(checkpoint, format):
    folder, ckpt = checkpoint
    output = folder / f"step.{format}"
    done = run_cli(
        "seqnet-export",
        f"ckpt_path={ckpt}",
        f"output={output}",
        f"format={format}",
        "streaming=true",
        cwd=folder,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert float(done.stdout.split("full-length sequences: ")[1].split()[0]) < 1e-4
    if format == "torch_export":
        start = json.loads((folder / "step.torch_export.json").read_text())["seqnet.initial_state"]
        program = torch.export.load(str(output)).module()
        state = [torch.tensor(np.asarray(s["value"], dtype=np.float32)).unsqueeze(1) for s in start]
        outputs, *state = program(torch.zeros(1, 12), *state)
        assert outputs.shape == (1, 9) and len(state) == len(start)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["ckpt_path=missing.ckpt", "output=m.onnx"], "does not exist"),
        (["output=/proc/m.onnx"], "cannot write output=/proc/m.onnx"),
        (["output=m.pt2", "format=torch_export", "quantize=dynamic"], "add format=onnx"),
        (["output=m.onnx", "format=tflite"], "format must be one of"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(checkpoint, args, message):
    folder, ckpt = checkpoint
    done = run_cli("seqnet-export", f"ckpt_path={ckpt}", *args, cwd=folder)
    assert done.returncode == 2
    assert message in done.stderr and "Traceback" not in done.stderr
