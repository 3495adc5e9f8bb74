"""Your own files without a test file: a seeded share of the training file is the test split,
held out before any vocabulary is built, and the log says so."""

import logging

import pytest

from seqnet.data.sources import CoNLLSource, LabelledTextSource, ParallelTextSource, TextCorpusSource


def labelled(tmp_path, n: int = 20):
    path = tmp_path / "train.tsv"
    path.write_text("".join(f"{'pos' if i % 2 else 'neg'}\tword{i} film\n" for i in range(n)))
    return path


def test_without_a_test_file_a_seeded_fifth_of_the_training_file_is_held_out(tmp_path, caplog):
    path = labelled(tmp_path)
    with caplog.at_level(logging.INFO):
        splits = LabelledTextSource(path).load()
    assert (len(splits.train), len(splits.test)) == (16, 4)
    assert "no test file (data.source.test_path): 4 of the 20 examples of" in caplog.text
    held = [splits.vocab[e.values[0]] for e in splits.test]
    assert held == ["<unk>"] * 4  # the held-out words are unknown: the vocabulary saw train only
    origins = {e.origin for e in splits.test}
    again = LabelledTextSource(path).load()
    assert origins == {e.origin for e in again.test}  # the same seed, the same split
    assert origins != {e.origin for e in LabelledTextSource(path, seed=1).load().test}
    assert all(origin.startswith(f"{path}:") for origin in origins)


def test_test_fraction_sets_the_share_and_a_test_file_still_wins(tmp_path):
    path = labelled(tmp_path)
    assert len(LabelledTextSource(path, test_fraction=0.5).load().test) == 10
    assert len(LabelledTextSource(path, test_path=path).load().test) == 20
    with pytest.raises(ValueError, match=r"test_fraction must be between 0 and 1, got 1\.5"):
        LabelledTextSource(path, test_fraction=1.5)


def test_tagging_and_parallel_files_hold_out_whole_sentences_and_pairs(tmp_path):
    conll = tmp_path / "train.conll"
    conll.write_text("".join(f"w{i}\tB-X\nx{i}\tO\n\n" for i in range(10)))
    tagged = CoNLLSource(conll).load()
    assert (len(tagged.train), len(tagged.test)) == (8, 2)
    assert all(len(e.values) == 2 for e in tagged.test)
    pairs = tmp_path / "pairs.tsv"
    pairs.write_text("".join(f"march {i} 2021\t2021-03-0{i}\n" for i in range(1, 6)))
    parallel = ParallelTextSource(pairs).load()
    assert (len(parallel.train), len(parallel.test)) == (4, 1)


def test_a_corpus_without_test_files_tests_on_the_end_of_each_training_file(tmp_path):
    (tmp_path / "book.txt").write_text("a" * 90 + "b" * 10)
    splits = TextCorpusSource([str(tmp_path / "book.txt")], seq_len=4).load()
    assert "b" not in splits.vocab  # the last tenth, all b, is the test text
    assert [splits.vocab[i] for e in splits.test for i in e.values] == ["<unk>"] * 9
    assert {splits.vocab[i] for e in splits.train for i in e.values} == {"a"}
