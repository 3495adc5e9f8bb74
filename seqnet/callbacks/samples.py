"""Text samples from a generative task in TensorBoard's TEXT tab, after every validation."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import lightning as L

from seqnet.callbacks.tensorboard import tensorboard_writers
from seqnet.data.sources.music import write_midi


class GeneratedSamples(L.Callback):
    """Log `n` samples of `pl_module.generate(prompt, ...)` under `tag` after each validation; for a
    conditioned model (OneToMany), `n` samples for each of the first `max_conditions` classes under
    `tag/<class>`, or for the feature vectors of the first validation examples under `tag/val<i>`.

    With `midi=True` (melodies of `pitch:duration` events, `MusicSource`) each sample is also written
    as `<run>/samples/step<global step>/<tag>_<i>.mid` (needs music21). Tasks without `generate` are
    left alone, so the callback can stay in every config; switch it off with `callbacks.samples=null`.
    """

    def __init__(
        self,
        prompt: str = "",
        n: int = 3,
        max_new_tokens: int = 200,
        temperature: float = 0.8,
        seed: int = 0,
        tag: str = "samples",
        max_conditions: int = 8,
        midi: bool = False,
    ) -> None:
        self.prompt = prompt
        self.n = n
        self.max_new_tokens = max_new_tokens
        self.temperature = temperature
        self.seed = seed
        self.tag = tag
        self.max_conditions = max_conditions
        self.midi = midi

    def on_validation_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        generate = getattr(pl_module, "generate", None)
        writers = tensorboard_writers(trainer)
        if generate is None or trainer.sanity_checking or not writers or not trainer.is_global_zero:
            return
        settings = {"max_new_tokens": self.max_new_tokens, "n": self.n, "temperature": self.temperature}
        conditions = self.conditions(trainer, pl_module)
        if conditions is None:
            samples = {self.tag: generate(prompt=self.prompt, seed=self.seed, **settings)}
        else:
            samples = {
                f"{self.tag}/{name}": generate(condition, prompt=self.prompt, seed=self.seed, **settings)
                for name, condition in conditions.items()
            }
        for tag, texts in samples.items():
            # Markdown: each sample as a code block, so line breaks and spacing survive
            body = "\n\n".join("    " + text.replace("\n", "\n    ") for text in texts)
            for writer in writers:
                writer.add_text(tag, body, global_step=trainer.global_step)
            if self.midi:
                folder = Path(trainer.default_root_dir) / "samples" / f"step{trainer.global_step}"
                for number, text in enumerate(texts):
                    write_midi(text.split(), folder / f"{tag.replace('/', '_')}_{number}.mid")

    def conditions(self, trainer: L.Trainer, pl_module: L.LightningModule) -> dict[str, Any] | None:
        """Name -> condition to sample for: the first `max_conditions` classes, or the feature
        vectors of the first validation examples (none without a DataModule); None for a model
        without a condition."""
        if not getattr(pl_module, "conditioned", False):
            return None
        spec = pl_module.spec
        if spec.condition_kind == "classes":
            return {name: name for name in spec.condition_names[: self.max_conditions]}
        datasets = trainer.datamodule.datasets if trainer.datamodule is not None else {}
        items = datasets.get("val") or datasets.get("test") or []
        return {f"val{i}": condition for i, (_, _, condition, _) in enumerate(items[: self.max_conditions])}
