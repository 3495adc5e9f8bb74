import lightning as L
import pytest

from seqnet.data import SequenceDataModule
from seqnet.data.sources import AddingProblemSource, UCRSource


def quiet_trainer(tmp_path, **kwargs) -> L.Trainer:
    defaults = dict(
        default_root_dir=tmp_path,
        logger=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        accelerator="cpu",
        devices=1,
    )
    return L.Trainer(**{**defaults, **kwargs})


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
