from seqnet.data.sources import NamesSource
from seqnet.data.sources.names import read_names
from seqnet.data.vocab import BOS, EOS


def test_names_classify_by_gender_and_no_name_is_in_two_splits():
    splits = NamesSource().load()
    assert splits.input_kind == "tokens" and splits.class_names == ["female", "male"]
    assert 37000 < len(splits.train) + len(splits.test) < 39000
    assert (len(splits.train), len(splits.test)) == (34038, 3780)  # the sizes README states

    def spell(example):
        return "".join(splits.vocab[i] for i in example.values)

    assert not {spell(e) for e in splits.train} & {spell(e) for e in splits.test}
    assert {e.target for e in splits.test} == {"female", "male"}


def test_generation_examples_are_shifted_by_one_and_conditioned_on_gender():
    splits = NamesSource(task="generate").load()
    example = splits.train[0]
    vocab = splits.vocab
    assert vocab[example.values[0]] == BOS and vocab[example.target[-1]] == EOS
    assert example.values[1:].tolist() == example.target[:-1].tolist()
    assert splits.condition_kind == "classes" and example.condition in ("female", "male")


def test_names_by_country_cover_the_file_columns():
    splits = NamesSource(label="country").load()
    assert len(splits.class_names) == 55 and splits.class_names[2] == "usa"
    assert len(splits.train) + len(splits.test) == 47184  # configs/data/names.yaml: ~47,000
    assert {"china", "usa", "italy"} <= {e.target for e in splits.test}


def test_the_names_file_format(tmp_path):
    path = tmp_path / "nam_dict.txt"
    row = "{:<2} {:<26} {}\n"
    path.write_text(
        "# comment\n"
        + row.format("M", "José", "  5")  # most frequent in column 3: usa
        + row.format("?F", "Anne+Marie", "1")
        + row.format("?", "Kim", "3" + " " * 48 + "D"),  # country column 50: china
        encoding="utf-8",
    )
    assert read_names(path) == [
        ("José", "male", "usa"),
        ("Anne-Marie", "female", "great_britain"),
        ("Kim", None, "china"),
    ]
    assert NamesSource(path=path, label="country", test_fraction=0.4).load().class_names[49] == "china"
