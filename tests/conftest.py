import numpy as np
import pytest
import torch

from seqnet.data import SequenceDataModule
from seqnet.data.sources import AddingProblemSource, ForecastSource, UCRSource
from tests.toy_data import (
    StaticSource,
    seasonal_csv,
    toy_directed_runs,
    toy_entity_sentences,
    toy_reversal_pairs,
)

# As seqnet-train does (config `flush_denormal`): tiny losses otherwise make CPU kernels crawl.
torch.set_flush_denormal(True)


@pytest.fixture(scope="session")
def vowels() -> SequenceDataModule:
    dm = SequenceDataModule(UCRSource("JapaneseVowels"), batch_size=32, eval_batch_size=64)
    dm.setup()
    return dm


@pytest.fixture(scope="session")
def adding() -> SequenceDataModule:
    dm = SequenceDataModule(
        AddingProblemSource(length=10, num_train=256, num_val=64, num_test=64), batch_size=32
    )
    dm.setup()
    return dm


@pytest.fixture(scope="session")
def toy_tags() -> SequenceDataModule:
    from seqnet.data.sources.tagging import tagged_splits

    sentences = {"train": toy_entity_sentences(300, 0), "test": toy_entity_sentences(60, 1)}
    dm = SequenceDataModule(StaticSource(tagged_splits("toy_ner", sentences)), batch_size=32)
    dm.setup()
    return dm


@pytest.fixture(scope="session")
def toy_corpus() -> SequenceDataModule:
    from seqnet.data.sources.corpus import corpus_splits
    from seqnet.data.tokenizers import CharTokenizer

    text = "the cat sat on the mat. the dog sat on the log. " * 40
    documents = {"train": [text], "val": [text[:400]], "test": [text[:400]]}
    dm = SequenceDataModule(
        StaticSource(corpus_splits("toy_text", documents, CharTokenizer(), 32)), batch_size=16
    )
    dm.setup()
    return dm


SPLIT_SIZES = {"train": 400, "val": 64, "test": 64}


@pytest.fixture(scope="session")
def toy_pairs() -> SequenceDataModule:
    """Seq2seq: letters -> the letters reversed in capitals, the last one twice (char -> word)."""
    from seqnet.data.sources.parallel_text import parallel_splits
    from seqnet.data.tokenizers import CharTokenizer, WordTokenizer

    pairs = {
        "train": toy_reversal_pairs(400, 0),
        "val": toy_reversal_pairs(64, 1),
        "test": toy_reversal_pairs(64, 2),
    }
    tokenizers = (CharTokenizer().to_dict(), WordTokenizer(False).to_dict())
    dm = SequenceDataModule(
        StaticSource(parallel_splits("toy_reversal", pairs, tokenizers=tokenizers)), batch_size=32
    )
    dm.setup()
    return dm


@pytest.fixture(scope="session")
def toy_runs() -> SequenceDataModule:
    """One-to-many: a direction ("up" or "down") -> a run of consecutive letters that way."""
    return toy_runs_module(vectors=False)


@pytest.fixture(scope="session")
def toy_vector_runs() -> SequenceDataModule:
    """`toy_runs` conditioned on a feature vector: (1, 0) + noise for up, (0, 1) + noise for down."""
    return toy_runs_module(vectors=True)


def toy_runs_module(vectors: bool) -> SequenceDataModule:
    from seqnet.data.sources import SequenceSplits
    from seqnet.data.sources.base import teacher_forcing_example, token_fields
    from seqnet.data.tokenizers import CharTokenizer
    from seqnet.data.vocab import Vocabulary

    parts = {split: toy_directed_runs(n, seed) for seed, (split, n) in enumerate(SPLIT_SIZES.items())}
    vocab = Vocabulary.build([run for run, _ in parts["train"]])
    rng = np.random.default_rng(0)

    def condition(direction: str) -> object:
        if not vectors:
            return direction
        return (np.array([1.0, 0.0] if direction == "up" else [0.0, 1.0]) + rng.normal(0, 0.1, 2)).tolist()

    examples = {
        split: [teacher_forcing_example(vocab, run, condition(direction)) for run, direction in part]
        for split, part in parts.items()
    }
    tokenizer = CharTokenizer().to_dict()
    conditions = (
        {"condition_kind": "values"}
        if vectors
        else {"condition_kind": "classes", "condition_names": ["down", "up"]}
    )
    splits = SequenceSplits.from_parts(
        "toy_runs", examples, **conditions,
        tokenizer=tokenizer, target_tokenizer=tokenizer, **token_fields(vocab, targets=True),
    )  # fmt: skip
    dm = SequenceDataModule(StaticSource(splits), batch_size=32)
    dm.setup()
    return dm


@pytest.fixture(scope="session")
def series(tmp_path_factory) -> SequenceDataModule:
    """A seasonal series with a trend, a known-future covariate and a past one (`seasonal_csv`)."""
    source = ForecastSource(
        path=seasonal_csv(tmp_path_factory.mktemp("series")),
        target="load",
        covariates=["noise"],
        future_covariates=["boost"],
        window=24,
        horizon=6,
        season=12,
    )
    dm = SequenceDataModule(source, batch_size=16)
    dm.setup()
    return dm
