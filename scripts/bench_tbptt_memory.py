"""Peak training memory of a language model over long sequences: full BPTT against truncated BPTT.

    python scripts/bench_tbptt_memory.py [--lengths 512 1024 2048 4096] [--tbptt 128]
        [--out benchmarks/bench_tbptt_memory.json]

The experiment's model (`experiment=shakespeare_char`: a one-layer LSTM-256 over 64-wide character
embeddings) on batches of 16 Shakespeare windows of each length, trained for one batch through
seqnet's Trainer path, once with `tbptt_steps` unset (one backward pass through every step) and
once with `tbptt_steps=128` (one per chunk). Each case runs in a fresh process, which reports its
peak resident memory (ru_maxrss) during `fit` above what it held before it: activations kept for
the backward pass, the optimizer's state and the allocator's caches. Full BPTT keeps every step's
activations until its one backward pass, so its peak grows with the length; truncated BPTT keeps
one chunk's.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys

from benchmark_file import write_benchmark

BATCH = 16


def measure(length: int, tbptt: int | None) -> dict[str, float]:
    """In this process: build the experiment at `length`, train one batch, report memory (MiB)."""
    import lightning as L
    from hydra import compose, initialize_config_dir
    from hydra.utils import instantiate

    from seqnet.cli.config_dir import CONFIG_DIR

    overrides = [
        "experiment=shakespeare_char", f"data.source.seq_len={length}", f"data.batch_size={BATCH}",
        f"model.tbptt_steps={tbptt if tbptt else 'null'}",
    ]  # fmt: skip
    with initialize_config_dir(str(CONFIG_DIR), version_base="1.3"):
        cfg = compose("train", overrides=overrides)
    data = instantiate(cfg.data)
    data.setup("fit")
    model = instantiate(cfg.model, spec=data.spec.to_dict(), _recursive_=False, _convert_="all")
    trainer = L.Trainer(
        max_steps=-1, max_epochs=1, limit_train_batches=1, limit_val_batches=0, logger=False,
        enable_checkpointing=False, enable_progress_bar=False, enable_model_summary=False,
    )  # fmt: skip
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    trainer.fit(model, data)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"peak_mib": round(peak, 1), "training_mib": round(peak - before, 1), "steps": trainer.global_step}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lengths", type=int, nargs="+", default=[512, 1024, 2048, 4096])
    parser.add_argument("--tbptt", type=int, default=128)
    parser.add_argument("--out", default="benchmarks/bench_tbptt_memory.json")
    parser.add_argument("--one", nargs=2, help=argparse.SUPPRESS)  # length tbptt|0: a child's case
    args = parser.parse_args()
    if args.one:
        length, tbptt = int(args.one[0]), int(args.one[1]) or None
        print(json.dumps(measure(length, tbptt)))
        return
    rows = []
    for length in args.lengths:
        for tbptt in (0, args.tbptt):
            child = subprocess.run(
                [sys.executable, __file__, "--one", str(length), str(tbptt)],
                capture_output=True, text=True, check=True,
            )  # fmt: skip
            case = json.loads(child.stdout.strip().splitlines()[-1])
            rows.append({"length": length, "tbptt_steps": tbptt or None, **case})
            print(json.dumps(rows[-1]), flush=True)
    model = "experiment=shakespeare_char (LSTM-256, embeddings 64), batch 16"
    write_benchmark(args.out, "tbptt_memory", rows, model=model)


if __name__ == "__main__":
    main()
