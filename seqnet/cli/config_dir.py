"""Where the Hydra configs are: inside the wheel (`seqnet/configs`) or, in a source checkout with an
editable install, the repository's top-level `configs/`; and the resolvers those configs use."""

from __future__ import annotations

from pathlib import Path

from omegaconf import OmegaConf

_PACKAGE = Path(__file__).resolve().parents[1]
_PACKAGED = _PACKAGE / "configs"
_CHECKOUT = _PACKAGE.parent / "configs"

CONFIG_DIR = _PACKAGED if _PACKAGED.is_dir() else _CHECKOUT


def checkpoint_run(ckpt_path: str | list[str]) -> str:
    """`${checkpoint_run:${ckpt_path}}`: the run directory a checkpoint belongs to (`<run>` for
    `<run>/checkpoints/best.ckpt`; otherwise the checkpoint's own folder; of a list, the first's).
    seqnet-eval and seqnet-predict write their results there, beside the run, not under the
    current directory."""
    path = Path(ckpt_path if isinstance(ckpt_path, str) else ckpt_path[0])
    return str(path.parent.parent if path.parent.name == "checkpoints" else path.parent)


OmegaConf.register_new_resolver("checkpoint_run", checkpoint_run, replace=True)
