"""RMSE of the noisy input itself against the clean wave on sine_denoise's test split: the figure a
denoiser must beat.

    python scripts/baselines_denoise.py   # prints it; --out <file>.json writes it too
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
from hydra import compose, initialize_config_dir
from hydra.utils import instantiate

from seqnet.cli.config_dir import CONFIG_DIR


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=None, help="a JSON file to write")
    args = parser.parse_args()
    with initialize_config_dir(config_dir=str(CONFIG_DIR), version_base=None):
        cfg = compose("train", overrides=["experiment=sine_denoise"])
    test = instantiate(cfg.data.source).load().test
    residual = np.concatenate([(e.values - e.target).ravel() for e in test])
    result = {
        "data": "sine_denoise",
        "test_steps": int(residual.size),
        "noisy_input_rmse": float(np.sqrt((residual**2).mean())),
    }
    if args.out:
        Path(args.out).write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
