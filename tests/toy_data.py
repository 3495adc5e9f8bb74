"""Toy data sets for tests: ready-made splits, sentences with entities that need context, reversal
pairs for seq2seq."""

from pathlib import Path

import numpy as np


class StaticSource:
    """A source over ready-made splits (for toy data sets in tests)."""

    def __init__(self, splits) -> None:
        self.splits = splits

    def load(self):
        return self.splits


def toy_entity_sentences(count: int, seed: int) -> list[tuple[list[str], list[str]]]:
    """Sentences whose entities are given away by their words: 'mr' starts a PER, 'city' ends a
    LOC; the tag of a name word therefore depends on its neighbours (context, not the word)."""
    import random

    rng = random.Random(seed)
    sentences = []
    for _ in range(count):
        tokens, tags = [], []
        while len(tokens) < rng.randint(4, 12):
            kind = rng.random()
            if kind < 0.2:
                name = rng.choice(["smith", "jones", "paris"])
                tokens += ["mr", name]
                tags += ["B-PER", "I-PER"]
            elif kind < 0.4:
                name = rng.choice(["paris", "rome", "smith"])
                tokens += [name, "city"]
                tags += ["B-LOC", "I-LOC"]
            else:
                tokens.append(rng.choice(["the", "went", "to", "and", "saw"]))
                tags.append("O")
        sentences.append((tokens, tags))
    return sentences


def toy_reversal_pairs(count: int, seed: int) -> list[tuple[list[str], list[str]]]:
    """(letters, the same letters reversed and doubled at the end): a seq2seq task whose target is
    longer than its source, solvable only by attending to the right source step."""
    rng = np.random.default_rng(seed)
    pairs = []
    for _ in range(count):
        source = [str(c) for c in rng.choice(list("abcdefgh"), size=int(rng.integers(2, 7)))]
        target = [c.upper() for c in reversed(source)]
        pairs.append((source, [*target, target[-1]]))
    return pairs


def toy_directed_runs(count: int, seed: int) -> list[tuple[list[str], str]]:
    """(letters, direction): runs of consecutive letters, ascending for "up" and descending for
    "down": a one-to-many task whose condition decides every step after the first."""
    rng = np.random.default_rng(seed)
    letters = "abcdefgh"
    runs = []
    for _ in range(count):
        length = int(rng.integers(3, 7))
        start = int(rng.integers(0, len(letters) - length + 1))
        run = list(letters[start : start + length])
        direction = str(rng.choice(["up", "down"]))
        runs.append((run if direction == "up" else run[::-1], direction))
    return runs


def seasonal_csv(directory: Path, steps: int = 240) -> Path:
    """A positive series with a trend and a season of 12, a covariate that drives it over the
    forecast steps (known in the future), and a past-only noise column."""
    rng = np.random.default_rng(0)
    t = np.arange(steps)
    boost = (t % 7 == 0).astype(float)  # known ahead, like a holiday flag
    load = 50 + 0.2 * t + 10 * np.sin(2 * np.pi * t / 12) + 8 * boost + rng.normal(0, 0.5, steps)
    rows = "".join(
        f"{a:.4f},{b},{c:.3f}\n" for a, b, c in zip(load, boost, rng.normal(size=steps), strict=True)
    )
    path = directory / "load.csv"
    path.write_text("load,boost,noise\n" + rows)
    return path
