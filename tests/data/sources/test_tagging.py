import pytest

from seqnet.data import SequenceDataModule
from seqnet.data.sources import CoNLLSource, SBLGNTSource
from seqnet.data.sources.tagging import SBLGNT_TAGS, read_conll
from seqnet.data.word_chars import CASINGS


def test_sblgnt_gives_every_word_of_the_greek_new_testament_one_of_eleven_tags():
    splits = SBLGNTSource().load()
    examples = splits.train + splits.val + splits.test
    assert len(examples) == 7939 and sum(len(e.values) for e in examples) == 137741
    assert splits.target_kind == "tags" and splits.aligned and splits.class_names == SBLGNT_TAGS
    assert {tag for e in examples for tag in e.target} == set(SBLGNT_TAGS)
    assert all(len(e.values) == len(e.target) for e in examples)
    assert (len(splits.test), len(splits.val)) == (794, 794)
    assert SBLGNTSource().load().test[3].values.tolist() == splits.test[3].values.tolist()


def test_conll_files_split_sentences_on_blank_lines_and_skip_comments_when_asked(tmp_path, caplog):
    path = tmp_path / "train.conll"
    path.write_text("# doc 1\nThe\tx\tDET\ncat\tx\tNOUN\n\n\nIt\tx\tPRON\n")
    assert read_conll(path, comment_prefix="#") == [(["The", "cat"], ["DET", "NOUN"]), (["It"], ["PRON"])]
    assert "train.conll: skipped 1 comment line(s)" in caplog.text
    assert read_conll(path, tag_column=1, comment_prefix="#")[1] == (["It"], ["x"])
    splits = CoNLLSource(train_path=path, test_path=path, lowercase=True, comment_prefix="#").load()
    assert splits.vocab[4:] == ["cat", "it", "the"] and splits.train[0].target == ["DET", "NOUN"]


def test_conll_words_carry_their_casing_and_characters_as_written_unless_switched_off(tmp_path):
    path = tmp_path / "train.conll"
    path.write_text("The\tDET\ncat\tNOUN\n")
    source = CoNLLSource(train_path=path, test_path=path, lowercase=True, max_word_chars=5)
    data = SequenceDataModule(source, val_fraction=0.0)
    data.setup()
    spec = data.spec
    assert spec.max_word_chars == 5 and spec.char_vocab[4:] == ["T", "a", "c", "e", "h", "t"]
    values = data.datasets["train"][0][0]  # (T, 2 + 5): lower-cased word id, casing, characters
    assert values.shape == (2, 7)
    assert spec.vocab[values[0, 0]] == "the" and CASINGS[values[0, 1]] == "title"
    assert [spec.char_vocab[i] for i in values[0, 2:5]] == ["T", "h", "e"] and values[0, 5:].sum() == 0
    plain = CoNLLSource(train_path=path, test_path=path, max_word_chars=0).load()
    assert plain.train[0].values.shape == (2,) and plain.char_vocab is None
    with pytest.raises(ValueError, match="max_word_chars must be 0"):
        CoNLLSource(train_path=path, max_word_chars=-1)


def test_hashtag_tokens_are_data_by_default(tmp_path):
    path = tmp_path / "tweets.conll"
    path.write_text("#StarWars\tB-tvshow\nrocks\tO\n\n#\tO\n")
    assert read_conll(path) == [(["#StarWars", "rocks"], ["B-tvshow", "O"]), (["#"], ["O"])]


def test_docstart_lines_end_a_document_and_are_counted(tmp_path, caplog):
    path = tmp_path / "conll2003.txt"
    path.write_text(
        "-DOCSTART- -X- -X- O\n\nEU NNP B-NP B-ORG\nrejects VBZ B-VP O\n"
        "-DOCSTART- -X- -X- O\nPeter NNP B-NP B-PER\n"
    )
    assert read_conll(path) == [(["EU", "rejects"], ["B-ORG", "O"]), (["Peter"], ["B-PER"])]
    assert "conll2003.txt: skipped 2 -DOCSTART- line(s)" in caplog.text


@pytest.mark.parametrize(
    ("text", "tag_column", "message"),
    [
        ("Empire\tB-facility\nState\tI-facility\nEmpireB-facility\n", -1,
         r"bad.conll:3: 1 column\(s\) where line 1 has 2: 'EmpireB-facility'; every token line needs the "
         r"same columns \(is the tab between the token and its tag missing\?\)"),
        ("The\tDET\ncat\tNOUN\tB-X\n", -1,
         r"bad.conll:2: 3 column\(s\) where line 1 has 2: .*\(tokens and tags cannot hold spaces\)"),
        ("The\ncat\n", -1, r"bad.conll:1: expected a token and its tag separated by a tab or spaces"),
        ("The DET\ncat NOUN\n", 3, r"bad.conll:1: expected a token in column 0 and a tag in column 3, got 2"),
        ("\n\n", -1, r"bad.conll holds no sentences"),
    ],
)  # fmt: skip
def test_a_malformed_conll_file_names_the_file_the_line_and_the_fix(tmp_path, text, tag_column, message):
    path = tmp_path / "bad.conll"
    path.write_text(text)
    with pytest.raises(ValueError, match=message):
        read_conll(path, tag_column=tag_column)


def test_missing_conll_files_and_directories_are_named(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"CoNLL file .*nope.conll does not exist"):
        read_conll(tmp_path / "nope.conll")
    with pytest.raises(FileNotFoundError, match=r"CoNLL file .* is a directory, not a file"):
        read_conll(tmp_path)


def test_a_tag_absent_from_training_names_the_file_and_the_line_of_its_sentence(tmp_path):
    train = tmp_path / "train.conll"
    train.write_text("".join(f"word{i}\t{'B-X' if i % 2 else 'O'}\n\n" for i in range(20)))
    test = tmp_path / "test.conll"
    test.write_text("word1\tO\n\nword2\tO\nword3\tB-Y\n")
    data = SequenceDataModule(CoNLLSource(train_path=train, test_path=test))
    with pytest.raises(ValueError, match=r"test\.conll:3: train test example 1 has tag 'B-Y', which the"):
        data.setup()
