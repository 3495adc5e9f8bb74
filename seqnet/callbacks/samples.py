"""Text samples from a generative task in TensorBoard's TEXT tab, after every validation."""

from __future__ import annotations

import lightning as L

from seqnet.callbacks.tensorboard import tensorboard_writers


class GeneratedSamples(L.Callback):
    """Log `n` samples of `pl_module.generate(prompt, ...)` under `tag` after each validation.

    Tasks without `generate` are left alone, so the callback can stay in every config; switch it
    off with `callbacks.samples=null`.
    """

    def __init__(
        self,
        prompt: str = "",
        n: int = 3,
        max_new_tokens: int = 200,
        temperature: float = 0.8,
        seed: int = 0,
        tag: str = "samples",
    ) -> None:
        self.prompt = prompt
        self.n = n
        self.max_new_tokens = max_new_tokens
        self.temperature = temperature
        self.seed = seed
        self.tag = tag

    def on_validation_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        generate = getattr(pl_module, "generate", None)
        writers = tensorboard_writers(trainer)
        if generate is None or trainer.sanity_checking or not writers or not trainer.is_global_zero:
            return
        texts = generate(
            self.prompt,
            max_new_tokens=self.max_new_tokens,
            n=self.n,
            temperature=self.temperature,
            seed=self.seed,
        )
        # Markdown: each sample as a code block, so line breaks and spacing survive
        body = "\n\n".join("    " + text.replace("\n", "\n    ") for text in texts)
        for writer in writers:
            writer.add_text(self.tag, body, global_step=trainer.global_step)
