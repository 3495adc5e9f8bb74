import pytest

from seqnet.data import SequenceDataModule
from seqnet.data.sources import LabelledTextSource


def write(path, lines):
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.fixture
def files(tmp_path):
    train = write(
        tmp_path / "train.tsv",
        ["# reviews", "great\tThe soup was great!", "", "other\tCold soup, slow service."],
    )
    test = write(tmp_path / "test.tsv", ["great\tGreat dumplings"])
    return train, test


@pytest.fixture
def source(files):
    return lambda **options: LabelledTextSource(*files, comment_prefix="#", **options)


def test_reads_labels_and_builds_the_vocabulary_on_train_only(source):
    splits = source().load()
    assert [e.target for e in splits.train] == ["great", "other"]
    assert splits.input_kind == "tokens" and splits.vocab[:2] == ["<pad>", "<unk>"]
    assert "dumplings" not in splits.vocab
    great, unknown = splits.test[0].values.tolist()
    assert splits.vocab[great] == "great" and unknown == 1  # unseen word -> <unk>
    assert splits.val is None and splits.name == "train"


def test_character_tokenizer(source):
    splits = source(tokenizer="char", lowercase=False).load()
    assert len(splits.train[0].values) == len("The soup was great!")
    assert "T" in splits.vocab


def test_a_malformed_line_names_file_line_and_fix(tmp_path, files):
    bad = write(tmp_path / "bad.tsv", ["great\tfine", "no tab here"])
    with pytest.raises(ValueError, match=r"bad\.tsv:2: expected 'label<TAB>text', got 'no tab here'"):
        LabelledTextSource(bad, files[1]).load()


def test_missing_and_empty_files_are_clear_errors(tmp_path, files):
    with pytest.raises(FileNotFoundError, match=r"nope\.tsv does not exist"):
        LabelledTextSource(tmp_path / "nope.tsv", files[1]).load()
    empty = write(tmp_path / "empty.tsv", ["# nothing"])
    with pytest.raises(ValueError, match=r"empty\.tsv holds no examples"):
        LabelledTextSource(empty, files[1], comment_prefix="#").load()
    with pytest.raises(ValueError, match="tokenizer must be one of"):
        LabelledTextSource(*files, tokenizer="bpe")


def test_comment_lines_are_data_unless_a_prefix_is_set_and_then_they_are_counted(tmp_path, files, caplog):
    with pytest.raises(
        ValueError, match=r"train\.tsv:1: .*got '# reviews'.*\(a comment line\? set comment_prefix"
    ):
        LabelledTextSource(*files).load()
    tweets = write(tmp_path / "tweets.tsv", ["great\t#win what a game", "other\t#fail"])
    assert [e.target for e in LabelledTextSource(tweets, tweets).load().train] == ["great", "other"]
    LabelledTextSource(*files, comment_prefix="#").load()
    assert "train.tsv: skipped 1 comment line(s) starting with '#'" in caplog.text


def test_a_label_absent_from_training_names_the_file_and_line(tmp_path):
    train = write(tmp_path / "many.tsv", [f"{'great' if i % 2 else 'other'}\tsoup {i}" for i in range(20)])
    test = write(tmp_path / "test.tsv", ["great\tfine", "", "neutral\tso-so"])
    data = SequenceDataModule(LabelledTextSource(train, test))
    with pytest.raises(ValueError, match=r"test\.tsv:3: many test example 1 has label 'neutral', which the"):
        data.setup()
