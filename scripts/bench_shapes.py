"""Each task shape's small-model training step in seqnet against a hand-written loop over the same
batches: the per-shape overhead table.

    python scripts/bench_shapes.py [--reps 5] [--shapes forecaster tagger ...]
        [--out benchmarks/bench_shapes.json]

Every shape trains its task under Lightning (no validation, logger or checkpoints; one candidate,
no extras) and the same network as a plain torch loop (AdamW, clipping at 1.0), in turn
(A B A B ...) in one process, over the batches of one DataLoader. A minimal LightningModule
around the hand-written network and loss (`plain_lightning`) shows what Lightning's own loop
costs. Two more seqnet contenders write to TensorBoard, one with the default gradient-flow
diagnostics (`callbacks.gradient_flow`) and one without: their ratio is what the diagnostics cost
a logged run. Seconds per optimizer step,
epochs included (seqnet computes and logs its training metrics once an epoch, or once every 8
steps over shorter epochs), median over repetitions; the OpenMP wait policy in force is recorded.

- forecaster: the airline series (data=airline, batches of 16: 2 an epoch), an LSTM-32 over
  36-month windows, a linear head to the 36-month horizon, MSE, train scaling, no anchor.
- tagger: `ManyToMany` over 20-40-token sentences (vocabulary 50, 8 tags, batches of 32), 64-wide
  embeddings, a bidirectional LSTM-32, a linear head, cross entropy over valid steps.
- language_model: `LanguageModel` over 64-character windows of a generated text (batches of 32),
  64-wide embeddings, an LSTM-64, a linear head to the vocabulary, cross entropy.
- seq2seq: `Seq2Seq` reversing 5-12-letter words, character by character (batches of 32): 32-wide
  embeddings, a bidirectional LSTM-32 encoder (packed in the hand-written loop), an LSTM-64
  decoder started by a tanh bridge, stepped with input feeding and Luong's general attention,
  cross entropy over the target characters.
- autoencoder: `SequenceAutoencoder` over 64-step windows of a generated two-feature series
  (batches of 32), standardised; a GRU-32 encoder, a 16-wide tanh code read at every step by a
  GRU-32 decoder started by a tanh bridge, a linear head, mean squared reconstruction error.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import lightning as L
import numpy as np
import torch
from benchmark_file import write_benchmark
from hydra import compose, initialize_config_dir
from hydra.utils import instantiate
from lightning.pytorch.loggers import TensorBoardLogger
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from seqnet.cli.config_dir import CONFIG_DIR
from seqnet.data import IGNORE_INDEX, SeqBatch, SequenceDataModule, Vocabulary
from seqnet.data.sources import AnomalySource, ParallelTextSource, TextCorpusSource
from seqnet.tasks import Forecaster, LanguageModel, ManyToMany, Seq2Seq, SequenceAutoencoder, SequenceModule


@dataclass
class Shape:
    """One task shape: its data, its seqnet task, and the hand-written network's loss."""

    data: L.LightningDataModule
    task: Callable[[], SequenceModule]
    network: nn.Module
    loss: Callable[[SeqBatch], torch.Tensor]


def forecaster() -> Shape:
    with initialize_config_dir(str(CONFIG_DIR), version_base="1.3"):
        cfg = compose("train", overrides=["data=airline", "data.batch_size=16"])
    data = instantiate(cfg.data)
    data.setup("fit")
    first = next(iter(data.train_dataloader()))
    rnn, head = nn.LSTM(first.inputs.shape[-1], 32, batch_first=True), nn.Linear(32, first.targets.shape[1])

    def loss(batch: SeqBatch) -> torch.Tensor:
        out, _ = rnn(batch.inputs)  # (B, T, H)
        return nn.functional.mse_loss(head(out[:, -1]), batch.targets[..., 0])

    def task() -> SequenceModule:
        return Forecaster(
            data.spec, encoder={"cell": "lstm", "hidden_size": 32}, scaling="train", anchor="none"
        )

    return Shape(data, task, nn.ModuleList([rnn, head]), loss)


def tagger() -> Shape:
    rng = np.random.default_rng(0)
    sentences = [[f"w{t}" for t in rng.integers(0, 50, rng.integers(20, 41))] for _ in range(640)]
    tags = [[f"T{int(w[1:]) % 8}" for w in sentence] for sentence in sentences]
    data = SequenceDataModule.from_texts(sentences, tags, batch_size=32, bucket=False)
    data.setup()
    spec = data.spec
    embedding, rnn = nn.Embedding(spec.input_size, 64), nn.LSTM(64, 32, batch_first=True, bidirectional=True)
    head = nn.Linear(64, spec.num_classes)

    def loss(batch: SeqBatch) -> torch.Tensor:
        out, _ = rnn(embedding(batch.inputs))  # (B, T, 2H), padded
        return nn.functional.cross_entropy(
            head(out).transpose(1, 2), batch.targets, ignore_index=IGNORE_INDEX
        )

    def task() -> SequenceModule:
        encoder = {"cell": "lstm", "hidden_size": 32, "bidirectional": True}
        return ManyToMany(spec, encoder=encoder, embedding_dim=64, dropout=0.0)

    return Shape(data, task, nn.ModuleList([embedding, rnn, head]), loss)


def language_model() -> Shape:
    rng = np.random.default_rng(0)
    words = ["the", "cat", "sat", "on", "mat", "a", "dog", "ran", "in", "fog", "to", "be"]
    text = " ".join(rng.choice(words, 20_000)) + "\n"
    path = Path(tempfile.mkdtemp()) / "corpus.txt"
    path.write_text(text)
    data = SequenceDataModule(TextCorpusSource([str(path)], seq_len=64), batch_size=32, bucket=False)
    data.setup()
    spec = data.spec
    vocab = len(spec.target_vocab)
    embedding, rnn, head = (
        nn.Embedding(spec.input_size, 64),
        nn.LSTM(64, 64, batch_first=True),
        nn.Linear(64, vocab),
    )

    def loss(batch: SeqBatch) -> torch.Tensor:
        out, _ = rnn(embedding(batch.inputs))  # (B, T, H)
        targets = batch.targets.masked_fill(~batch.target_mask, IGNORE_INDEX)
        return nn.functional.cross_entropy(head(out).transpose(1, 2), targets, ignore_index=IGNORE_INDEX)

    def task() -> SequenceModule:
        return LanguageModel(spec, encoder={"cell": "lstm", "hidden_size": 64}, embedding_dim=64)

    return Shape(data, task, nn.ModuleList([embedding, rnn, head]), loss)


def seq2seq() -> Shape:
    rng = np.random.default_rng(0)
    words = ["".join(rng.choice(list("abcdefghij"), rng.integers(5, 13))) for _ in range(1200)]
    path = Path(tempfile.mkdtemp()) / "reverse.tsv"
    path.write_text("".join(f"{w}\t{w[::-1]}\n" for w in words))
    source = ParallelTextSource(str(path), source_tokenizer="char", target_tokenizer="char")
    data = SequenceDataModule(source, batch_size=32, bucket=False)
    data.setup()
    spec = data.spec
    bos = Vocabulary(spec.target_vocab).bos_id
    source_embedding, encoder = (
        nn.Embedding(spec.input_size, 32),
        nn.LSTM(32, 32, batch_first=True, bidirectional=True),
    )
    target_embedding, cell = nn.Embedding(len(spec.target_vocab), 32), nn.LSTMCell(32 + 64, 64)
    bridge_h, bridge_c, project = nn.Linear(64, 64), nn.Linear(64, 64), nn.Linear(64, 64, bias=False)
    combine, head = nn.Linear(128, 64, bias=False), nn.Linear(64, len(spec.target_vocab))

    def loss(batch: SeqBatch) -> torch.Tensor:
        packed = pack_padded_sequence(
            source_embedding(batch.inputs), batch.lengths, batch_first=True, enforce_sorted=False
        )
        out, (h_n, _) = encoder(packed)
        memory, _ = pad_packed_sequence(out, batch_first=True)  # (B, S, 64)
        summary = torch.cat([h_n[0], h_n[1]], dim=-1)  # (B, 64)
        h, c = torch.tanh(bridge_h(summary)), torch.tanh(bridge_c(summary))
        keys, mask = project(memory), batch.mask[:, : memory.shape[1]]  # (B, S, 64), (B, S)
        inputs = torch.cat([torch.full_like(batch.targets[:, :1], bos), batch.targets[:, :-1]], dim=1)
        feed, logits = h.new_zeros(h.shape), []
        for t in range(inputs.shape[1]):
            h, c = cell(torch.cat([target_embedding(inputs[:, t]), feed], dim=-1), (h, c))
            scores = torch.bmm(keys, h.unsqueeze(2)).squeeze(2).masked_fill(~mask, float("-inf"))
            context = torch.bmm(torch.softmax(scores, dim=-1).unsqueeze(1), memory).squeeze(1)  # (B, 64)
            feed = torch.tanh(combine(torch.cat([h, context], dim=-1)))
            logits.append(head(feed))
        targets = batch.targets.masked_fill(~batch.target_mask, IGNORE_INDEX)
        return nn.functional.cross_entropy(torch.stack(logits, dim=2), targets, ignore_index=IGNORE_INDEX)

    def task() -> SequenceModule:
        encoder = {"cell": "lstm", "hidden_size": 32, "bidirectional": True}
        decoder = {"cell": "lstm", "hidden_size": 64, "attention": "general", "input_feed": True}
        return Seq2Seq(spec, encoder=encoder, embedding_dim=32, decoder=decoder)

    modules = [source_embedding, encoder, target_embedding, cell, bridge_h, bridge_c, project, combine, head]
    return Shape(data, task, nn.ModuleList(modules), loss)


def autoencoder() -> Shape:
    steps = np.arange(4000)
    series = np.stack([np.sin(steps / 10), np.cos(steps / 17)], axis=1)
    series += np.random.default_rng(0).normal(scale=0.1, size=series.shape)
    path = Path(tempfile.mkdtemp()) / "series.csv"
    path.write_text("a,b,label\n" + "".join(f"{a:.5f},{b:.5f},0\n" for a, b in series))
    source = AnomalySource(str(path), columns=["a", "b"], train_end=3000, window=64, stride=8)
    data = SequenceDataModule(source, batch_size=32, bucket=False)
    data.setup()
    spec = data.spec
    mean, std = torch.tensor(spec.feature_mean), torch.tensor(spec.feature_std)
    encoder, code, bridge = nn.GRU(2, 32, batch_first=True), nn.Linear(32, 16), nn.Linear(16, 32)
    decoder, head = nn.GRU(16, 32, batch_first=True), nn.Linear(32, 2)

    def loss(batch: SeqBatch) -> torch.Tensor:
        x = (batch.inputs - mean) / std  # (B, T, F), equal lengths
        out, _ = encoder(x)
        z = torch.tanh(code(out[:, -1]))  # (B, 16)
        start = torch.tanh(bridge(z)).unsqueeze(0)  # (1, B, 32)
        recon, _ = decoder(z.unsqueeze(1).expand(-1, x.shape[1], -1), start)
        return nn.functional.mse_loss(head(recon), x)

    def task() -> SequenceModule:
        return SequenceAutoencoder(spec, encoder={"cell": "gru", "hidden_size": 32}, bottleneck=16)

    return Shape(data, task, nn.ModuleList([encoder, code, bridge, decoder, head]), loss)


SHAPES = {
    "forecaster": forecaster, "tagger": tagger, "language_model": language_model, "seq2seq": seq2seq,
    "autoencoder": autoencoder,
}  # fmt: skip


def seqnet_run(shape: Shape, epochs: int, gradient_flow: bool | None = None) -> float:
    """Train `epochs` epochs in seqnet; gradient_flow None: no logger, False: a TensorBoard logger,
    True: that logger and the default `GradientFlow` callback (what it costs a logged run)."""
    logger = False if gradient_flow is None else TensorBoardLogger(tempfile.mkdtemp())
    callbacks = [instantiate(gradient_flow_config())] if gradient_flow else []
    return fit_seconds(shape.task(), shape, epochs, logger=logger, callbacks=callbacks)


def fit_seconds(model: L.LightningModule, shape: Shape, epochs: int, **options: object) -> float:
    """Seconds for `epochs` epochs of `model` over the shape's training batches under a Trainer
    without validation, checkpoints, progress bar or summary; `options` go to the Trainer."""
    trainer = L.Trainer(
        max_epochs=epochs, limit_val_batches=0, enable_checkpointing=False, enable_progress_bar=False,
        enable_model_summary=False, **options,
    )  # fmt: skip
    start = time.perf_counter()
    trainer.fit(model, shape.data.train_dataloader())
    return time.perf_counter() - start


class PlainLightning(L.LightningModule):
    """The hand-written network and loss as a minimal LightningModule (the hand-written AdamW)."""

    def __init__(self, shape: Shape) -> None:
        super().__init__()
        self.network, self.loss = shape.network, shape.loss

    def training_step(self, batch: SeqBatch, batch_idx: int) -> torch.Tensor:
        return self.loss(batch)

    def configure_optimizers(self) -> torch.optim.Optimizer:
        return torch.optim.AdamW(self.parameters(), lr=3e-3)


def plain_lightning_run(shape: Shape, epochs: int) -> float:
    return fit_seconds(PlainLightning(shape), shape, epochs, logger=False, gradient_clip_val=1.0)


def hand_written_run(shape: Shape, epochs: int) -> float:
    parameters = list(shape.network.parameters())
    optimizer = torch.optim.AdamW(parameters, lr=3e-3)
    start = time.perf_counter()
    for _ in range(epochs):
        for batch in shape.data.train_dataloader():
            loss = shape.loss(batch)
            optimizer.zero_grad()
            loss.backward()
            nn.utils.clip_grad_norm_(parameters, 1.0)
            optimizer.step()
    return time.perf_counter() - start


def measure(shape: Shape, reps: int, steps_wanted: int) -> dict:
    """Interleaved runs of about `steps_wanted` steps each: ms per step and seqnet's ratio."""
    per_epoch = len(shape.data.train_dataloader())
    epochs = max(1, round(steps_wanted / per_epoch))
    steps = epochs * per_epoch
    seqnet_run(shape, 1)  # warm-up: imports, the fused kernel's load
    contenders = ("hand_written", "plain_lightning", "seqnet", "logged", "gradient_flow")
    times: dict[str, list[float]] = {k: [] for k in contenders}
    for _ in range(reps):
        times["hand_written"].append(hand_written_run(shape, epochs) / steps)
        times["plain_lightning"].append(plain_lightning_run(shape, epochs) / steps)
        times["seqnet"].append(seqnet_run(shape, epochs) / steps)
        times["logged"].append(seqnet_run(shape, epochs, gradient_flow=False) / steps)
        times["gradient_flow"].append(seqnet_run(shape, epochs, gradient_flow=True) / steps)
    return {
        "steps_per_run": steps, "steps_per_epoch": per_epoch,
        "ms_per_step": {k: round(1000 * statistics.median(v), 3) for k, v in times.items()},
        "seqnet_vs_hand_written": ratio_summary(times["seqnet"], times["hand_written"]),
        "plain_lightning_vs_hand_written": ratio_summary(times["plain_lightning"], times["hand_written"]),
        "gradient_flow_vs_logged": ratio_summary(times["gradient_flow"], times["logged"]),
        "gradient_flow_extra_seconds_per_run": round(
            steps * (statistics.median(times["gradient_flow"]) - statistics.median(times["logged"])), 3
        ),
    }  # fmt: skip


def ratio_summary(a: list[float], b: list[float]) -> dict[str, float]:
    """Median, min and max of a / b over the interleaved repetitions."""
    ratios = [x / y for x, y in zip(a, b, strict=True)]
    return {
        "median": round(statistics.median(ratios), 3),
        "min": round(min(ratios), 3),
        "max": round(max(ratios), 3),
    }


def gradient_flow_config() -> object:
    """The `callbacks.gradient_flow` entry of the default configs, as a run builds it."""
    with initialize_config_dir(str(CONFIG_DIR), version_base="1.3"):
        return compose("train").callbacks.gradient_flow


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--steps", type=int, default=240, help="steps per run (whole epochs)")
    parser.add_argument("--shapes", nargs="+", choices=list(SHAPES), default=list(SHAPES))
    parser.add_argument("--out", default="benchmarks/bench_shapes.json")
    args = parser.parse_args()
    rows = []
    for name in args.shapes:
        rows.append({"shape": name, **measure(SHAPES[name](), args.reps, args.steps)})
        print(json.dumps(rows[-1]), flush=True)
    write_benchmark(args.out, "shapes_training_step", rows)


if __name__ == "__main__":
    main()
