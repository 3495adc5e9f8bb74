"""`seqnet-generate`: sample text from a language-model checkpoint, carrying its state step by step.

seqnet-generate ckpt_path=<run>/checkpoints/best.ckpt prompt="ROMEO:" n=3 temperature=0.8
"""

from __future__ import annotations

import json
from pathlib import Path

import hydra
from omegaconf import DictConfig

from seqnet.cli.config_dir import CONFIG_DIR
from seqnet.cli.launch import launch, reported
from seqnet.cli.overrides import OverrideError
from seqnet.cli.process import apply_process_settings


def generate(cfg: DictConfig) -> list[str]:
    """`cfg.n` continuations of `cfg.prompt` (for `cfg.condition`, with a OneToMany checkpoint);
    printed, and written to `cfg.output` (JSONL) if set."""
    apply_process_settings(cfg)  # before torch is imported: it sets the OpenMP wait policy
    from seqnet.cli.checkpoints import load_task
    from seqnet.tasks import LanguageModel, OneToMany

    model = load_task(cfg.ckpt_path, (LanguageModel,), "seqnet-generate")
    settings = {
        "max_new_tokens": cfg.max_new_tokens, "n": cfg.n, "temperature": cfg.temperature,
        "top_k": cfg.top_k, "top_p": cfg.top_p, "seed": cfg.seed, "greedy_decoding": cfg.greedy,
    }  # fmt: skip
    condition = cfg.get("condition")
    conditioned = isinstance(model, OneToMany) and model.conditioned
    if conditioned and condition is None:
        known = model.spec.condition_names or f"{model.spec.condition_size} values"
        raise OverrideError(f"this model generates for a condition: pass condition=<one of {known}>")
    if condition is not None and not conditioned:
        raise OverrideError(f"{cfg.ckpt_path} holds a model trained without a condition: drop condition=")
    if isinstance(model, OneToMany):
        texts = model.generate(condition, prompt=str(cfg.prompt), **settings)
    else:
        texts = model.generate(str(cfg.prompt), **settings)
    for number, text in enumerate(texts):
        print(f"--- sample {number}\n{text}")
    if cfg.get("output"):
        record = {"prompt": str(cfg.prompt)} | ({"condition": condition} if condition is not None else {})
        lines = [json.dumps({**record, "text": text}, ensure_ascii=False) for text in texts]
        Path(cfg.output).write_text("\n".join(lines) + "\n", encoding="utf-8")
    return texts


@hydra.main(version_base="1.3", config_path=str(CONFIG_DIR), config_name="generate")
@reported("seqnet-generate")
def _run(cfg: DictConfig) -> None:
    generate(cfg)


def main() -> None:
    """Console script `seqnet-generate`."""
    launch("generate", "seqnet-generate", _run)
