"""The classic vanishing-gradient story, measured: the adding problem and copy memory across cells.

    python scripts/bench_memory_tasks.py [--workers 2] [--cells rnn lstm ...] [--tasks adding ...]
        [--steps 1000] [--out benchmarks/memory_tasks.json]
    python scripts/bench_memory_tasks.py --table benchmarks/memory_tasks.json   # the README table

Every cell gets one budget per task: the same hidden size, batch, optimizer steps (adding 2000,
copy memory 8000: at 2000 no cell solved even a delay of 10) and a 3-minute cap per run (the
longest inputs of the slowest cells stop at the cap; each row records the steps it reached), the
same learning-rate search (Adam at 1e-3, 3e-3, 1e-2, chosen per cell and task on the validation
split at the search length; that run is reused), then one run per length at the chosen rate.
Each row: the test MSE (adding; predicting the mean scores ~0.167) or per-step cross entropy
(copy memory; always answering blank scores 10 ln 8 / (T + 20)), its ratio to that baseline, and
the memory horizon of the trained model (`seqnet.callbacks.gradient_flow`: steps back over which
the input gradient of the loss stays above 1 % of its value at the last step, on 32 test
sequences). A length counts as solved below 10 % of its baseline. `--tasks copy_memory` reruns one
task and keeps the other's rows in `--out`.

Runs go to `--workers` processes with one thread each, in the background of a 2-core machine:
about 30 minutes for the whole table.
"""

from __future__ import annotations

import argparse
import json
import math
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from benchmark_file import write_benchmark

CELLS = ("rnn", "lstm", "gru", "mingru", "minlstm")
LEARNING_RATES = (1e-3, 3e-3, 1e-2)
HIDDEN, BATCH, MAX_MINUTES, SOLVED = 64, 32, 3, 0.1


@dataclass(frozen=True)
class MemoryTask:
    """A task of the table: its lengths, the one the learning rate is chosen at, its budget."""

    lengths: tuple[int, ...]
    search_length: int
    steps: int

    def baseline(self, name: str, length: int) -> float:
        return 1 / 6 if name == "adding" else 10 * math.log(8) / (length + 20)


TASKS = {
    "adding": MemoryTask((50, 100, 200, 400, 1000), search_length=100, steps=2000),
    "copy_memory": MemoryTask((10, 20, 50, 100, 200), search_length=20, steps=8000),
}


def train(
    name: str, cell: str, length: int, lr: float, steps: int, seed: int = 0, curve: bool = False
) -> dict:
    """One run: fit `steps` steps (or 3 minutes), then the validation and test loss and horizon
    (and with `curve`, the input-gradient curve itself, by steps back)."""
    import lightning as L
    import torch

    from seqnet.callbacks.gradient_flow import input_gradient_curve, memory_horizon
    from seqnet.data import SequenceDataModule, collate_sequences
    from seqnet.data.sources import AddingProblemSource, CopyMemorySource
    from seqnet.tasks import ManyToMany, ManyToOne

    torch.set_num_threads(1)
    torch.set_flush_denormal(True)
    L.seed_everything(seed, verbose=False)
    if name == "adding":
        source = AddingProblemSource(length=length, num_train=10_000, num_val=500, num_test=1000)
    else:
        source = CopyMemorySource(delay=length, num_train=10_000, num_val=500, num_test=1000)
    data = SequenceDataModule(source, batch_size=BATCH, eval_batch_size=250)
    data.setup()
    task = ManyToOne if name == "adding" else ManyToMany
    model = task(
        data.spec,
        encoder={"cell": cell, "hidden_size": HIDDEN, "bidirectional": False},
        optimizer={"_target_": "torch.optim.Adam", "lr": lr},
        dropout=0.0,
    )
    trainer = L.Trainer(
        max_steps=steps, max_time={"minutes": MAX_MINUTES}, limit_val_batches=0, logger=False,
        enable_checkpointing=False, enable_progress_bar=False, enable_model_summary=False,
    )  # fmt: skip
    start = time.perf_counter()
    trainer.fit(model, datamodule=data)
    seconds = time.perf_counter() - start
    evaluator = L.Trainer(logger=False, enable_progress_bar=False, enable_model_summary=False)
    val = evaluator.validate(model, datamodule=data, verbose=False)[0]
    test = evaluator.test(model, datamodule=data, verbose=False)[0]
    metric = "mse" if name == "adding" else "loss"
    probe = collate_sequences(data.datasets["test"][:32], target_pad_value=-100 if name != "adding" else None)
    norms = input_gradient_curve(model, probe)
    baseline = TASKS[name].baseline(name, length)
    return ({"curve": norms.tolist()} if curve else {}) | {
        "task": name, "cell": cell, "length": length, "lr": lr, "steps": trainer.global_step,
        "seconds": round(seconds, 1), "val": round(val[f"val/{metric}"], 5),
        "test": round(test[f"test/{metric}"], 5), "baseline": round(baseline, 5),
        "test_vs_baseline": round(test[f"test/{metric}"] / baseline, 4),
        "memory_horizon": memory_horizon(norms) if norms is not None else None,
    }  # fmt: skip


def run_table(cells: list[str], tasks: list[str], workers: int, steps: dict[str, int]) -> list[dict]:
    """The learning-rate search at each task's search length, then every other length."""
    rows: list[dict] = []
    with ProcessPoolExecutor(workers) as pool:
        search = {
            (name, cell, lr): pool.submit(train, name, cell, TASKS[name].search_length, lr, steps[name])
            for name in tasks
            for cell in cells
            for lr in LEARNING_RATES
        }
        chosen = {}
        for (name, cell, _), future in search.items():
            row = future.result()
            print(json.dumps(row), flush=True)
            best = chosen.get((name, cell))
            if best is None or row["val"] < best["val"]:
                chosen[(name, cell)] = row
        rest = [
            pool.submit(train, name, cell, length, best["lr"], steps[name])
            for (name, cell), best in chosen.items()
            for length in TASKS[name].lengths
            if length != TASKS[name].search_length
        ]
        for future in rest:
            rows.append(future.result())
            print(json.dumps(rows[-1]), flush=True)
    rows.extend(chosen.values())
    return sorted(rows, key=lambda r: (r["task"], CELLS.index(r["cell"]), r["length"]))


def markdown_table(rows: list[dict]) -> str:
    """Per cell: test loss / baseline at each length (bold where solved) and the longest solved,
    with the memory horizon in brackets."""
    lines = []
    for name in TASKS:
        mine = [r for r in rows if r["task"] == name]
        if not mine:
            continue
        lengths = sorted({r["length"] for r in mine})
        label = "T" if name == "adding" else "delay"
        lines += [
            f"| {name} | " + " | ".join(f"{label}={t}" for t in lengths) + " | longest solved |",
            "|---" * (len(lengths) + 2) + "|",
        ]
        for cell in CELLS:
            cells = {r["length"]: r for r in mine if r["cell"] == cell}
            if not cells:
                continue
            shown = []
            for t in lengths:
                r = cells.get(t)
                ratio = "" if r is None else f"{r['test_vs_baseline']:.3f} ({r['memory_horizon']})"
                shown.append(f"**{ratio}**" if r and r["test_vs_baseline"] < SOLVED else ratio)
            solved = [t for t, r in cells.items() if r["test_vs_baseline"] < SOLVED]
            lines.append(f"| {cell} | " + " | ".join(shown) + f" | {max(solved) if solved else '-'} |")
        lines.append("")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cells", nargs="+", choices=CELLS, default=list(CELLS))
    parser.add_argument("--tasks", nargs="+", choices=list(TASKS), default=list(TASKS))
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--steps", type=int, help="optimizer steps a run (default: each task's budget)")
    parser.add_argument("--out", default="benchmarks/memory_tasks.json")
    parser.add_argument("--table", help="print the markdown table of this results file and stop")
    args = parser.parse_args()
    if args.table:
        print(markdown_table(json.loads(Path(args.table).read_text())["rows"]))
        return
    steps = {name: args.steps or TASKS[name].steps for name in args.tasks}
    rows = run_table(args.cells, args.tasks, args.workers, steps)
    out = Path(args.out)
    if out.is_file():  # the tasks not rerun keep their rows and budget
        kept = json.loads(out.read_text())
        rows = [r for r in kept["rows"] if r["task"] not in args.tasks] + rows
        steps = {**kept["budget"]["steps"], **steps}
    budget = {"hidden_size": HIDDEN, "batch_size": BATCH, "steps": steps, "max_minutes": MAX_MINUTES,
              "learning_rates": LEARNING_RATES, "solved_below": SOLVED}  # fmt: skip
    write_benchmark(out, "memory_tasks", rows, budget=budget)
    print(markdown_table(rows))


if __name__ == "__main__":
    main()
