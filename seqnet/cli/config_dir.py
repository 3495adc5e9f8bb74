"""Where the Hydra configs are: inside the wheel (`seqnet/configs`) or, in a source checkout with an
editable install, the repository's top-level `configs/`; and the resolvers those configs use."""

from __future__ import annotations

from pathlib import Path

from omegaconf import DictConfig, OmegaConf

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


def run_name(data_choice: str, source: DictConfig | None) -> str:
    """`${run_name:${hydra:runtime.choices.data},${data.source}}`: what a run without an experiment
    is named (its runs go to `logs/<name>/runs/`): the data config, then the stem of one's own file
    (`conll_tweets` for `data.source.train_path=tweets.conll`), or the data set a generic reader was
    pointed at (`ucr_GunPoint`)."""
    source = source if isinstance(source, DictConfig) else {}
    for key in ("train_path", "path", "train_paths"):
        given = source.get(key) if key in source and not OmegaConf.is_missing(source, key) else None
        if given and not isinstance(given, str):
            given = next(iter(given), None)
        if given:
            return f"{data_choice}_{Path(str(given).rstrip('/')).stem}"
    name = source.get("name") if "name" in source else None
    if isinstance(name, str) and name.replace("_", "").lower() != data_choice.replace("_", "").lower():
        return f"{data_choice}_{name}"
    return data_choice


OmegaConf.register_new_resolver("checkpoint_run", checkpoint_run, replace=True)
OmegaConf.register_new_resolver("run_name", run_name, replace=True)
