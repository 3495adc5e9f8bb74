"""A small forecaster's training step in seqnet against a hand-written loop over the same batches.

    python scripts/bench_forecaster.py [--reps 5] [--epochs 120] [--out benchmarks/bench_forecaster_step.json]

The airline series (data=airline, batches of 16: 2 an epoch), an LSTM-32 read from its 36-month
windows, a linear head to the 36-month horizon, MSE, clipping at 1.0 and AdamW: `Forecaster` under
Lightning (no validation, no logger or checkpoints) and the same network as a plain torch loop, run
in turn (A B A B ...) in one process. Seconds per optimizer step, epochs included (seqnet computes
and logs its training metrics once an epoch), median over repetitions; the OpenMP wait policy in
force is recorded with the figures.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time
from datetime import date
from pathlib import Path

import lightning as L
import torch
from hydra import compose, initialize_config_dir
from hydra.utils import instantiate
from torch import nn

from seqnet.cli.config_dir import CONFIG_DIR
from seqnet.tasks import Forecaster


def airline(batch_size: int) -> L.LightningDataModule:
    with initialize_config_dir(str(CONFIG_DIR), version_base="1.3"):
        cfg = compose("train", overrides=["data=airline", f"data.batch_size={batch_size}"])
    data = instantiate(cfg.data)
    data.setup("fit")
    return data


def seqnet_run(data: L.LightningDataModule, epochs: int) -> float:
    model = Forecaster(  # the hand-written network: one candidate, no anchor
        data.spec,
        encoder={"cell": "lstm", "hidden_size": 32},
        scaling="train",
        anchor="none",
        gradient_clip_val=1.0,
    )
    trainer = L.Trainer(
        max_epochs=epochs, limit_val_batches=0, logger=False, enable_checkpointing=False,
        enable_progress_bar=False, enable_model_summary=False,
    )  # fmt: skip
    start = time.perf_counter()
    trainer.fit(model, data.train_dataloader())
    return time.perf_counter() - start


def hand_written_run(data: L.LightningDataModule, epochs: int) -> float:
    first = next(iter(data.train_dataloader()))
    rnn = nn.LSTM(first.inputs.shape[-1], 32, batch_first=True)
    head = nn.Linear(32, first.targets.shape[1])
    parameters = [*rnn.parameters(), *head.parameters()]
    optimizer = torch.optim.AdamW(parameters, lr=3e-3)
    start = time.perf_counter()
    for _ in range(epochs):
        for batch in data.train_dataloader():
            out, _ = rnn(batch.inputs)  # (B, T, H)
            loss = nn.functional.mse_loss(head(out[:, -1]), batch.targets[..., 0])
            optimizer.zero_grad()
            loss.backward()
            nn.utils.clip_grad_norm_(parameters, 1.0)
            optimizer.step()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--epochs", type=int, default=120)
    parser.add_argument("--out", default="benchmarks/bench_forecaster_step.json")
    args = parser.parse_args()
    data = airline(16)
    steps = args.epochs * len(data.train_dataloader())
    times: dict[str, list[float]] = {"hand_written": [], "seqnet": []}
    seqnet_run(data, 2)  # warm-up: imports, the fused kernel's load
    for _ in range(args.reps):
        times["hand_written"].append(hand_written_run(data, args.epochs) / steps)
        times["seqnet"].append(seqnet_run(data, args.epochs) / steps)
    ratios = [s / h for s, h in zip(times["seqnet"], times["hand_written"], strict=True)]
    result = {
        "case": "forecaster_step",
        "environment": {
            "date": date.today().isoformat(), "machine": f"{platform.machine()}, {os.cpu_count()} CPUs",
            "torch": torch.__version__, "threads": torch.get_num_threads(),
            "omp_wait_policy": os.environ.get("OMP_WAIT_POLICY", "default"),
        },
        "steps_per_run": steps,
        "ms_per_step": {k: round(1000 * statistics.median(v), 3) for k, v in times.items()},
        "seqnet_vs_hand_written": {
            "median": round(statistics.median(ratios), 3), "min": round(min(ratios), 3),
            "max": round(max(ratios), 3),
        },
    }  # fmt: skip
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
