"""`seqnet-export`: a checkpoint's model as a graph that runs without seqnet (docs/export.md).

seqnet-export ckpt_path=<run>/checkpoints/best.ckpt output=model.onnx [format=torch_export]
    [streaming=true] [quantize=dynamic]
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import hydra
from omegaconf import DictConfig

from seqnet.cli.config_dir import CONFIG_DIR
from seqnet.cli.launch import launch, reported
from seqnet.cli.overrides import OverrideError
from seqnet.cli.process import apply_process_settings


def export(cfg: DictConfig) -> dict[str, Any]:
    """Write the graph `cfg` asks for; print where, its inputs and outputs, its largest difference
    from the checkpoint on a mixed-length batch, and with `quantize=dynamic` the int8 file's size
    and its accuracy beside the float graph's on the test split; all of it also goes to
    `<run dir>/export.json`."""
    apply_process_settings(cfg)
    from seqnet.cli.checkpoints import load_task
    from seqnet.tasks.export import check_export, export_task, quantize_dynamic

    if cfg.quantize not in (None, "dynamic"):
        raise OverrideError(f"quantize must be dynamic or null, got {cfg.quantize!r}")
    if cfg.quantize and cfg.format != "onnx":
        raise OverrideError("quantize=dynamic quantizes ONNX graphs: add format=onnx")
    model = load_task(cfg.ckpt_path, program="seqnet-export")
    output = Path(str(cfg.output))
    _check_writable(output)
    info = export_task(model, output, cfg.format, bool(cfg.streaming), int(cfg.max_steps))
    print(f"wrote {output} ({cfg.format}{', streaming' if cfg.streaming else ''}): "
          f"inputs {info['inputs']}, outputs {info['outputs']}")  # fmt: skip
    if cfg.check:
        info["largest_difference"] = check_export(model, info)
        how = "stepping full-length sequences" if cfg.streaming else "on a batch of mixed lengths"
        print(f"largest difference from the checkpoint, {how}: {info['largest_difference']:.2e}")
    if cfg.quantize:
        batches = None if cfg.streaming else _test_batches(cfg.ckpt_path)
        info["quantized"] = quantize_dynamic(model, output, batches)
        q = info["quantized"]
        print(f"quantized: {q['path']} ({q['bytes']:,} bytes; float {q['float_bytes']:,})")
        if q.get("test"):
            print(f"test split: {q['test']}")
    record = Path(cfg.paths.output_dir) / "export.json"
    record.write_text(json.dumps(info, indent=2, default=str) + "\n")
    return info


def _test_batches(ckpt_path: str) -> Any:
    """The test split of the data the checkpoint was trained on, batched as seqnet-eval does."""
    from hydra.utils import instantiate

    from seqnet.cli.checkpoints import read_checkpoint_metadata

    data_config = read_checkpoint_metadata(ckpt_path).get("config", {}).get("data")
    if not data_config:
        return None
    datamodule = instantiate(data_config)
    datamodule.setup("test")
    return datamodule.test_dataloader()


def _check_writable(output: Path) -> None:
    folder = output.parent if str(output.parent) else Path(".")
    if output.is_dir():
        raise IsADirectoryError(
            f"output={output} is a directory; name a file, e.g. output={output / 'model.onnx'}"
        )
    probe = folder / f".{output.name}.writable"
    try:
        folder.mkdir(parents=True, exist_ok=True)
        probe.touch()
        probe.unlink()
    except OSError as error:
        raise PermissionError(
            f"cannot write output={output} ({error.strerror}); name a file in a folder you can write"
        ) from None


@hydra.main(version_base="1.3", config_path=str(CONFIG_DIR), config_name="export")
@reported("seqnet-export")
def _run(cfg: DictConfig) -> None:
    export(cfg)


def main() -> None:
    """Console script `seqnet-export`."""
    launch("export", "seqnet-export", _run)
