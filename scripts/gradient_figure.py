"""The README's gradient-flow figure: how far back the loss reaches the inputs, an Elman RNN
against an LSTM trained alike on the adding problem.

    python scripts/gradient_figure.py [--length 100] [--steps 2000] [--out docs/gradient_flow.png]

Each cell trains as one run of `scripts/bench_memory_tasks.py` does (hidden 64, batches of 32,
Adam at 3e-3, seed 0); the curve is the callbacks' own measurement (`input_gradient_curve`) on 32
test sequences, drawn by the function that draws it in TensorBoard.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch
from bench_memory_tasks import train

from seqnet.callbacks import draw_input_gradients


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--length", type=int, default=100)
    parser.add_argument("--steps", type=int, default=2000)
    parser.add_argument("--cells", nargs="+", default=["rnn", "lstm"])
    parser.add_argument("--out", default="docs/gradient_flow.png")
    args = parser.parse_args()
    curves = []
    for cell in args.cells:
        row = train("adding", cell, args.length, 3e-3, args.steps, curve=True)
        print({k: v for k, v in row.items() if k != "curve"}, flush=True)
        label = f"{cell}: test MSE {row['test']:.3f}, horizon {row['memory_horizon']} steps"
        curves.append((label, torch.tensor(row.pop("curve"))))
    caption = f"adding problem, T={args.length}, {args.steps} steps: ‖∂loss/∂x_t‖ by steps back"
    figure = draw_input_gradients(curves, 0.01, caption, shaded=False)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(args.out, dpi=110)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
