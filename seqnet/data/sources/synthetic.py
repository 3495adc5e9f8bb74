"""Synthetic benchmarks for long-range memory and gradient flow, parameterised by sequence length."""

from __future__ import annotations

import numpy as np

from seqnet.data.sources.base import SequenceExample, SequenceSplits, token_fields
from seqnet.data.vocab import SPECIALS, Vocabulary
from seqnet.errors import InputError


class GeneratedSource:
    """Base of the generators: `num_train` / `num_val` / `num_test` examples drawn from one seeded
    generator. Subclasses give `name`, `make(rng, size)` and the `fields` of their splits."""

    def __init__(self, num_train: int, num_val: int, num_test: int, seed: int) -> None:
        self.sizes = {"train": num_train, "val": num_val, "test": num_test}
        self.seed = seed

    @property
    def name(self) -> str:
        raise NotImplementedError

    def fields(self) -> dict[str, object]:
        """`SequenceSplits` fields besides the examples (target kind, vocabulary, ...)."""
        raise NotImplementedError

    def make(self, rng: np.random.Generator, size: int) -> list[SequenceExample]:
        raise NotImplementedError

    def load(self) -> SequenceSplits:
        rng = np.random.default_rng(self.seed)
        parts = {split: self.make(rng, size) for split, size in self.sizes.items()}
        return SequenceSplits.from_parts(self.name, parts, **self.fields())


class AddingProblemSource(GeneratedSource):
    """The adding problem (Hochreiter & Schmidhuber 1997): regression over long sequences.

    Each step holds (value ~ U(0, 1), marker); exactly two markers are 1, one in each half of the
    sequence, and the target is the sum of the two marked values. Predicting the mean (1.0) gives
    MSE ~= 1/6 ~= 0.167; a model that solves it gets close to 0.
    """

    def __init__(
        self,
        length: int = 50,
        num_train: int = 5000,
        num_val: int = 1000,
        num_test: int = 1000,
        seed: int = 0,
    ) -> None:
        if length < 2:
            raise InputError(f"the adding problem needs length >= 2, got {length}")
        super().__init__(num_train, num_val, num_test, seed)
        self.length = length

    @property
    def name(self) -> str:
        return f"adding_{self.length}"

    def fields(self) -> dict[str, object]:
        return {"target_kind": "values"}

    def make(self, rng: np.random.Generator, size: int) -> list[SequenceExample]:
        half = self.length // 2
        values = rng.uniform(0.0, 1.0, size=(size, self.length)).astype(np.float32)
        first = rng.integers(0, half, size=size)
        second = rng.integers(half, self.length, size=size)
        markers = np.zeros_like(values)
        rows = np.arange(size)
        markers[rows, first] = 1.0
        markers[rows, second] = 1.0
        targets = values[rows, first] + values[rows, second]
        series = np.stack([values, markers], axis=-1)  # (N, T, 2)
        return [SequenceExample(values=s, target=float(t)) for s, t in zip(series, targets, strict=True)]


class CopyMemorySource(GeneratedSource):
    """The copy-memory task (Arjovsky et al. 2016): remember symbols across a long delay.

    Inputs are tokens: `copy_length` random symbols (from `num_symbols`), `delay` blanks, a cue
    `:`, then `copy_length - 1` blanks more; the target at each step is blank (`_`) except for the
    last `copy_length` steps, which must repeat the symbols in order (target kind `tags`, aligned).
    Always answering blank scores a cross entropy of copy_length * ln(num_symbols) / length.
    """

    BLANK, CUE = "_", ":"

    def __init__(
        self,
        delay: int = 100,
        copy_length: int = 10,
        num_symbols: int = 8,
        num_train: int = 5000,
        num_val: int = 500,
        num_test: int = 500,
        seed: int = 0,
    ) -> None:
        if delay < 0 or copy_length < 1 or not 1 <= num_symbols <= 26:
            raise InputError(
                f"copy memory needs delay >= 0, copy_length >= 1 and 1-26 symbols; got {delay}, "
                f"{copy_length}, {num_symbols}"
            )
        self.delay, self.copy_length = delay, copy_length
        self.symbols = [chr(ord("a") + i) for i in range(num_symbols)]
        super().__init__(num_train, num_val, num_test, seed)
        self.vocab = Vocabulary([*SPECIALS, *self.symbols, self.BLANK, self.CUE])

    @property
    def name(self) -> str:
        return f"copy_memory_{self.delay}"

    def fields(self) -> dict[str, object]:
        return {
            "target_kind": "tags",
            "class_names": [self.BLANK, *self.symbols],
            "aligned": True,
            **token_fields(self.vocab),
        }

    def make(self, rng: np.random.Generator, size: int) -> list[SequenceExample]:
        n = self.copy_length
        examples = []
        for row in rng.integers(0, len(self.symbols), size=(size, n)):
            symbols = [self.symbols[i] for i in row]
            tail = [self.BLANK] * (n - 1)
            inputs = [*symbols, *[self.BLANK] * self.delay, self.CUE, *tail]
            targets = [*[self.BLANK] * (n + self.delay), *symbols]
            examples.append(
                SequenceExample(values=np.array(self.vocab.encode(inputs), dtype=np.int64), target=targets)
            )
        return examples


class NoisySineSource(GeneratedSource):
    """Noisy sine waves: each example is `length` steps of a wave with a random frequency, phase
    and amplitude plus Gaussian noise (target kind `series`).

    task="forecast": the target is the wave's next `horizon` (noisy) steps, (horizon, 1). A model
        that recovers frequency, phase and amplitude forecasts with an RMSE close to `noise`, the
        floor no forecaster can beat.
    task="denoise": the target is the clean wave at every input step, (length, 1), aligned with
        the inputs (per-step regression, many-to-many); predicting the noisy input scores `noise`.
    """

    TASKS = ("forecast", "denoise")

    def __init__(
        self,
        length: int = 64,
        horizon: int = 8,
        noise: float = 0.1,
        num_train: int = 5000,
        num_val: int = 500,
        num_test: int = 500,
        seed: int = 0,
        task: str = "forecast",
    ) -> None:
        if length < 2 or horizon < 1 or noise < 0:
            raise InputError(
                f"noisy sines need length >= 2, horizon >= 1, noise >= 0; got {length}, {horizon}, {noise}"
            )
        if task not in self.TASKS:
            raise InputError(f"task must be one of {self.TASKS}, got {task!r}")
        self.length, self.horizon, self.noise, self.task = length, horizon, noise, task
        super().__init__(num_train, num_val, num_test, seed)

    @property
    def name(self) -> str:
        return f"noisy_sine_{self.length}" + ("_denoise" if self.task == "denoise" else "")

    def fields(self) -> dict[str, object]:
        if self.task == "denoise":
            return {"target_kind": "series", "aligned": True}
        return {"target_kind": "series", "horizon": self.horizon, "target_features": [0]}

    def make(self, rng: np.random.Generator, size: int) -> list[SequenceExample]:
        steps = np.arange(self.length + self.horizon)
        period = rng.uniform(8.0, 32.0, size=(size, 1))
        phase = rng.uniform(0.0, 2 * np.pi, size=(size, 1))
        amplitude = rng.uniform(0.5, 1.5, size=(size, 1))
        clean = (amplitude * np.sin(2 * np.pi * steps / period + phase)).astype(np.float32)[..., None]
        waves = clean + (self.noise * rng.standard_normal(clean.shape)).astype(np.float32)  # (N, T+H, 1)
        if self.task == "denoise":
            return [
                SequenceExample(values=w[: self.length], target=c[: self.length])
                for w, c in zip(waves, clean, strict=True)
            ]
        return [SequenceExample(values=w[: self.length], target=w[self.length :]) for w in waves]
