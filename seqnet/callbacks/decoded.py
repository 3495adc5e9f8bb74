"""Decoded text beside its reference, and attention heatmaps, of a few fixed validation examples in
TensorBoard (seq2seq), after every validation."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import lightning as L
import torch

from seqnet.callbacks.tensorboard import tensorboard_writers
from seqnet.errors import InputError

if TYPE_CHECKING:
    from matplotlib.figure import Figure


class DecodedExamples(L.Callback):
    """After each validation, decode the first `n` examples of the first validation batch (the same
    ones every epoch) and log, under TEXT, a table of source, decoded output and reference, and,
    under IMAGES, one attention heatmap per example (decoded tokens down, source tokens across).

    Acts on tasks with `decode_with_attention` (Seq2Seq); others are left alone. Switch it off with
    `callbacks.decoded=null`, or only the heatmaps with `callbacks.decoded.attention_maps=false`.
    """

    def __init__(self, n: int = 4, attention_maps: bool = True, tag: str = "val/decoded") -> None:
        if n < 1:
            raise InputError(f"n must be at least 1, got {n}")
        self.n = n
        self.attention_maps = attention_maps
        self.tag = tag

    def on_validation_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        decode = getattr(pl_module, "decode_with_attention", None)
        writers = tensorboard_writers(trainer)
        if decode is None or trainer.sanity_checking or not writers or not trainer.is_global_zero:
            return
        batch = next(iter(trainer.val_dataloaders))
        batch = batch.to(pl_module.device)
        inputs, lengths = batch.inputs[: self.n], batch.lengths[: self.n]
        was_training = pl_module.training
        pl_module.eval()
        try:
            decoded, weights = decode(inputs, lengths)
        finally:
            pl_module.train(was_training)
        examples = self._examples(pl_module, batch, decoded, weights)
        step = trainer.global_step
        for writer in writers:
            writer.add_text(self.tag, _table(examples), global_step=step)
            if self.attention_maps and weights is not None:
                for index, example in enumerate(examples):
                    figure = attention_figure(example)
                    writer.add_figure(f"{self.tag}_attention/{index}", figure, global_step=step, close=True)

    def _examples(self, pl_module: Any, batch: Any, decoded: Any, weights: torch.Tensor | None) -> list[dict]:
        source_vocab = pl_module.spec.vocab
        examples = []
        for row in range(len(decoded.lengths)):
            length, produced = int(batch.lengths[row]), int(decoded.lengths[row])
            target = batch.targets[row, : int(batch.target_lengths[row])]
            examples.append(
                {
                    "source": [source_vocab[int(i)] for i in batch.inputs[row, :length]],
                    "decoded": [pl_module.vocabulary.tokens[int(i)] for i in decoded.tokens[row, :produced]],
                    "reference": pl_module.vocabulary.decode(target.tolist()),
                    "weights": None if weights is None else weights[row, :produced, :length].cpu(),
                }
            )
        return examples


def _table(examples: list[dict]) -> str:
    """A Markdown table: source | decoded | reference (tokens joined by spaces)."""
    lines = ["| source | decoded | reference |", "|---|---|---|"]
    for example in examples:
        decoded = [token for token in example["decoded"] if token not in ("<eos>", "<pad>")]
        lines.append(
            f"| {' '.join(example['source'])} | {' '.join(decoded)} | {' '.join(example['reference'])} |"
        )
    return "\n".join(lines)


def attention_figure(example: dict) -> Figure:
    """A heatmap of one example's attention weights (L decoded tokens x S source tokens)."""
    from matplotlib.figure import Figure

    weights = example["weights"].numpy()
    figure = Figure(figsize=(1 + 0.35 * len(example["source"]), 1 + 0.35 * len(example["decoded"])))
    axes = figure.add_subplot()
    axes.imshow(weights, cmap="viridis", vmin=0.0, vmax=1.0, aspect="auto")
    axes.set_xticks(range(len(example["source"])), example["source"], rotation=90)
    axes.set_yticks(range(len(example["decoded"])), example["decoded"])
    axes.set_xlabel("source")
    axes.set_ylabel("decoded")
    figure.tight_layout()
    return figure
