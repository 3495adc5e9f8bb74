import pytest

from seqnet.data.sources import CoNLLSource, SBLGNTSource
from seqnet.data.sources.tagging import SBLGNT_TAGS, read_conll


def test_sblgnt_gives_every_word_of_the_greek_new_testament_one_of_eleven_tags():
    splits = SBLGNTSource().load()
    examples = splits.train + splits.val + splits.test
    assert len(examples) == 7939 and sum(len(e.values) for e in examples) == 137741
    assert splits.target_kind == "tags" and splits.aligned and splits.class_names == SBLGNT_TAGS
    assert {tag for e in examples for tag in e.target} == set(SBLGNT_TAGS)
    assert all(len(e.values) == len(e.target) for e in examples)
    assert (len(splits.test), len(splits.val)) == (794, 794)
    assert SBLGNTSource().load().test[3].values.tolist() == splits.test[3].values.tolist()


def test_conll_files_split_sentences_on_blank_lines_and_skip_comments(tmp_path):
    path = tmp_path / "train.conll"
    path.write_text("# doc 1\nThe\tx\tDET\ncat\tx\tNOUN\n\n\nIt\tx\tPRON\n")
    assert read_conll(path) == [(["The", "cat"], ["DET", "NOUN"]), (["It"], ["PRON"])]
    assert read_conll(path, tag_column=1)[1] == (["It"], ["x"])
    splits = CoNLLSource(train_path=path, test_path=path, lowercase=True).load()
    assert splits.vocab[4:] == ["cat", "it", "the"] and splits.train[0].target == ["DET", "NOUN"]


def test_a_malformed_conll_line_names_the_file_and_line(tmp_path):
    path = tmp_path / "bad.conll"
    path.write_text("The DET\ncat\n")
    with pytest.raises(ValueError, match=r"bad.conll:2: expected a token in column 0 and a tag in column 1"):
        read_conll(path, tag_column=1)
    with pytest.raises(FileNotFoundError, match="does not exist"):
        read_conll(tmp_path / "nope.conll")
