import pytest

from seqnet.data.sources import CMUDictSource, ParallelTextSource
from seqnet.data.sources.parallel_text import read_cmudict
from seqnet.data.sources.user_files import read_tsv_pairs
from seqnet.data.vocab import EOS


def test_cmudict_g2p_is_split_by_word_and_targets_end_in_eos():
    splits = CMUDictSource().load()
    examples = splits.train + splits.val + splits.test
    assert len(examples) == 135166
    assert splits.input_kind == splits.target_kind == "tokens" and not splits.aligned
    words = {
        name: {"".join(splits.vocab[i] for i in e.values) for e in part}
        for name, part in (("train", splits.train), ("val", splits.val), ("test", splits.test))
    }
    assert not words["train"] & words["test"] and not words["train"] & words["val"]
    assert all(splits.target_vocab[e.target[-1]] == EOS for e in examples)
    hello = next(e for e in examples if "".join(splits.vocab[i] for i in e.values) == "hello")
    assert [splits.target_vocab[i] for i in hello.target][:-1] in (
        ["HH", "AH0", "L", "OW1"],
        ["HH", "EH0", "L", "OW1"],
    )


def test_cmudict_without_stress_maps_vowels_to_bare_phonemes(tmp_path):
    path = tmp_path / "mini.dict"
    path.write_text("hello HH AH0 L OW1\nhello(2) HH EH0 L OW1 # a comment\n")
    assert read_cmudict(path, stress=False) == [
        ("hello", ["HH", "AH", "L", "OW"]),
        ("hello", ["HH", "EH", "L", "OW"]),
    ]


def test_parallel_tsv_with_char_sources_and_word_targets(tmp_path):
    path = tmp_path / "pairs.tsv"
    path.write_text("# header\nab\tX Y\n\nba\tY X\n")
    splits = ParallelTextSource(
        path, path, source_tokenizer="char", target_tokenizer="word", comment_prefix="#"
    ).load()
    assert [splits.vocab[i] for i in splits.train[0].values] == ["a", "b"]
    assert [splits.target_vocab[i] for i in splits.train[1].target] == ["Y", "X", EOS]


def test_a_malformed_pair_names_the_file_and_line(tmp_path):
    path = tmp_path / "pairs.tsv"
    path.write_text("a\tb\nno tab here\n")
    with pytest.raises(ValueError, match=r"pairs.tsv:2: expected 'source<TAB>target'"):
        read_tsv_pairs(path, "source", "target")
